"""How much one input file may cost to read: the caps on PDF and Word files, as one value
the loaders and the parsing worker process share."""

from __future__ import annotations

import zipfile
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from assistant.errors import InputError
from assistant.settings import Settings

MB = 1024 * 1024
# Small parts compress far better than large ones (a few hundred bytes of XML header); the
# ratio cap only means something for parts large enough to hurt.
RATIO_MIN_BYTES = MB
# Decompressed bytes read at a time while counting a zip part.
READ_BYTES = 256 * 1024


class InputLimits(BaseModel):
    """Caps on reading one binary file (defaults = the settings' defaults)."""

    model_config = ConfigDict(frozen=True)

    zip_max_member_bytes: int = 100 * MB
    zip_max_total_bytes: int = 200 * MB
    zip_max_ratio: float = 100.0
    pdf_max_pages: int = 2000
    parse_timeout_s: float = 120.0
    parse_max_memory_bytes: int = 2048 * MB

    @classmethod
    def from_settings(cls, settings: Settings) -> InputLimits:
        return cls(
            zip_max_member_bytes=int(settings.ingest_zip_max_member_mb * MB),
            zip_max_total_bytes=int(settings.ingest_zip_max_total_mb * MB),
            zip_max_ratio=settings.ingest_zip_max_ratio,
            pdf_max_pages=settings.ingest_pdf_max_pages,
            parse_timeout_s=settings.ingest_parse_timeout_s,
            parse_max_memory_bytes=settings.ingest_parse_max_memory_mb * MB,
        )


def check_zip(path: Path, limits: InputLimits) -> None:
    """Raise `InputError` when the zip at `path` expands past the caps.

    First the sizes its directory declares (free), then the bytes each part really
    decompresses to, counted as they come and abandoned at the cap: a directory can lie, and
    the parser must never meet more than the caps allow. A file that is not a zip is left to
    the parser to report.
    """
    try:
        archive = zipfile.ZipFile(path)
    except zipfile.BadZipFile:
        return
    with archive:
        members = archive.infolist()
        declared = sum(m.file_size for m in members)
        if declared > limits.zip_max_total_bytes:
            raise InputError(
                _too_large("expands to", declared, limits.zip_max_total_bytes, "total")
            )
        for member in members:
            _check_declared(member, limits)
        total = 0
        for member in members:
            total += _count_member(archive, member, limits, total)


def _check_declared(member: zipfile.ZipInfo, limits: InputLimits) -> None:
    size = member.file_size
    if size > limits.zip_max_member_bytes:
        raise InputError(
            _too_large(f"part {member.filename} expands to", size, limits.zip_max_member_bytes)
        )
    ratio = size / max(member.compress_size, 1)
    if size >= RATIO_MIN_BYTES and ratio > limits.zip_max_ratio:
        raise InputError(
            f"part {member.filename} expands {ratio:.0f} times ({member.compress_size} bytes "
            f"to {size / MB:.1f} MB), more than the cap of {limits.zip_max_ratio:.0f} "
            "(ASSISTANT_INGEST_ZIP_MAX_RATIO): a zip bomb?"
        )


def _count_member(
    archive: zipfile.ZipFile, member: zipfile.ZipInfo, limits: InputLimits, before: int
) -> int:
    """The decompressed size of `member`, read in blocks and stopped at the caps."""
    size = 0
    try:
        with archive.open(member) as part:
            while block := part.read(READ_BYTES):
                size += len(block)
                if size > limits.zip_max_member_bytes:
                    raise InputError(
                        _too_large(
                            f"part {member.filename} expands past",
                            size,
                            limits.zip_max_member_bytes,
                        )
                    )
                if before + size > limits.zip_max_total_bytes:
                    raise InputError(
                        _too_large(
                            "expands past", before + size, limits.zip_max_total_bytes, "total"
                        )
                    )
                if (
                    size >= RATIO_MIN_BYTES
                    and size / max(member.compress_size, 1) > limits.zip_max_ratio
                ):
                    raise InputError(
                        f"part {member.filename} expands more than {limits.zip_max_ratio:.0f} "
                        "times (ASSISTANT_INGEST_ZIP_MAX_RATIO): a zip bomb?"
                    )
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, EOFError) as exc:
        raise InputError(f"not a readable zip ({exc})") from None
    return size


def _too_large(what: str, size: int, cap: int, scope: str = "member") -> str:
    setting = "INGEST_ZIP_MAX_TOTAL_MB" if scope == "total" else "INGEST_ZIP_MAX_MEMBER_MB"
    return (
        f"{what} {size / MB:.1f} MB, more than the cap of {cap / MB:.0f} MB (ASSISTANT_{setting})"
    )

"""Read files into `Document`s. Problems come back as `LoadError` values, never as exceptions,
so one bad file or line does not stop an ingest run."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import nullcontext
from pathlib import Path
from typing import Literal

from bs4 import BeautifulSoup
from markdown_it import MarkdownIt
from pydantic import BaseModel

from assistant.errors import InputError
from assistant.ingestion.binary_parser import BinaryParser
from assistant.ingestion.chunking import split_heading
from assistant.schemas import DocFormat, Document

FORMATS: dict[str, DocFormat] = {
    ".md": "markdown",
    ".markdown": "markdown",
    ".html": "html",
    ".htm": "html",
    ".txt": "plain",
}
JSONL_SUFFIX = ".jsonl"
# Binary formats, read by their own readers into Markdown.
PDF_SUFFIX = ".pdf"
DOCX_SUFFIX = ".docx"
SUPPORTED_SUFFIXES = (*FORMATS, JSONL_SUFFIX, PDF_SUFFIX, DOCX_SUFFIX)
# JSONL fields that map onto `Document`; any other field goes into its metadata.
_RECORD_FIELDS = ("doc_id", "title", "text", "url", "metadata")


class LoadError(BaseModel):
    """A file or line that could not be read, and why."""

    source: str
    line: int | None = None
    reason: str

    def __str__(self) -> str:
        where = f"{self.source}:{self.line}" if self.line is not None else self.source
        return f"{where}: {self.reason}"


def load_documents(
    path: Path, tenant: str, parser: BinaryParser | None = None
) -> Iterator[Document | LoadError]:
    """Yield the documents in `path` (a file or a folder, walked recursively, in sorted order).

    Files: `.md/.markdown`, `.html/.htm`, `.txt`, `.pdf` (its text layer, page by page) and
    `.docx` (doc_id = path relative to `path`'s folder, title = the file's title, its first
    heading or its stem) and `.jsonl` (one record per line with `doc_id` and
    `text`; optional `title`, `url`, `metadata`; other fields go to metadata). Hidden files and
    folders are skipped. Documents with empty text are yielded too: the caller counts them.
    PDF and Word files are read by `parser` (one with the default caps when not given).
    """
    if not path.exists():
        yield LoadError(source=str(path), reason="no such file or directory")
        return
    if path.is_dir():
        files = sorted(
            p
            for p in path.rglob("*")
            if p.is_file() and not any(part.startswith(".") for part in p.relative_to(path).parts)
        )
        root = path
    else:
        files, root = [path], path.parent
    with BinaryParser() if parser is None else nullcontext(parser) as reader:
        for file in files:
            yield from load_file(
                file, doc_id=file.relative_to(root).as_posix(), tenant=tenant, parser=reader
            )


def load_file(
    path: Path, *, doc_id: str, tenant: str, parser: BinaryParser
) -> Iterator[Document | LoadError]:
    """Yield the document(s) of one file; `doc_id` is used for single-document formats.
    PDF and Word files are read by `parser`, within its caps."""
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        supported = ", ".join(SUPPORTED_SUFFIXES)
        yield LoadError(
            source=str(path),
            reason=f"unsupported file type {suffix or '(none)'} (supported: {supported})",
        )
        return
    if suffix in (PDF_SUFFIX, DOCX_SUFFIX):
        yield _load_binary(path, doc_id=doc_id, tenant=tenant, parser=parser)
        return
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        yield LoadError(
            source=str(path), reason=f"not UTF-8 text ({exc.reason} at byte {exc.start})"
        )
        return
    except OSError as exc:
        yield LoadError(source=str(path), reason=f"cannot read: {exc.strerror or exc}")
        return
    if suffix == JSONL_SUFFIX:
        yield from parse_jsonl(text, source=str(path), tenant=tenant)
        return
    fmt = FORMATS[suffix]
    yield Document(
        doc_id=doc_id,
        title=_first_heading(text, fmt) or path.stem,
        text=text,
        source=str(path),
        tenant=tenant,
        format=fmt,
    )


def _load_binary(
    path: Path, *, doc_id: str, tenant: str, parser: BinaryParser
) -> Document | LoadError:
    kind: Literal["pdf", "docx"] = "pdf" if path.suffix.lower() == PDF_SUFFIX else "docx"
    try:
        parsed = parser.parse(path, kind)
    except InputError as exc:
        return LoadError(source=str(path), reason=str(exc))
    title, text, fmt = parsed.title, parsed.markdown, parsed.format
    return Document(
        doc_id=doc_id,
        title=title or path.stem,
        text=text,
        source=str(path),
        tenant=tenant,
        format=fmt,
    )


def parse_jsonl(text: str, *, source: str, tenant: str) -> Iterator[Document | LoadError]:
    """Yield one `Document` per JSONL record; a bad line becomes a `LoadError` with its number."""
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            yield _record_to_document(json.loads(line), source=f"{source}:{number}", tenant=tenant)
        except json.JSONDecodeError as exc:
            yield LoadError(source=source, line=number, reason=f"invalid JSON: {exc.msg}")
        except RecursionError:
            yield LoadError(source=source, line=number, reason="invalid JSON: nested too deeply")
        except ValueError as exc:
            yield LoadError(source=source, line=number, reason=str(exc))


def _record_to_document(record: object, *, source: str, tenant: str) -> Document:
    if not isinstance(record, dict):
        raise ValueError(f"expected a JSON object, got {type(record).__name__}")
    try:
        # `json.loads` accepts an escaped lone surrogate (\ud800), which is not text: chunk
        # ids, the embedder and the store would all fail on it later, outside this line.
        json.dumps(record, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("not valid Unicode text: an unpaired surrogate") from None
    doc_id = record.get("doc_id")
    if isinstance(doc_id, int) and not isinstance(doc_id, bool):
        doc_id = str(doc_id)
    if not isinstance(doc_id, str) or not doc_id.strip():
        raise ValueError("missing or empty 'doc_id' (a string)")
    text = record.get("text")
    if not isinstance(text, str):
        raise ValueError("missing 'text' (a string)")
    for name in ("title", "url"):
        if not isinstance(record.get(name, ""), str | None):
            raise ValueError(f"'{name}' must be a string")
    extra = record.get("metadata") or {}
    if not isinstance(extra, dict):
        raise ValueError("'metadata' must be an object")
    metadata = {key: _as_string(value) for key, value in extra.items() if value is not None}
    metadata |= {
        key: _as_string(value)
        for key, value in record.items()
        if key not in _RECORD_FIELDS and value is not None
    }
    return Document(
        doc_id=doc_id,
        title=record.get("title") or "",
        text=text,
        url=record.get("url") or "",
        source=source,
        tenant=tenant,
        metadata=metadata,
    )


def _as_string(value: object) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _first_heading(text: str, fmt: DocFormat) -> str:
    if fmt == "markdown":
        tokens = MarkdownIt("commonmark").parse(text)
        for i, token in enumerate(tokens):
            if token.type == "heading_open":
                return tokens[i + 1].content.strip()
        return ""
    if fmt == "html":
        soup = BeautifulSoup(text, "html.parser")
        tag = soup.title or soup.find(re.compile(r"^h[1-6]$"))
        return " ".join(tag.get_text(" ").split()) if tag else ""
    if fmt == "plain":
        found = split_heading(text)  # the heading the file opens on, as its chunks read it
        return found[0] if found is not None else ""
    return ""

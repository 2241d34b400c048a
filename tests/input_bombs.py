"""Small files that expand hugely when read: a Word document whose document.xml is tens of
megabytes of empty paragraphs, and a gzip sitemap of hundreds of megabytes. Real files, made
the way an attacker would make them, for the bounded-input tests and benchmark."""

from __future__ import annotations

import gzip
import io
import zipfile
from pathlib import Path

import docx

PARAGRAPH = b"<w:p/>"
SITEMAP_HEAD = b'<?xml version="1.0" encoding="UTF-8"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
SITEMAP_URL = b"<url><loc>http://127.0.0.1/a</loc></url>"


def write_docx_bomb(path: Path, *, expanded_mb: int = 30) -> Path:
    """A valid .docx (made by python-docx) whose document.xml holds `expanded_mb` MB of
    `<w:p/>`: tens of kilobytes on disk."""
    plain = io.BytesIO()
    docx.Document().save(plain)
    with (
        zipfile.ZipFile(plain) as source,
        zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as bomb,
    ):
        for item in source.infolist():
            data = source.read(item)
            if item.filename == "word/document.xml":
                head, _, tail = data.partition(b"<w:body>")
                filler = PARAGRAPH * (expanded_mb * 1024 * 1024 // len(PARAGRAPH))
                data = head + b"<w:body>" + filler + tail
            bomb.writestr(item.filename, data)
    return path


def sitemap_bomb(*, expanded_mb: int = 300) -> bytes:
    """A gzip sitemap of `expanded_mb` MB (one long urlset) in well under a megabyte."""
    out = io.BytesIO()
    count = expanded_mb * 1024 * 1024 // len(SITEMAP_URL)
    with gzip.GzipFile(fileobj=out, mode="wb", compresslevel=9) as packed:
        packed.write(SITEMAP_HEAD)
        block = SITEMAP_URL * 10_000
        for _ in range(count // 10_000):
            packed.write(block)
        packed.write(b"</urlset>")
    return out.getvalue()

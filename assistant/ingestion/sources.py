"""What `assistant ingest` reads, as one stream of documents: files and folders, web addresses
(a sitemap or a start page) and a Zendesk Help Center."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

from assistant.ingestion.binary_parser import BinaryParser
from assistant.ingestion.crawl import PoliteClient, crawl, is_url
from assistant.ingestion.input_limits import InputLimits
from assistant.ingestion.loaders import LoadError, load_documents
from assistant.ingestion.zendesk import zendesk_documents
from assistant.schemas import Document
from assistant.settings import Settings


def read_sources(
    sources: Sequence[str],
    settings: Settings,
    *,
    tenant: str,
    max_pages: int,
    zendesk_url: str | None = None,
) -> Iterator[Document | LoadError]:
    """The documents of each source in turn: paths first, then web addresses (crawled with at
    most `max_pages` pages each), then the Help Center at `zendesk_url`."""
    urls = [s for s in sources if is_url(s)]
    with BinaryParser(InputLimits.from_settings(settings)) as parser:
        for source in sources:
            if not is_url(source):
                yield from load_documents(Path(source), tenant, parser)
    if not urls and not zendesk_url:
        return
    with PoliteClient.open(settings) as client:
        for url in urls:
            yield from crawl(url, client, max_pages=max_pages, tenant=tenant)
        if zendesk_url:
            yield from zendesk_documents(
                zendesk_url, client, tenant=tenant, max_pages=settings.zendesk_max_pages
            )

"""A Zendesk Help Center's public articles through its Help Center API (no sign-in), page by
page: each article is an HTML document cited by its `html_url`, with its section as metadata."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import TypeVar

import httpx
from pydantic import BaseModel, ValidationError

from assistant.errors import InputError
from assistant.ingestion.crawl import PoliteClient
from assistant.ingestion.fetch_limits import same_site
from assistant.ingestion.loaders import LoadError
from assistant.schemas import Document

ARTICLES_PATH = "/api/v2/help_center/articles.json"
SECTIONS_PATH = "/api/v2/help_center/sections.json"
PER_PAGE = 100
# Pages of one list endpoint read at most (the setting `zendesk_max_pages`'s default).
DEFAULT_MAX_PAGES = 200
_SUBDOMAIN = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$", re.IGNORECASE)


P = TypeVar("P", "ArticlesPage", "SectionsPage")


class ZendeskArticle(BaseModel):
    id: int
    title: str
    html_url: str
    body: str | None = None
    section_id: int | None = None
    draft: bool = False


class ZendeskSection(BaseModel):
    id: int
    name: str


class ArticlesPage(BaseModel):
    articles: list[ZendeskArticle]
    next_page: str | None = None


class SectionsPage(BaseModel):
    sections: list[ZendeskSection]
    next_page: str | None = None


def help_center_url(subdomain: str, url_template: str) -> str:
    """The Help Center's base URL; raises `InputError` for a subdomain that is not one."""
    if not _SUBDOMAIN.match(subdomain):
        raise InputError(
            f"--zendesk takes a Help Center subdomain, such as 'acme' for acme.zendesk.com; "
            f"got {subdomain!r}"
        )
    return url_template.format(subdomain=subdomain.lower()).rstrip("/")


def zendesk_documents(
    base_url: str, client: PoliteClient, *, tenant: str, max_pages: int = DEFAULT_MAX_PAGES
) -> Iterator[Document | LoadError]:
    """Every published article of the Help Center at `base_url`, as an HTML `Document`
    (doc_id `zendesk:HOST:ID`; metadata: `section`, `section_id`, `article_id`).

    A page of the API that fails or does not parse ends the import with a `LoadError`; the
    articles read before it are kept. So does a `next_page` on another site, or one past
    `max_pages` pages of one list.
    """
    host = httpx.URL(base_url).host
    sections: dict[int, str] = {}
    for listing in _pages(base_url + SECTIONS_PATH, client, SectionsPage, max_pages):
        if isinstance(listing, LoadError):
            yield listing  # articles are still worth having without their section names
            break
        sections.update({s.id: s.name for s in listing.sections})
    for page in _pages(base_url + ARTICLES_PATH, client, ArticlesPage, max_pages):
        if isinstance(page, LoadError):
            yield page
            return
        for article in page.articles:
            if article.draft:
                continue
            metadata = {"article_id": str(article.id)}
            if article.section_id is not None:
                metadata["section_id"] = str(article.section_id)
                metadata["section"] = sections.get(article.section_id, "")
            yield Document(
                doc_id=f"zendesk:{host}:{article.id}",
                title=article.title,
                text=article.body or "",
                url=article.html_url,
                source=article.html_url,
                tenant=tenant,
                metadata={k: v for k, v in metadata.items() if v},
                format="html",
            )


def _pages(
    url: str, client: PoliteClient, model: type[P], max_pages: int
) -> Iterator[P | LoadError]:
    """The pages of one list endpoint, following `next_page` while it stays on the same site,
    never to an address seen before, and for at most `max_pages` pages."""
    seen: set[str] = set()
    next_url: str | None = url
    params: dict[str, str | int] | None = {"per_page": PER_PAGE}
    while next_url and next_url not in seen:
        if len(seen) == max_pages:
            yield LoadError(
                source=next_url,
                reason=f"Zendesk API: more than {max_pages} pages "
                "(ASSISTANT_ZENDESK_MAX_PAGES); stopped",
            )
            return
        seen.add(next_url)
        try:
            response = client.get(next_url, params=params)
            response.raise_for_status()
            page = model.model_validate_json(response.content)
        except httpx.HTTPError as exc:
            yield LoadError(source=next_url, reason=f"Zendesk API: {exc}")
            return
        except ValidationError as exc:
            yield LoadError(source=next_url, reason=f"Zendesk API: unexpected answer ({exc})")
            return
        yield page
        params = None  # next_page carries its own query
        next_url = page.next_page
        if next_url and not same_site(next_url, url):
            yield LoadError(source=next_url, reason="Zendesk API: next_page leaves the site")
            return

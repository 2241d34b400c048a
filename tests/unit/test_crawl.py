"""Crawling a help center and importing a Zendesk Help Center, against a real HTTP server on
loopback (tests/web_site.py) with the real httpx, robots parser and trafilatura."""

from __future__ import annotations

from collections.abc import Iterator
from itertools import pairwise

import pytest
from web_site import Site, serve_help_center

from assistant.errors import InputError
from assistant.ingestion.chunking import chunk_document
from assistant.ingestion.crawl import PoliteClient, crawl
from assistant.ingestion.loaders import LoadError
from assistant.ingestion.zendesk import help_center_url, zendesk_documents
from assistant.schemas import Document
from assistant.settings import Settings

AGENT = "test-crawler/1.0"


@pytest.fixture
def site() -> Iterator[Site]:
    with serve_help_center() as served:
        yield served


def fetch(
    start: str, *, max_pages: int = 50, delay_s: float = 0.0
) -> tuple[list[Document], list[LoadError]]:
    settings = Settings(
        _env_file=None,
        crawl_user_agent=AGENT,
        crawl_delay_s=delay_s,
        crawl_allow_private_addresses=True,
    )  # type: ignore[call-arg]
    with PoliteClient.open(settings) as client:
        items = list(crawl(start, client, max_pages=max_pages, tenant="acme"))
    return (
        [i for i in items if isinstance(i, Document)],
        [i for i in items if isinstance(i, LoadError)],
    )


def test_sitemap_pages_are_read_to_their_main_text_with_their_url(site: Site) -> None:
    docs, errors = fetch(f"{site.base}/sitemap.xml")

    reset, plans = docs
    assert [d.url for d in docs] == [f"{site.base}/articles/reset", f"{site.base}/articles/plans"]
    assert all(d.doc_id == d.url == d.source and d.format == "markdown" for d in docs)
    assert reset.title == "Reset your password"  # trafilatura drops the site name
    assert "Forgot password" in reset.text
    assert "Copyright" not in reset.text and "Status page" not in reset.text
    sections = {c.section for c in chunk_document(reset, max_chars=200)}
    assert "Reset your password > Without email access" in sections
    [table] = [c for c in chunk_document(plans, max_chars=200) if "Enterprise" in c.text]
    assert all(word in table.text for word in ("Plan", "Free", "Team", "named account manager"))
    # robots.txt keeps /private/ out: reported, never requested; other sites are not fetched.
    assert [(e.source, e.reason) for e in errors] == [
        (f"{site.base}/private/notes", "robots.txt disallows it")
    ]
    assert "/private/notes" not in site.paths()
    assert {agent for _, agent, _ in site.requests} == {AGENT}


def test_a_start_url_is_crawled_through_same_site_links_within_the_page_limit(
    site: Site,
) -> None:
    docs, errors = fetch(f"{site.base}/")
    limited, _ = fetch(f"{site.base}/", max_pages=2)

    assert [d.url for d in docs] == [
        f"{site.base}/",
        f"{site.base}/articles/reset",
        f"{site.base}/articles/plans",
    ]
    assert errors == []  # a disallowed link is not followed, and not an error
    assert [d.url for d in limited] == [f"{site.base}/", f"{site.base}/articles/reset"]
    assert "/private/notes" not in site.paths()
    # robots.txt once per crawl, each page once (its #fragment link is the same page).
    assert site.paths().count("/robots.txt") == 2
    assert site.paths().count("/articles/reset") == 2


def test_requests_to_a_site_are_spaced_by_the_delay(site: Site) -> None:
    fetch(f"{site.base}/sitemap.xml", delay_s=0.2)

    times = [t for _, _, t in site.requests]
    assert len(times) == 4  # robots.txt, the sitemap, two pages
    assert min(b - a for a, b in pairwise(times)) >= 0.19


def test_a_sitemap_index_is_followed_to_its_sitemaps(site: Site) -> None:
    index = f"<sitemapindex><sitemap><loc>{site.base}/sitemap.xml</loc></sitemap></sitemapindex>"
    site.files["/sitemap_index.xml"] = ("application/xml", index.encode())

    docs, _ = fetch(f"{site.base}/sitemap_index.xml", max_pages=1)

    assert [d.url for d in docs] == [f"{site.base}/articles/reset"]


def test_a_broken_sitemap_or_missing_page_is_a_clear_error(site: Site) -> None:
    site.files["/sitemap.xml"] = ("application/xml", b"<urlset><url><loc>")

    docs, errors = fetch(f"{site.base}/sitemap.xml")
    missing, gone = fetch(f"{site.base}/articles/gone")

    assert docs == missing == []
    assert errors[0].reason.startswith("not a sitemap: invalid XML")
    assert [(e.source, e.reason) for e in gone] == [(f"{site.base}/articles/gone", "HTTP 404")]


def test_zendesk_articles_are_read_across_pages_with_their_url_and_section(site: Site) -> None:
    settings = Settings(_env_file=None, crawl_delay_s=0, crawl_allow_private_addresses=True)  # type: ignore[call-arg]
    with PoliteClient.open(settings) as client:
        items = list(zendesk_documents(site.base, client, tenant="acme"))

    refunds, invoices = items  # the draft is left out
    assert isinstance(refunds, Document) and isinstance(invoices, Document)
    assert (refunds.title, refunds.url, refunds.source, refunds.format) == (
        "Refunds",
        f"{site.base}/hc/en-us/articles/101-Refunds",
        f"{site.base}/hc/en-us/articles/101-Refunds",
        "html",
    )
    assert refunds.metadata == {"article_id": "101", "section_id": "7", "section": "Billing"}
    assert invoices.doc_id == "zendesk:127.0.0.1:103"
    [chunk] = chunk_document(invoices, max_chars=400)
    assert (chunk.section, chunk.metadata["section"]) == ("Where to find them", "Billing")


def test_a_zendesk_subdomain_that_is_not_one_is_refused_before_any_request() -> None:
    assert help_center_url("Acme", "https://{subdomain}.zendesk.com") == "https://acme.zendesk.com"
    with pytest.raises(InputError, match="subdomain"):
        help_center_url("acme.evil.com/x", "https://{subdomain}.zendesk.com")


def test_a_failing_zendesk_page_keeps_the_articles_read_before_it(site: Site) -> None:
    del site.files["/api/v2/help_center/articles.json?page=2&per_page=100"]
    settings = Settings(_env_file=None, crawl_delay_s=0, crawl_allow_private_addresses=True)  # type: ignore[call-arg]
    with PoliteClient.open(settings) as client:
        items = list(zendesk_documents(site.base, client, tenant="acme"))

    assert [type(i).__name__ for i in items] == ["Document", "LoadError"]
    assert isinstance(items[1], LoadError) and "404" in items[1].reason

"""The crawler never leaves the site it was given: redirects are checked hop by hop before
they are followed, internal addresses are refused unless allowed, a robots.txt Crawl-delay
and a Zendesk `next_page` chain are bounded. A second loopback server on another port stands
in for an internal service; every test checks it received nothing."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from itertools import pairwise
from typing import Any

import pytest
from web_site import Site, serve_help_center

from assistant.ingestion.crawl import PoliteClient, crawl
from assistant.ingestion.fetch_limits import RefusedFetch
from assistant.ingestion.loaders import LoadError
from assistant.ingestion.zendesk import ARTICLES_PATH, SECTIONS_PATH, zendesk_documents
from assistant.schemas import Document
from assistant.settings import Settings

# A hung test (an unbounded Crawl-delay) fails after this long instead of hanging the suite.
HANG_S = 60


@pytest.fixture
def site() -> Iterator[Site]:
    with serve_help_center() as served:
        yield served


@pytest.fixture
def internal() -> Iterator[Site]:
    with serve_help_center() as served:
        yield served


def settings(**values: object) -> Settings:
    values = {"crawl_delay_s": 0, "crawl_allow_private_addresses": True, **values}
    return Settings(_env_file=None, **values)  # type: ignore[call-arg, arg-type]


def fetch(start: str, **values: object) -> tuple[list[Document], list[LoadError]]:
    with PoliteClient.open(settings(**values)) as client:
        items = list(crawl(start, client, max_pages=50, tenant="acme"))
    return (
        [i for i in items if isinstance(i, Document)],
        [i for i in items if isinstance(i, LoadError)],
    )


def test_a_page_redirecting_to_another_server_is_refused_without_requesting_it(
    site: Site, internal: Site
) -> None:
    site.redirects["/articles/reset"] = f"{internal.base}/articles/reset"

    docs, errors = fetch(f"{site.base}/sitemap.xml")

    assert [d.url for d in docs] == [f"{site.base}/articles/plans"]
    [refused] = [e for e in errors if e.source == f"{site.base}/articles/reset"]
    assert "off the site; not followed" in refused.reason
    assert internal.requests == []


def test_a_sitemap_redirecting_to_another_server_is_refused_without_requesting_it(
    site: Site, internal: Site
) -> None:
    site.redirects["/sitemap.xml"] = f"{internal.base}/sitemap.xml"

    docs, errors = fetch(f"{site.base}/sitemap.xml")

    assert docs == []
    [refused] = errors
    assert refused.source == f"{site.base}/sitemap.xml"
    assert f"redirects to {internal.base}/sitemap.xml, off the site" in refused.reason
    assert internal.requests == []


def test_a_redirect_within_the_site_is_followed(site: Site) -> None:
    site.redirects["/old/reset"] = "/articles/reset"
    sitemap = f"<urlset><url><loc>{site.base}/old/reset</loc></url></urlset>"
    site.files["/moved.xml"] = ("application/xml", sitemap.encode())

    docs, errors = fetch(f"{site.base}/moved.xml")

    assert errors == []
    assert [d.url for d in docs] == [f"{site.base}/articles/reset"]


def test_a_loopback_site_is_refused_unless_private_addresses_are_allowed(site: Site) -> None:
    for start in (f"{site.base}/sitemap.xml", f"{site.base}/", "http://localhost:1/"):
        docs, errors = fetch(start, crawl_allow_private_addresses=False)

        assert docs == []
        [refused] = errors
        assert "loopback" in refused.reason
        assert "ASSISTANT_CRAWL_ALLOW_PRIVATE_ADDRESSES" in refused.reason
    assert site.requests == []


def test_a_name_that_resolves_public_then_internal_is_never_fetched(
    site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    # DNS rebinding: the name's server answers the check's lookup with a public address and
    # the connection's with the loopback one, where an internal service listens.
    real = socket.getaddrinfo
    lookups: list[str] = []

    def rebinding(host: str, *args: object, **kwargs: object) -> list[Any]:
        if host != "help.rebind.example":
            return real(host, *args, **kwargs)  # type: ignore[arg-type]
        lookups.append(host)
        address = "93.184.216.34" if len(lookups) == 1 else "127.0.0.1"
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, 0))]

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    port = site.base.rsplit(":", 1)[1]
    with (
        PoliteClient.open(settings(crawl_allow_private_addresses=False)) as client,
        pytest.raises(RefusedFetch, match=r"127\.0\.0\.1, a private, loopback"),
    ):
        client.get(f"http://help.rebind.example:{port}/articles/plans")

    assert len(lookups) == 2  # checked before the request, and again by the connection
    assert site.requests == []


def test_a_zendesk_import_from_a_loopback_address_is_refused_unless_allowed(site: Site) -> None:
    with PoliteClient.open(settings(crawl_allow_private_addresses=False)) as client:
        items = list(zendesk_documents(site.base, client, tenant="acme"))

    assert not any(isinstance(i, Document) for i in items)
    assert all("loopback" in str(i) for i in items)
    assert site.requests == []


def test_a_huge_robots_crawl_delay_is_capped(site: Site) -> None:
    site.files["/robots.txt"] = ("text/plain", b"User-agent: *\nCrawl-delay: 1000000\n")
    done: list[list[Document]] = []

    def run() -> None:
        done.append(fetch(f"{site.base}/sitemap.xml", crawl_max_delay_s=0.3)[0])

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(timeout=HANG_S)

    assert not worker.is_alive(), "the crawl waited out a Crawl-delay of 10^6 seconds"
    assert len(done[0]) == 3  # the private page is allowed now
    times = [t for _, _, t in site.requests]
    assert min(b - a for a, b in pairwise(times[1:])) >= 0.29  # the capped delay still holds


def zendesk_page(base: str, number: int, next_page: str | None) -> tuple[str, bytes]:
    article = {
        "id": number,
        "title": f"Article {number}",
        "html_url": f"{base}/hc/articles/{number}",
        "body": f"<p>Article number {number} of an endless export.</p>",
    }
    body = {"articles": [article], "next_page": next_page}
    return "application/json", json.dumps(body).encode()


def test_a_zendesk_next_page_chain_is_stopped_at_the_page_cap(site: Site) -> None:
    # Every page points to a new one (page=2, 3, ...), and the last back to an unseen
    # spelling of the first: a loop that a set of seen addresses alone does not end.
    articles = f"{site.base}{ARTICLES_PATH}"
    site.files[f"{ARTICLES_PATH}?per_page=100"] = zendesk_page(
        site.base, 1, f"{articles}?page=2&per_page=100"
    )
    for n in range(2, 41):
        following = f"{articles}?page={n + 1}&per_page=100" if n < 40 else f"{articles}?p=1"
        site.files[f"{ARTICLES_PATH}?page={n}&per_page=100"] = zendesk_page(site.base, n, following)
    site.files[f"{ARTICLES_PATH}?p=1"] = site.files[f"{ARTICLES_PATH}?per_page=100"]

    with PoliteClient.open(settings()) as client:
        items = list(zendesk_documents(site.base, client, tenant="acme", max_pages=5))

    docs = [i for i in items if isinstance(i, Document)]
    [stopped] = [i for i in items if isinstance(i, LoadError)]
    assert [d.title for d in docs] == [f"Article {n}" for n in range(1, 6)]
    assert "more than 5 pages" in stopped.reason
    assert "ASSISTANT_ZENDESK_MAX_PAGES" in stopped.reason
    assert len([p for p in site.paths() if p.startswith(ARTICLES_PATH)]) == 5


def test_a_zendesk_next_page_on_another_port_is_not_requested(site: Site, internal: Site) -> None:
    site.files[f"{SECTIONS_PATH}?per_page=100"] = (
        "application/json",
        json.dumps({"sections": [], "next_page": f"{internal.base}{SECTIONS_PATH}"}).encode(),
    )

    with PoliteClient.open(settings()) as client:
        items = list(zendesk_documents(site.base, client, tenant="acme"))

    errors = [i for i in items if isinstance(i, LoadError)]
    assert [e.reason for e in errors] == ["Zendesk API: next_page leaves the site"]
    assert [d.title for d in items if isinstance(d, Document)] == ["Refunds", "Invoices"]
    assert internal.requests == []

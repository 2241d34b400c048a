"""A help center from where it lives: pages of a sitemap, or of a site crawled from a start URL,
fetched politely (robots.txt, a delay, our user agent) and cut to their main text by
trafilatura. Problems come back as `LoadError`s per URL, as the file loaders do."""

from __future__ import annotations

import time
import xml.etree.ElementTree as ElementTree
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urldefrag, urljoin, urlsplit
from urllib.robotparser import RobotFileParser

import httpx
import trafilatura
from bs4 import BeautifulSoup

from assistant.ingestion.loaders import LoadError
from assistant.schemas import Document
from assistant.settings import Settings

# A sitemap index may list sitemaps that list sitemaps; deeper than this is a loop or a trap.
MAX_SITEMAP_DEPTH = 3
_DISALLOW_ALL = ["User-agent: *", "Disallow: /"]


def is_url(source: str) -> bool:
    """Whether an `assistant ingest` argument is a web address rather than a path."""
    return source.startswith(("http://", "https://"))


class PoliteClient:
    """GET requests that wait `delay_s` (or the site's robots.txt Crawl-delay, if longer)
    between two requests to one site, and know each site's robots.txt rules."""

    def __init__(self, client: httpx.Client, *, user_agent: str, delay_s: float) -> None:
        self.client = client
        self.user_agent = user_agent
        self.delay_s = delay_s
        self._robots: dict[str, RobotFileParser] = {}
        self._last_request: dict[str, float] = {}

    @classmethod
    @contextmanager
    def open(cls, settings: Settings) -> Iterator[PoliteClient]:
        headers = {"User-Agent": settings.crawl_user_agent}
        with httpx.Client(
            headers=headers, timeout=settings.crawl_timeout_s, follow_redirects=True
        ) as client:
            yield cls(client, user_agent=settings.crawl_user_agent, delay_s=settings.crawl_delay_s)

    def get(self, url: str, params: dict[str, str | int] | None = None) -> httpx.Response:
        """GET `url` once the site's delay has passed; raises `httpx.HTTPError` on failure."""
        site = _site(url)
        rules = self._robots.get(site)
        delay = max(self.delay_s, float(rules.crawl_delay(self.user_agent) or 0) if rules else 0)
        wait = self._last_request.get(site, -delay) + delay - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        try:
            return self.client.get(url, params=params)
        finally:
            self._last_request[site] = time.monotonic()

    def allowed(self, url: str) -> bool:
        """Whether robots.txt lets our user agent fetch `url` (read once per site)."""
        site = _site(url)
        if site not in self._robots:
            self._robots[site] = self._read_robots(site)
        return self._robots[site].can_fetch(self.user_agent, url)

    def _read_robots(self, site: str) -> RobotFileParser:
        rules = RobotFileParser(f"{site}/robots.txt")
        try:
            response = self.get(f"{site}/robots.txt")
        except httpx.HTTPError:
            # An unreachable robots.txt may hide a "Disallow: /": crawl nothing (RFC 9309).
            rules.parse(_DISALLOW_ALL)
            return rules
        # As urllib.robotparser reads it: 401/403 forbid all, another 4xx (none) allows all.
        if response.status_code in (401, 403) or response.status_code >= 500:
            rules.parse(_DISALLOW_ALL)
        elif response.status_code >= 400:
            rules.parse([])
        else:
            rules.parse(response.text.splitlines())
        return rules


def crawl(
    start: str, client: PoliteClient, *, max_pages: int, tenant: str
) -> Iterator[Document | LoadError]:
    """The pages of a sitemap (`start` ends in `.xml`), or of the site reached from `start`
    through same-site links, at most `max_pages` of them, in the order found.

    Each page's doc_id and url are its address (without fragment), so a re-crawl meets the
    same documents and an unchanged page changes nothing in the store.
    """
    if urlsplit(start).path.endswith(".xml"):
        urls: list[str] = []
        for item in _sitemap_urls(start, client, max_pages, depth=0):
            if isinstance(item, LoadError):
                yield item
            else:
                urls.append(item)
        for url in urls:
            yield from _page(url, client, tenant, links=None)
        return
    queue, seen = deque([_clean(start)]), {_clean(start)}
    fetched = 0
    while queue and fetched < max_pages:
        url = queue.popleft()
        links: list[str] = []
        if not client.allowed(url):
            if url == _clean(start):
                yield LoadError(source=url, reason="robots.txt disallows it")
            continue
        fetched += 1
        yield from _page(url, client, tenant, links=links)
        for link in links:
            if link not in seen:
                seen.add(link)
                queue.append(link)


def _sitemap_urls(
    url: str, client: PoliteClient, max_pages: int, depth: int
) -> Iterator[str | LoadError]:
    """Page addresses of a sitemap or sitemap index (same site only), up to `max_pages`."""
    if not client.allowed(url):
        yield LoadError(source=url, reason="robots.txt disallows it")
        return
    try:
        response = client.get(url)
    except httpx.HTTPError as exc:
        yield LoadError(source=url, reason=f"cannot fetch: {exc}")
        return
    if response.status_code >= 400:
        yield LoadError(source=url, reason=f"HTTP {response.status_code}")
        return
    try:
        root = ElementTree.fromstring(response.content)
    except ElementTree.ParseError as exc:
        yield LoadError(source=url, reason=f"not a sitemap: invalid XML ({exc})")
        return
    kind = root.tag.rsplit("}", 1)[-1]
    locs = [(loc.text or "").strip() for loc in root.iterfind("{*}*/{*}loc")]
    same_site = [loc for loc in locs if _site(loc) == _site(url)]
    found = 0
    if kind == "sitemapindex" and depth < MAX_SITEMAP_DEPTH:
        for child in same_site:
            for item in _sitemap_urls(child, client, max_pages - found, depth + 1):
                found += not isinstance(item, LoadError)
                yield item
            if found >= max_pages:
                return
    elif kind == "urlset":
        yield from same_site[:max_pages]
    else:
        yield LoadError(source=url, reason=f"not a sitemap: its root is <{kind}>")


def _page(
    url: str, client: PoliteClient, tenant: str, links: list[str] | None
) -> Iterator[Document | LoadError]:
    """One page as a `Document`; its same-site links are added to `links` when given."""
    if links is None and not client.allowed(url):
        yield LoadError(source=url, reason="robots.txt disallows it")
        return
    try:
        response = client.get(url)
    except httpx.HTTPError as exc:
        yield LoadError(source=url, reason=f"cannot fetch: {exc}")
        return
    final = _clean(str(response.url))
    if response.status_code >= 400:
        yield LoadError(source=url, reason=f"HTTP {response.status_code}")
        return
    if _site(final) != _site(url):
        yield LoadError(source=url, reason=f"redirects to another site ({final}); skipped")
        return
    if "html" not in response.headers.get("content-type", "text/html"):
        yield LoadError(source=url, reason=f"not an HTML page ({response.headers['content-type']})")
        return
    html = response.text
    if links is not None:
        soup = BeautifulSoup(html, "html.parser")
        for anchor in soup.find_all("a", href=True):
            link = _clean(urljoin(final, str(anchor["href"])))
            if is_url(link) and _site(link) == _site(final):
                links.append(link)
    text = trafilatura.extract(
        html,
        url=final,
        output_format="markdown",
        include_tables=True,
        include_formatting=True,
        include_comments=False,
        include_links=False,
    )
    if not text or not text.strip():
        yield LoadError(source=url, reason="no main text found on the page")
        return
    metadata = trafilatura.extract_metadata(html, default_url=final)
    yield Document(
        doc_id=final,
        title=(metadata.title if metadata and metadata.title else "") or final,
        text=text,
        url=final,
        source=final,
        tenant=tenant,
        format="markdown",
    )


def _site(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc.lower()}"


def _clean(url: str) -> str:
    """`url` without its fragment: `page#a` and `page#b` are one page."""
    return urldefrag(url).url

"""A help center from where it lives: pages of a sitemap, or of a site crawled from a start URL,
fetched politely (robots.txt, a delay, our user agent) and cut to their main text by
trafilatura. Problems come back as `LoadError`s per URL, as the file loaders do."""

from __future__ import annotations

import io
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

from assistant.ingestion.fetch_limits import (
    ACCEPT_ENCODING,
    RefusedFetch,
    check_address,
    public_only_transport,
    read_capped,
    same_site,
)
from assistant.ingestion.input_limits import MB
from assistant.ingestion.loaders import LoadError
from assistant.schemas import Document
from assistant.settings import Settings

# A sitemap index may list sitemaps that list sitemaps; deeper than this is a loop or a trap.
MAX_SITEMAP_DEPTH = 3
SITEMAP_SUFFIXES = (".xml", ".xml.gz")
_DISALLOW_ALL = ["User-agent: *", "Disallow: /"]
# Headers that describe the body as sent, not as `PoliteClient.get` returns it (decoded).
_BODY_HEADERS = {"content-encoding", "content-length", "transfer-encoding"}


def is_url(source: str) -> bool:
    """Whether an `assistant ingest` argument is a web address rather than a path."""
    return source.startswith(("http://", "https://"))


class PoliteClient:
    """GET requests that wait `delay_s` (or the site's robots.txt Crawl-delay, if longer, up
    to `max_delay_s`) between two requests to one site, and know each site's robots.txt rules.

    Every request stays on its site: redirects are followed by hand, each hop checked before
    it is requested; every host's addresses are checked (private ones refused unless
    `allow_private`); a body is read only up to `max_bytes` once decompressed.
    """

    def __init__(
        self,
        client: httpx.Client,
        *,
        user_agent: str,
        delay_s: float,
        max_delay_s: float = 10.0,
        max_bytes: int = 50 * MB,
        max_redirects: int = 5,
        allow_private: bool = False,
    ) -> None:
        self.client = client
        self.user_agent = user_agent
        self.delay_s = delay_s
        self.max_delay_s = max_delay_s
        self.max_bytes = max_bytes
        self.max_redirects = max_redirects
        self.allow_private = allow_private
        self._robots: dict[str, RobotFileParser] = {}
        self._last_request: dict[str, float] = {}

    @classmethod
    @contextmanager
    def open(cls, settings: Settings) -> Iterator[PoliteClient]:
        headers = {"User-Agent": settings.crawl_user_agent, "Accept-Encoding": ACCEPT_ENCODING}
        # Redirects are followed by `get`, which checks each hop before requesting it.
        allow_private = settings.crawl_allow_private_addresses
        with httpx.Client(
            headers=headers,
            timeout=settings.crawl_timeout_s,
            follow_redirects=False,
            transport=None if allow_private else public_only_transport(),
        ) as client:
            yield cls(
                client,
                user_agent=settings.crawl_user_agent,
                delay_s=settings.crawl_delay_s,
                max_delay_s=settings.crawl_max_delay_s,
                max_bytes=int(settings.crawl_max_response_mb * MB),
                max_redirects=settings.crawl_max_redirects,
                allow_private=allow_private,
            )

    def get(
        self, url: str, params: dict[str, str | int] | None = None, *, gunzip: bool = False
    ) -> httpx.Response:
        """GET `url` once the site's delay has passed, following redirects on its site only.

        The response's body is read (decompressed, and gunzipped when `gunzip` and it is a
        gzip file) up to the byte cap. Raises `httpx.HTTPError` on failure, and its subclass
        `RefusedFetch` for an address, a redirect or a body the limits refuse.
        """
        current = url
        for _ in range(self.max_redirects + 1):
            check_address(current, allow_private=self.allow_private)
            response = self._get_once(current, params, gunzip=gunzip)
            location = response.headers.get("location")
            if not response.is_redirect or location is None:
                return response
            target = urljoin(str(response.url), location)
            if not same_site(target, url):
                raise RefusedFetch(f"redirects to {target}, off the site; not followed")
            current, params = target, None  # the redirect carries its own query
        raise RefusedFetch(
            f"more than {self.max_redirects} redirects (ASSISTANT_CRAWL_MAX_REDIRECTS)"
        )

    def delay(self, url: str) -> float:
        """Seconds between two requests to `url`'s site."""
        rules = self._robots.get(_site(url))
        asked = float(rules.crawl_delay(self.user_agent) or 0) if rules else 0.0
        return max(self.delay_s, min(asked, self.max_delay_s))

    def _get_once(
        self, url: str, params: dict[str, str | int] | None, *, gunzip: bool
    ) -> httpx.Response:
        site = _site(url)
        delay = self.delay(url)
        wait = self._last_request.get(site, -delay) + delay - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        try:
            with self.client.stream("GET", url, params=params) as streamed:
                body = read_capped(streamed, max_bytes=self.max_bytes, gunzip=gunzip)
                # The body is decoded already: the copy must not decode it again.
                headers = [
                    (name, value)
                    for name, value in streamed.headers.multi_items()
                    if name.lower() not in _BODY_HEADERS
                ]
                return httpx.Response(
                    streamed.status_code, headers=headers, content=body, request=streamed.request
                )
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
    """The pages of a sitemap (`start` ends in `.xml` or `.xml.gz`), or of the site reached
    from `start` through same-site links, at most `max_pages` of them, in the order found.

    Each page's doc_id and url are its address (without fragment), so a re-crawl meets the
    same documents and an unchanged page changes nothing in the store.
    """
    try:
        check_address(start, allow_private=client.allow_private)
    except RefusedFetch as exc:
        yield LoadError(source=start, reason=str(exc))
        return
    if urlsplit(start).path.endswith(SITEMAP_SUFFIXES):
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
        response = client.get(url, gunzip=True)
    except httpx.HTTPError as exc:
        yield LoadError(source=url, reason=f"cannot fetch: {exc}")
        return
    if response.status_code >= 400:
        yield LoadError(source=url, reason=f"HTTP {response.status_code}")
        return
    try:
        kind, locs = _read_sitemap(response.content)
    except ElementTree.ParseError as exc:
        yield LoadError(source=url, reason=f"not a sitemap: invalid XML ({exc})")
        return
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


def _read_sitemap(content: bytes) -> tuple[str, list[str]]:
    """The root's name and the `<loc>` of each entry, read as a stream: each entry is
    dropped once read, so a large sitemap never becomes a large tree in memory."""
    root: ElementTree.Element | None = None
    locs: list[str] = []
    depth = 0
    for event, element in ElementTree.iterparse(io.BytesIO(content), events=("start", "end")):
        if event == "start":
            depth += 1
            root = element if root is None else root
            continue
        depth -= 1
        if depth == 2 and element.tag.rsplit("}", 1)[-1] == "loc":
            locs.append((element.text or "").strip())
        elif depth == 1 and root is not None:
            root.clear()  # an entry (<url> or <sitemap>) is read
    kind = root.tag.rsplit("}", 1)[-1] if root is not None else ""
    return kind, locs


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

"""A help center on loopback for the crawl tests: pages, a sitemap, robots.txt and a
Zendesk-shaped JSON API, served by a real HTTP server the test starts. Nothing leaves the
machine; every request is recorded with its user agent and time."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HTML = "text/html; charset=utf-8"
NAV = '<nav><a href="/">Home</a> <a href="https://elsewhere.example/">Status page</a></nav>'
FOOTER = "<footer>Copyright 2026 Example Inc. All rights reserved. Cookie settings.</footer>"
RESET = """<h1>Reset your password</h1>
<p>Open the sign-in page and choose Forgot password. We email you a link that works for one
hour; open it on the same device and choose a new password of at least twelve characters.</p>
<h2>Without email access</h2>
<p>Ask an administrator of your workspace to reset it for you from the Members page of the
admin console. They can also send the reset link to another address you own.</p>"""
PLANS = """<h1>Plans and seats</h1>
<p>Every plan can be changed at any time from the Billing page; the price is prorated to the
day, and seats you remove stay usable until the end of the billing period.</p>
<table><tr><th>Plan</th><th>Seats</th><th>Support</th></tr>
<tr><td>Free</td><td>3</td><td>Community forum</td></tr>
<tr><td>Team</td><td>25</td><td>Email within one business day</td></tr>
<tr><td>Enterprise</td><td>Unlimited</td><td>A named account manager</td></tr></table>"""


def page(body: str, title: str, links: str = "") -> tuple[str, bytes]:
    html = (
        f"<html><head><title>{title} | Example Help</title></head><body>{NAV}"
        f"<main><article>{body}</article>{links}</main>{FOOTER}</body></html>"
    )
    return HTML, html.encode()


@dataclass
class Site:
    """The served files (path with query -> content type and body; change them between
    crawls), extra response headers per path (a Content-Encoding, say), redirects (path ->
    Location, answered 302) and the requests received, as (path, user agent, monotonic
    time)."""

    base: str = ""
    files: dict[str, tuple[str, bytes]] = field(default_factory=dict)
    headers: dict[str, dict[str, str]] = field(default_factory=dict)
    redirects: dict[str, str] = field(default_factory=dict)
    requests: list[tuple[str, str, float]] = field(default_factory=list)

    def paths(self) -> list[str]:
        return [path for path, _, _ in self.requests]


def help_center(base: str) -> dict[str, tuple[str, bytes]]:
    """robots.txt (no /private/), a sitemap, a start page, two articles, a private page and a
    Zendesk API with sections and two pages of articles (one a draft)."""
    sitemap = (
        "".join(
            f"<url><loc>{base}{path}</loc></url>"
            for path in ("/articles/reset", "/articles/plans", "/private/notes")
        )
        + "<url><loc>https://elsewhere.example/page</loc></url>"
    )
    links = (
        '<ul><li><a href="/articles/reset">Reset</a></li>'
        '<li><a href="/articles/reset#without-email">Reset (section)</a></li>'
        '<li><a href="articles/plans">Plans</a></li>'
        '<li><a href="/private/notes">Notes</a></li>'
        '<li><a href="https://elsewhere.example/away">Away</a></li></ul>'
    )
    api = "/api/v2/help_center"
    article = {"body": f"<p>{'Refunds reach the card in five business days. ' * 3}</p>"}
    return {
        "/robots.txt": ("text/plain", b"User-agent: *\nDisallow: /private/\n"),
        "/sitemap.xml": (
            "application/xml",
            (
                '<?xml version="1.0" encoding="UTF-8"?>'
                f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{sitemap}</urlset>'
            ).encode(),
        ),
        "/": page("<h1>Example Help</h1><p>Answers to common questions.</p>", "Home", links),
        "/articles/reset": page(RESET, "Reset your password"),
        "/articles/plans": page(PLANS, "Plans and seats"),
        "/private/notes": page("<h1>Private</h1><p>Never crawl this.</p>", "Private"),
        f"{api}/sections.json?per_page=100": _json(
            {"sections": [{"id": 7, "name": "Billing"}], "next_page": None}
        ),
        f"{api}/articles.json?per_page=100": _json(
            {
                "articles": [
                    {
                        "id": 101,
                        "title": "Refunds",
                        "html_url": f"{base}/hc/en-us/articles/101-Refunds",
                        "section_id": 7,
                        "draft": False,
                        **article,
                    },
                    {
                        "id": 102,
                        "title": "Draft",
                        "html_url": f"{base}/hc/en-us/articles/102",
                        "section_id": 7,
                        "draft": True,
                        "body": "<p>Not published.</p>",
                    },
                ],
                "next_page": f"{base}{api}/articles.json?page=2&per_page=100",
            }
        ),
        f"{api}/articles.json?page=2&per_page=100": _json(
            {
                "articles": [
                    {
                        "id": 103,
                        "title": "Invoices",
                        "html_url": f"{base}/hc/en-us/articles/103-Invoices",
                        "section_id": 7,
                        "body": "<h2>Where to find them</h2><p>On the Billing page.</p>",
                    }
                ],
                "next_page": None,
            }
        ),
    }


def _json(data: object) -> tuple[str, bytes]:
    return "application/json", json.dumps(data).encode()


@contextmanager
def serve_help_center() -> Iterator[Site]:
    """Serve `help_center` on a free loopback port until the block ends."""
    site = Site()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            site.requests.append((self.path, self.headers.get("User-Agent", ""), time.monotonic()))
            if self.path in site.redirects:
                self.send_response(302)
                self.send_header("Location", site.redirects[self.path])
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            found = site.files.get(self.path)
            if found is None:
                self.send_error(404)
                return
            content_type, body = found
            self.send_response(200)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            for name, value in site.headers.get(self.path, {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass  # quiet test output

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    site.base = f"http://127.0.0.1:{server.server_address[1]}"
    site.files = help_center(site.base)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield site
    finally:
        server.shutdown()
        server.server_close()
        thread.join()

"""Requests must name this server and, when they write, come from its own pages.

- Host allow-list: a request whose `Host` is not a loopback name or one of
  `ASSISTANT_SERVE_ALLOWED_HOSTS` gets 400. A DNS name an attacker rebinds to this machine
  reaches it with the attacker's name, so a browser page cannot use the API by that route.
- Cross-site writes: a POST, PUT, PATCH or DELETE whose `Origin` names another host than
  `Host` (or that a browser marks `Sec-Fetch-Site: cross-site`) gets 403 before any work: a
  form on another site cannot upload, delete or chat through a visitor's browser. A request
  with neither header (curl, an SDK) is not a browser's and passes.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from urllib.parse import urlsplit

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from assistant.interfaces.api.exposure import LOOPBACK_NAMES, is_loopback
from assistant.interfaces.api.problems import ErrorDetail, error_response

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
DEFAULT_PORTS = {"http": 80, "https": 443}
# A Host header carries no scheme: behind a TLS proxy either default port may be implied.
HOST_DEFAULT_PORTS = frozenset(DEFAULT_PORTS.values())


def _name_and_port(netloc: str, default_ports: Collection[int]) -> tuple[str, int | None] | None:
    """The lower-case host name of `netloc` and its port (None for a default one); None when
    it does not parse."""
    try:
        parts = urlsplit(f"//{netloc}")
        port = parts.port
    except ValueError:
        return None
    if not parts.hostname:
        return None
    return parts.hostname, None if port in default_ports else port


class HostAllowList:
    """Loopback names, plus exact names, `*.suffix` patterns or `*` (any)."""

    def __init__(self, allowed: Sequence[str]) -> None:
        patterns = [entry.strip().lower() for entry in allowed if entry.strip()]
        self.any = "*" in patterns
        self.names = {*LOOPBACK_NAMES, *(p for p in patterns if not p.startswith("*"))}
        self.suffixes = tuple(p[1:] for p in patterns if p.startswith("*."))

    def allows(self, host_header: str) -> bool:
        if self.any:
            return True
        parsed = _name_and_port(host_header, HOST_DEFAULT_PORTS)
        if parsed is None:
            return False
        name = parsed[0]
        return name in self.names or is_loopback(name) or name.endswith(self.suffixes)


def is_cross_site(headers: Headers) -> bool:
    """Whether a browser sent this request from a page of another host than it names."""
    if headers.get("sec-fetch-site", "").lower() == "cross-site":
        return True
    origin = headers.get("origin")
    if origin is None:
        return False
    if origin.strip().lower() == "null":  # a sandboxed frame or a file: never our own page
        return True
    parts = urlsplit(origin.strip())
    target = _name_and_port(headers.get("host", ""), HOST_DEFAULT_PORTS)
    scheme_port = DEFAULT_PORTS.get(parts.scheme.lower())
    source = _name_and_port(parts.netloc, () if scheme_port is None else (scheme_port,))
    return source is None or source != target


class SameOriginMiddleware:
    """The Host allow-list on every request but `unchecked_paths` (orchestrators' probes,
    which call a pod by its address), and the cross-site check on every write."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        allowed_hosts: Sequence[str],
        unchecked_paths: Collection[str] = (),
    ) -> None:
        self.app = app
        self.hosts = HostAllowList(allowed_hosts)
        self.unchecked_paths = frozenset(unchecked_paths)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        host = headers.get("host", "")
        if scope["path"] not in self.unchecked_paths and not self.hosts.allows(host):
            message = (
                f"this server does not answer to the host {host!r}: add it to "
                "ASSISTANT_SERVE_ALLOWED_HOSTS"
            )
            detail = ErrorDetail(type="invalid_host", message=message)
            await error_response(400, detail)(scope, receive, send)
            return
        if scope.get("method", "GET") in WRITE_METHODS and is_cross_site(headers):
            message = "a write from a page of another site is refused (Origin is not this host)"
            detail = ErrorDetail(type="cross_site_request", message=message)
            await error_response(403, detail)(scope, receive, send)
            return
        await self.app(scope, receive, send)

"""The MCP server over streamable HTTP, behind the HTTP API's own guards.

The same rules as `assistant serve`: the Host allow-list and the cross-site check on writes
(`SameOriginMiddleware`), and each HTTP request authenticated and counted by the API's rate
limits (`authenticate`: failed keys per client address, requests per key, or per address on
an open server) before the MCP session sees it.
"""

from __future__ import annotations

from mcp.server.mcpserver import MCPServer
from mcp.server.transport_security import TransportSecuritySettings
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from assistant.interfaces.api.auth import authenticate, key_in_headers
from assistant.interfaces.api.client_address import client_address, trusted_networks
from assistant.interfaces.api.problems import ApiError, api_error_response
from assistant.interfaces.api.rate_limits import RateLimits
from assistant.interfaces.api.same_origin import SameOriginMiddleware
from assistant.settings import Settings

MCP_PATH = "/mcp"


class ApiKeyMiddleware:
    """401 for a wrong or missing key (when keys are configured), 429 over a limit; the
    tools then take the tenant from the same key (`request_tenant`)."""

    def __init__(self, app: ASGIApp, *, settings: Settings, rate_limits: RateLimits) -> None:
        self.app = app
        self.settings = settings
        self.rate_limits = rate_limits
        self.trusted = trusted_networks(settings.serve_trusted_proxies)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            key = key_in_headers(Headers(scope=scope))
            address = client_address(scope, self.trusted)
            try:
                authenticate(self.rate_limits, self.settings, key, address)
            except ApiError as exc:
                await api_error_response(exc)(scope, receive, send)
                return
        await self.app(scope, receive, send)


def build_http_app(server: MCPServer, settings: Settings) -> ASGIApp:
    """The ASGI app `assistant mcp --transport http` serves (its lifespan runs the sessions)."""
    # The SDK's own Host/Origin check knows loopback names only, and only when it is told the
    # address; the API's check below covers every address and ASSISTANT_SERVE_ALLOWED_HOSTS.
    unguarded = TransportSecuritySettings(enable_dns_rebinding_protection=False)
    app = server.streamable_http_app(streamable_http_path=MCP_PATH, transport_security=unguarded)
    limited = ApiKeyMiddleware(app, settings=settings, rate_limits=RateLimits(settings))
    return SameOriginMiddleware(limited, allowed_hosts=settings.serve_allowed_hosts)

"""The address of the client a request comes from, as rate limits count it.

Behind a reverse proxy every request comes from the proxy's address, so every client would
share one bucket; the proxy names the real client in `X-Forwarded-For`. Anyone can send that
header, so it is believed only from the proxies `ASSISTANT_SERVE_TRUSTED_PROXIES` lists.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

from starlette.datastructures import Headers
from starlette.types import Scope

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def trusted_networks(entries: Sequence[str]) -> list[Network]:
    return [ipaddress.ip_network(entry, strict=False) for entry in entries]


def _is_trusted(address: str, trusted: Sequence[Network]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in trusted)


def client_address(scope: Scope, trusted: Sequence[Network]) -> str:
    """The connecting address; when that is a trusted proxy, the nearest address of
    `X-Forwarded-For` (read right to left, as each proxy appends) that is not one."""
    client = scope.get("client")
    address = str(client[0]) if client else "unknown"
    if not trusted or not _is_trusted(address, trusted):
        return address
    forwarded = Headers(scope=scope).getlist("x-forwarded-for")
    hops = [hop.strip() for value in forwarded for hop in value.split(",") if hop.strip()]
    for hop in reversed(hops):
        if not _is_trusted(hop, trusted):
            return hop
        address = hop
    return address

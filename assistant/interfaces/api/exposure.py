"""Closed by default: a server without API keys listens on a loopback address only.

`assistant serve` and `assistant mcp --transport http` check this before they listen, so a
forgotten `ASSISTANT_SERVE_API_KEYS` is an error at start rather than an API open to the
network; `ASSISTANT_SERVE_OPEN=true` says an open API is meant.
"""

from __future__ import annotations

import ipaddress

from assistant.errors import InputError
from assistant.settings import Settings

# The host names that always reach this machine only. A Host header naming one cannot come
# from a rebound DNS name.
LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")

# The key that deploy/compose/example.env and deploy/k8s/secret.example.yaml ship: anyone who
# read them knows it.
PLACEHOLDER_KEY = "replace-with-a-long-random-key"


def is_loopback(host: str) -> bool:
    """Whether `host` (an address to listen on, or a host name) is this machine only."""
    name = host.strip().strip("[]").lower()
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def check_exposure(settings: Settings, host: str) -> None:
    """Refuse (an `InputError` naming the settings) to listen on `host` when the example's
    placeholder key is configured, or when the address is not loopback and there are no API
    keys, unless `serve_open` says an open API is meant (`warn_if_open` logs it)."""
    if PLACEHOLDER_KEY in settings.serve_api_keys:
        raise InputError(
            f"ASSISTANT_SERVE_API_KEYS holds the example's placeholder key {PLACEHOLDER_KEY!r}: "
            "replace it with a long random key (python -c 'import secrets; "
            "print(secrets.token_urlsafe(32))')"
        )
    if settings.serve_api_keys or is_loopback(host):
        return
    if not settings.serve_open:
        raise InputError(
            f"refusing to listen on {host}, which is not a loopback address, without API keys: "
            "anyone who reaches it could read and change every document. Set "
            'ASSISTANT_SERVE_API_KEYS (JSON {"KEY": "TENANT"}), listen on 127.0.0.1, or set '
            "ASSISTANT_SERVE_OPEN=true if the API is meant to be open"
        )

"""API keys: each maps to a tenant, and the tenant scopes everything the request touches."""

from __future__ import annotations

import hmac
import logging
from collections.abc import Mapping
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from assistant.interfaces.api.app_state import Runtime
from assistant.interfaces.api.client_address import client_address
from assistant.interfaces.api.problems import ApiError
from assistant.interfaces.api.rate_limits import RateLimits
from assistant.settings import Settings

log = logging.getLogger(__name__)

# auto_error=False: a missing key is answered by `request_tenant` in the API's error shape.
bearer_scheme = HTTPBearer(auto_error=False, description="`Authorization: Bearer KEY`")
key_header_scheme = APIKeyHeader(name="X-API-Key", auto_error=False, description="`X-API-Key: KEY`")

_CHALLENGE = {"WWW-Authenticate": "Bearer"}


def warn_if_open(settings: Settings) -> None:
    """Log once at start-up when the API accepts requests without a key, and when no key
    reaches the documents the CLI ingests (they go to `settings.tenant`)."""
    if not settings.serve_api_keys:
        log.warning(
            "no API keys configured (ASSISTANT_SERVE_API_KEYS): the API is open and every "
            "request uses tenant %r",
            settings.tenant,
        )
    elif settings.tenant not in settings.serve_api_keys.values():
        log.warning(
            "no API key maps to tenant %r, where `assistant ingest` puts documents: requests "
            "see only their own key's tenant (ingest with ASSISTANT_TENANT=TENANT, or map a "
            "key to %r in ASSISTANT_SERVE_API_KEYS)",
            settings.tenant,
            settings.tenant,
        )


def tenant_for_key(settings: Settings, key: str | None) -> str:
    """The tenant of `key`; `settings.tenant` when no keys are configured. 401 otherwise."""
    keys = settings.serve_api_keys
    if not keys:
        return settings.tenant
    if not key:
        raise ApiError(
            401,
            "missing API key: send `Authorization: Bearer KEY` or `X-API-Key: KEY`",
            headers=_CHALLENGE,
        )
    # Compare against every key in constant time, so timing does not reveal a near match.
    tenant = None
    for candidate, owner in keys.items():
        if hmac.compare_digest(candidate.encode(), key.encode()):
            tenant = owner
    if tenant is None:
        raise ApiError(401, "the API key is not valid", headers=_CHALLENGE)
    return tenant


def authenticate(rate_limits: RateLimits, settings: Settings, key: str | None, address: str) -> str:
    """The tenant of a request with `key` from client `address`, once both are within their
    limits: 429 while `address` has used up its failed authentications (a right key too), 401
    for a wrong or missing key (counted against `address`), 429 over the key's own limit. An
    open API (no keys) limits each client address instead."""
    if not settings.serve_api_keys:
        rate_limits.check(address)
        return settings.tenant
    rate_limits.check_auth_failures(address)
    try:
        tenant = tenant_for_key(settings, key)
    except ApiError:
        rate_limits.count_auth_failure(address)
        raise
    rate_limits.check(str(key))
    return tenant


def request_key(bearer: HTTPAuthorizationCredentials | None, header_key: str | None) -> str | None:
    return bearer.credentials if bearer is not None else header_key


def key_in_headers(headers: Mapping[str, str]) -> str | None:
    """The key of `Authorization: Bearer KEY`, else of `X-API-Key` (lower-case names)."""
    scheme, _, credentials = headers.get("authorization", "").partition(" ")
    return credentials.strip() if scheme.lower() == "bearer" else headers.get("x-api-key")


async def request_tenant(
    request: Request,
    runtime: Runtime,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
    header_key: Annotated[str | None, Depends(key_header_scheme)],
) -> str:
    """FastAPI dependency: the tenant of the request's API key, within its limits
    (`authenticate`)."""
    address = client_address(request.scope, runtime.trusted_proxies)
    return authenticate(
        runtime.rate_limits, runtime.settings, request_key(bearer, header_key), address
    )


Tenant = Annotated[str, Depends(request_tenant)]

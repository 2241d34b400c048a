"""Rate limits, counted in a moving window by the `limits` library:

- requests per API key (`ASSISTANT_SERVE_RATE_LIMIT`, per-key `ASSISTANT_SERVE_RATE_LIMITS`),
  or per client address on an open API;
- requests with a wrong or missing key per client address
  (`ASSISTANT_SERVE_AUTH_FAILURE_LIMIT`), so keys cannot be guessed at speed.

The counts live where `ASSISTANT_SERVE_RATE_LIMIT_STORAGE` says: this process's memory by
default, or a Redis that every replica shares. Over a limit the request gets 429 in the API's
error shape, with `Retry-After`: the seconds until the window lets the caller in again.
"""

from __future__ import annotations

import hashlib
import math
import time

from limits import RateLimitItem, parse_many
from limits.errors import ConfigurationError
from limits.storage import Storage, storage_from_string
from limits.strategies import MovingWindowRateLimiter

from assistant.errors import InputError
from assistant.interfaces.api.problems import ApiError
from assistant.settings import Settings


def open_storage(uri: str) -> Storage:
    """The `limits` storage of `uri`; an `InputError` naming the setting when it is unusable."""
    try:
        storage = storage_from_string(uri)
    except ConfigurationError as exc:
        raise InputError(
            f"ASSISTANT_SERVE_RATE_LIMIT_STORAGE: {exc} (`memory://`, or `redis://HOST:6379` "
            "with the `redis` extra: pip install 'hybrid-assistant[redis]')"
        ) from None
    if not isinstance(storage, Storage):  # an `async+...` URI: this code counts synchronously
        raise InputError("ASSISTANT_SERVE_RATE_LIMIT_STORAGE: use a synchronous storage URI")
    return storage


def _identity(kind: str, value: str) -> tuple[str, str]:
    # The storage keeps a digest, never an API key or an address itself.
    return kind, hashlib.sha256(value.encode()).hexdigest()


class RateLimits:
    """The limits of each API key (a key without its own has the default, maybe none) and of
    each client address's failed authentications."""

    def __init__(self, settings: Settings) -> None:
        default = settings.serve_rate_limit
        self.default: list[RateLimitItem] = parse_many(default) if default else []
        self.per_key = {key: parse_many(spec) for key, spec in settings.serve_rate_limits.items()}
        failures = settings.serve_auth_failure_limit
        self.auth_failures: list[RateLimitItem] = parse_many(failures) if failures else []
        storage = open_storage(settings.serve_rate_limit_storage.get_secret_value())
        self.limiter = MovingWindowRateLimiter(storage)

    def check(self, key: str) -> None:
        """Count one request of `key` (an API key, or the client's address on an open API);
        raise a 429 `ApiError` with `Retry-After` when one of its limits is used up, without
        counting the refused request."""
        items = self.per_key.get(key, self.default)
        identity = _identity("requests", key)
        self._refuse_if_used_up(items, identity, "for this API key")
        for item in items:
            self.limiter.hit(item, *identity)

    def check_auth_failures(self, address: str) -> None:
        """429 when `address` has used up its failed authentications: until the window
        passes, even a right key is refused, or a guesser would learn when a guess is right."""
        identity = _identity("auth-failures", address)
        self._refuse_if_used_up(self.auth_failures, identity, "failed API keys from this address")

    def count_auth_failure(self, address: str) -> None:
        """Count one request of `address` with a wrong or missing key."""
        identity = _identity("auth-failures", address)
        for item in self.auth_failures:
            self.limiter.hit(item, *identity)

    def _refuse_if_used_up(
        self, items: list[RateLimitItem], identity: tuple[str, str], whose: str
    ) -> None:
        for item in items:
            if not self.limiter.test(item, *identity):
                reset = self.limiter.get_window_stats(item, *identity).reset_time
                retry = max(1, math.ceil(reset - time.time()))
                raise ApiError(
                    429,
                    f"rate limit exceeded: at most {item} {whose}; retry in {retry} s",
                    headers={"Retry-After": str(retry)},
                )

"""Requests per API key (`ASSISTANT_SERVE_RATE_LIMIT`, per-key `ASSISTANT_SERVE_RATE_LIMITS`),
counted in a moving window by the `limits` library, in this process's memory.

Over a limit the request gets 429 in the API's error shape, with `Retry-After`: the seconds
until the window lets the key in again.
"""

from __future__ import annotations

import hashlib
import math
import time

from limits import RateLimitItem, parse_many
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

from assistant.interfaces.api.problems import ApiError
from assistant.settings import Settings


class RateLimits:
    """The limits of each API key; a key without its own has the default (maybe none)."""

    def __init__(self, settings: Settings) -> None:
        default = settings.serve_rate_limit
        self.default: list[RateLimitItem] = parse_many(default) if default else []
        self.per_key = {key: parse_many(spec) for key, spec in settings.serve_rate_limits.items()}
        self.limiter = MovingWindowRateLimiter(MemoryStorage())

    def check(self, key: str) -> None:
        """Count one request of `key` (an API key, or the client's address on an open API);
        raise a 429 `ApiError` with `Retry-After` when one of its limits is used up, without
        counting the refused request."""
        items = self.per_key.get(key, self.default)
        if not items:
            return
        # The storage keeps a digest, never the key itself.
        identity = hashlib.sha256(key.encode()).hexdigest()
        for item in items:
            if not self.limiter.test(item, identity):
                reset = self.limiter.get_window_stats(item, identity).reset_time
                retry = max(1, math.ceil(reset - time.time()))
                raise ApiError(
                    429,
                    f"rate limit exceeded: at most {item} for this API key; retry in {retry} s",
                    headers={"Retry-After": str(retry)},
                )
        for item in items:
            self.limiter.hit(item, identity)

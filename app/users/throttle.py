"""Rate limits on guessing: failed sign-ins per email (a lockout, even for the right
password afterwards) and per client, and invalid bearer tokens per client.

Counted by `limits` (moving window) in the broker's Redis in team mode, so every web
process shares them, and in memory in embedded mode (one web process). Keys are prefixed
with the queue name, so studios sharing one Redis keep separate counts.
"""

from __future__ import annotations

import time

from limits import RateLimitItem, parse, storage
from limits.strategies import MovingWindowRateLimiter

from app.errors import TooManyAttempts
from app.settings import Settings

RULES = ("signin_failures", "signin_attempts", "bad_token_attempts")


class Throttle:
    def __init__(self, settings: Settings):
        uri = settings.rate_limit_storage
        options = {"key_prefix": f"mind-limits:{settings.queue}"} if "redis" in uri else {}
        self._limiter = MovingWindowRateLimiter(storage.storage_from_string(uri, **options))
        self._rates: dict[str, RateLimitItem] = {r: parse(getattr(settings, r)) for r in RULES}

    def check(self, rule: str, key: str, what: str, field: str | None = None) -> None:
        """Raise TooManyAttempts (429, with the wait) once `key` has used up `rule`."""
        rate = self._rates[rule]
        if not self._limiter.test(rate, rule, key):
            reset = self._limiter.get_window_stats(rate, rule, key).reset_time
            raise TooManyAttempts(
                f"too many {what}; try again later", int(reset - time.time()) + 1, field
            )

    def hit(self, rule: str, key: str) -> None:
        self._limiter.hit(self._rates[rule], rule, key)

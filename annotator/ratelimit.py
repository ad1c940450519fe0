"""Counting failures in Redis, so every web process shares one count."""
from __future__ import annotations

import hashlib
import logging

import redis

from annotator.errors import RateLimited

log = logging.getLogger(__name__)


class FailureLimiter:
    """At most `limit` failures per key within a fixed window of `window` seconds."""

    def __init__(self, connection: redis.Redis, prefix: str, limit: int, window: int) -> None:
        self.connection, self.prefix, self.limit, self.window = connection, prefix, limit, window

    def _key(self, key: str) -> str:
        return f"annotator:rl:{self.prefix}:{hashlib.sha256(key.encode()).hexdigest()[:32]}"

    def check(self, key: str) -> None:
        """Raise RateLimited when `key` has used up its failures for this window."""
        try:
            count = int(self.connection.get(self._key(key)) or 0)
            if count >= self.limit:
                raise RateLimited(max(int(self.connection.ttl(self._key(key))), 1))
        except redis.RedisError:
            # Refusing every sign-in while Redis is down would be worse than not counting.
            log.warning("rate limiter unavailable; not counting %s", self.prefix, exc_info=True)

    def fail(self, key: str) -> None:
        try:
            pipe = self.connection.pipeline()
            pipe.set(self._key(key), 0, ex=self.window, nx=True)  # starts the window on the first failure
            pipe.incr(self._key(key))
            pipe.execute()
        except redis.RedisError:
            log.warning("rate limiter unavailable; failure not recorded", exc_info=True)

    def reset(self, key: str) -> None:
        try:
            self.connection.delete(self._key(key))
        except redis.RedisError:
            log.warning("rate limiter unavailable; not reset", exc_info=True)

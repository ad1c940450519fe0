"""Counting failures in Redis, so every web process shares one count."""
from __future__ import annotations

import hashlib
import logging
import weakref

import redis

from annotator.errors import RateLimited

log = logging.getLogger(__name__)


class FailureLimiter:
    """At most `limit` failed attempts per key within a fixed window of `window` seconds.

    An attempt is counted atomically BEFORE the slow check it guards (a password hash), so parallel
    guesses cannot all pass a count that none of them has raised yet; a success takes its count back.
    """

    def __init__(self, connection: redis.Redis, prefix: str, limit: int, window: int) -> None:
        self.connection, self.prefix, self.limit, self.window = connection, prefix, limit, window

    def _key(self, key: str) -> str:
        return f"annotator:rl:{self.prefix}:{hashlib.sha256(key.encode()).hexdigest()[:32]}"

    def attempt(self, key: str) -> None:
        """Count an attempt; raise RateLimited when it is over the limit."""
        try:
            pipe = self.connection.pipeline()
            pipe.set(self._key(key), 0, ex=self.window, nx=True)  # the window starts with the first attempt
            pipe.incr(self._key(key))
            pipe.ttl(self._key(key))
            _, count, ttl = pipe.execute()
        except redis.RedisError:
            # Refusing every sign-in while Redis is down would be worse than not counting.
            log.warning("rate limiter unavailable; not counting %s", self.prefix, exc_info=True)
            return
        if count > self.limit:
            raise RateLimited(max(int(ttl), 1))

    def succeeded(self, key: str, *, forget_all: bool = False) -> None:
        """Take back this attempt's count (or, with forget_all, every failure so far)."""
        try:
            if forget_all:
                self.connection.delete(self._key(key))
            else:
                self.connection.decr(self._key(key))
        except redis.RedisError:
            log.warning("rate limiter unavailable; success not recorded", exc_info=True)


# What FailureLimiter.attempt's MULTI does, as one script: one round trip and one command on the labelling path,
# where the three-command transaction cost half a millisecond a call. Returns {count, ttl}.
_COUNT = """
redis.call('SET', KEYS[1], 0, 'EX', ARGV[1], 'NX')
local count = redis.call('INCR', KEYS[1])
return {count, redis.call('TTL', KEYS[1])}
"""


class RequestLimiter(FailureLimiter):
    """At most `limit` requests per key within a fixed window of `window` seconds (every request counts, not only
    failures): sign-ups per address, tokens and payout requests per user, labelling calls per annotator. The
    window starts with the first request, as FailureLimiter's; counted by one server-side script."""

    def _key(self, key: str) -> str:
        return f"annotator:rq:{self.prefix}:{hashlib.sha256(key.encode()).hexdigest()[:32]}"

    def hit(self, key: str) -> None:
        """Count this request; raise RateLimited once the window's count is over the limit."""
        try:
            count, ttl = _script(self.connection)(keys=[self._key(key)], args=[self.window])
        except redis.RedisError:
            log.warning("rate limiter unavailable; not counting %s", self.prefix, exc_info=True)
            return
        if int(count) > self.limit:
            raise RateLimited(max(int(ttl), 1))


def _script(connection: redis.Redis):
    """The counting script, registered once per client (redis-py sends EVALSHA, loading it when needed)."""
    found = _SCRIPTS.get(connection)
    if found is None:
        found = _SCRIPTS[connection] = connection.register_script(_COUNT)
    return found


_SCRIPTS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def limit(name: str, key: str) -> None:
    """Count a request against the configured limit `name` (e.g. "signups" -> ANNOTATOR_SIGNUPS_PER_HOUR)."""
    from flask import current_app

    from annotator.runtime import runtime

    for suffix, window in (("_PER_HOUR", 3600), ("_PER_MINUTE", 60)):
        setting = f"ANNOTATOR_{name.upper()}{suffix}"
        if setting in current_app.config:
            RequestLimiter(runtime().redis, name, int(current_app.config[setting]), window).hit(key)
            return
    raise KeyError(f"no rate limit is configured for {name!r}")

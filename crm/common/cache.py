"""The Redis cache, tolerant of Redis being away.

Redis is the broker and the cache. When it restarts (it keeps nothing on disk) or is down, a plain
RedisCache raises on every read, and every page and endpoint answers 500: the sessions are read from
the cache first (cached_db), the API's throttles count in it. Here a cache that cannot reach Redis
behaves as an empty cache that keeps nothing: sessions come from the database, throttles start
counting again, and the answer is the one a cold cache gives. Each failure is logged (warning)."""

import logging
from functools import wraps

from django.core.cache.backends.redis import RedisCache, RedisCacheClient
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

logger = logging.getLogger(__name__)
UNREACHABLE = (RedisConnectionError, RedisTimeoutError, OSError)

# What each operation answers when Redis cannot be reached: what an empty cache that stores nothing
# would answer.
_WHEN_AWAY = {
    "add": False,
    "set": None,
    "touch": False,
    "delete": False,
    "get_many": {},
    "has_key": False,
    "set_many": [],
    "delete_many": None,
    "clear": None,
}


def _tolerant(name: str, method):
    @wraps(method)
    def call(self, *args, **kwargs):
        try:
            return method(self, *args, **kwargs)
        except UNREACHABLE as exc:
            logger.warning("cache %s: Redis unreachable (%s); answered as an empty cache", name, exc)
            if name == "get":
                return args[1] if len(args) > 1 else kwargs.get("default")
            if name == "incr":
                raise ValueError("Key not found (the cache cannot reach Redis)") from exc
            return _WHEN_AWAY[name]

    return call


class TolerantRedisCacheClient(RedisCacheClient):
    pass


for _name in (*_WHEN_AWAY, "get", "incr"):
    setattr(TolerantRedisCacheClient, _name, _tolerant(_name, getattr(RedisCacheClient, _name)))


class TolerantRedisCache(RedisCache):
    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = TolerantRedisCacheClient

"""One Redis connection pool per URL and process for Django's cache.

Django makes a cache object (and with it a new ``redis.ConnectionPool``) for every thread and every
async context, so under Daphne each request and each socket opened a pool of its own, and their
idle connections stayed open until garbage collection (hundreds of Redis clients after a few
thousand sockets). Sharing the pool keeps the count at what the process really uses at once.
"""

from __future__ import annotations

import threading

import redis


class SharedConnectionPool(redis.ConnectionPool):
    _pools: dict[tuple[str, str], redis.ConnectionPool] = {}
    _lock = threading.Lock()

    @classmethod
    def from_url(cls, url: str, **kwargs) -> redis.ConnectionPool:
        key = (url, repr(sorted(kwargs.items())))
        with cls._lock:
            pool = cls._pools.get(key)
            if pool is None:
                pool = cls._pools[key] = super().from_url(url, **kwargs)
            return pool

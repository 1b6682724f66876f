"""Django's Redis cache with one connection pool per process.

Django keeps a cache object per request context, and under ASGI each request runs in its own
thread and context: the stock backend then opens a new Redis connection for every request.
redis-py pools are thread-safe, so all cache objects of a process share them here.
"""

import threading

from django.core.cache.backends.redis import RedisCache, RedisCacheClient

_pools_by_servers: dict[tuple, dict] = {}
_lock = threading.Lock()


class SharedPoolRedisCacheClient(RedisCacheClient):
    def __init__(self, servers, **options):
        super().__init__(servers, **options)
        with _lock:
            self._pools = _pools_by_servers.setdefault(tuple(servers), {})


class SharedPoolRedisCache(RedisCache):
    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = SharedPoolRedisCacheClient

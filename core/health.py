"""One check per configured part (database, cache, channel layer, broker, storage, vectors).

Used by `GET /health`, `manage.py check_services` and the ASGI start-up, so a server that is
configured but unreachable is reported loudly instead of being replaced by a silent fallback.
"""

import time
import urllib.request
import uuid
from collections.abc import Callable

from asgiref.sync import async_to_sync
from django.conf import settings
from django.core.cache import cache
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import connection


class ServiceUnavailable(RuntimeError):
    pass


def _database() -> dict:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return {"backend": connection.vendor}


def _cache() -> dict:
    key = f"health:{uuid.uuid4().hex}"
    cache.set(key, "1", timeout=10)
    if cache.get(key) != "1":
        raise ServiceUnavailable("the cache did not return the value just written")
    cache.delete(key)
    return {"backend": "redis" if settings.REDIS_URL else "in-process"}


def _channel_layer() -> dict:
    from channels.layers import get_channel_layer

    layer = get_channel_layer()
    channel = f"health.{uuid.uuid4().hex}"

    async def round_trip():
        await layer.send(channel, {"type": "health.check"})
        return await layer.receive(channel)

    message = async_to_sync(round_trip)()
    if message.get("type") != "health.check":
        raise ServiceUnavailable("the channel layer returned a different message")
    return {"backend": "redis" if settings.REDIS_URL else "in-process"}


def _broker() -> dict:
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return {"backend": "eager (in-process)"}
    from config.celery import app

    with app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, timeout=3)
    return {"backend": app.conf.broker_url.split("://", 1)[0]}


def _storage() -> dict:
    name = default_storage.save(f"health/{uuid.uuid4().hex}.txt", ContentFile(b"ok"))
    try:
        with default_storage.open(name) as handle:
            if handle.read() != b"ok":
                raise ServiceUnavailable("storage returned different bytes")
    finally:
        default_storage.delete(name)
    return {"backend": "s3" if settings.AWS_STORAGE_BUCKET_NAME else "local files"}


def _vectors() -> dict:
    if not settings.QDRANT_URL:
        return {"backend": "embedded qdrant", "path": str(settings.QDRANT_PATH)}
    request = urllib.request.Request(settings.QDRANT_URL.rstrip("/") + "/readyz")  # noqa: S310 (configured URL)
    if settings.QDRANT_API_KEY:
        request.add_header("api-key", settings.QDRANT_API_KEY)
    with urllib.request.urlopen(request, timeout=3) as response:  # noqa: S310
        if response.status != 200:
            raise ServiceUnavailable(f"qdrant answered {response.status}")
    return {"backend": "qdrant server"}


CHECKS: dict[str, Callable[[], dict]] = {
    "database": _database,
    "cache": _cache,
    "channel_layer": _channel_layer,
    "broker": _broker,
    "storage": _storage,
    "vectors": _vectors,
}


def run_checks() -> dict:
    """{"status": "healthy"|"degraded", "checks": {name: {"status": "ok"|"error", ...}}}."""
    results = {}
    for name, check in CHECKS.items():
        started = time.perf_counter()
        try:
            result = {"status": "ok", **check()}
        except Exception as exc:  # any failure of a part is a finding, not a crash of /health
            result = {"status": "error", "error": f"{type(exc).__name__}: {exc}"[:300]}
        result["latency_ms"] = round((time.perf_counter() - started) * 1000, 2)
        results[name] = result
    healthy = all(r["status"] == "ok" for r in results.values())
    return {"status": "healthy" if healthy else "degraded", "checks": results}


def assert_services_available() -> None:
    """Raise with every failing part named; used at start-up."""
    report = run_checks()
    failing = {name: r["error"] for name, r in report["checks"].items() if r["status"] != "ok"}
    if failing:
        details = "; ".join(f"{name}: {error}" for name, error in failing.items())
        raise ServiceUnavailable(f"Configured services are unreachable — {details}")

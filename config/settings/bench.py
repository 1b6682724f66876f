"""Benchmark settings: production-like wiring (DEBUG off, the same middleware and API settings) plus
the bench-only URLs in benchmarks/urls.py. DATABASE_URL / REDIS_URL pick the servers, as in base."""

from datetime import timedelta
from pathlib import Path

from .base import *  # noqa: F401,F403
from .base import ALLOWED_HOSTS, DATABASE_URL, DATABASES, INSTALLED_APPS, REST_FRAMEWORK, SIMPLE_JWT, VAR_DIR, env

DEBUG = False
ALLOWED_HOSTS = [*ALLOWED_HOSTS, *(h for h in ("127.0.0.1", "localhost", "testserver") if h not in ALLOWED_HOSTS)]
ROOT_URLCONF = "benchmarks.urls"
INSTALLED_APPS = [*INSTALLED_APPS, "benchmarks"]  # the baselines' tables (migrate --run-syncdb)

# Throttles off: the load generator is one client address sending thousands of requests a second.
REST_FRAMEWORK = {
    **REST_FRAMEWORK,
    "DEFAULT_THROTTLE_CLASSES": [],
    "DEFAULT_THROTTLE_RATES": {scope: None for scope in REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]},
}
# A long run must not see its access token expire between rounds; the lifetime costs nothing per request.
SIMPLE_JWT = {**SIMPLE_JWT, "ACCESS_TOKEN_LIFETIME": timedelta(hours=12)}

# The bytes the bare view (/bench/bare) answers: written by the benchmark script from a real
# GET /api/v1/auth/me before the load starts, read once by the view.
BENCH_BARE_BODY_PATH = Path(env.str("BENCH_BARE_BODY_PATH", default=str(VAR_DIR / "bench" / "bare-body.json")))

# Without DATABASE_URL: the embedded SQLite default (same options as base), in a file of its own
# that the benchmark script recreates on each run.
BENCH_SQLITE_PATH = Path(env.str("BENCH_SQLITE_PATH", default=str(VAR_DIR / "bench" / "bench.sqlite3")))
if not DATABASE_URL:
    DATABASES["default"]["NAME"] = BENCH_SQLITE_PATH

"""/health, start-up service checks and the production settings."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

BASE_DIR = Path(__file__).resolve().parent.parent
PARTS = {"database", "cache", "channel_layer", "broker", "storage", "vectors"}


def run_manage(*args, **env):
    full_env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE")}
    full_env.update(env)
    return subprocess.run([sys.executable, "manage.py", *args], cwd=BASE_DIR, env=full_env,
                          capture_output=True, text=True, timeout=120)


@pytest.mark.django_db
def test_health_reports_every_part(client):
    response = client.get("/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "healthy"
    assert set(body["checks"]) == PARTS
    assert all(check["status"] == "ok" for check in body["checks"].values())


@pytest.mark.django_db
def test_health_is_degraded_when_a_configured_cache_is_unreachable(client, settings):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                                   "LOCATION": "redis://127.0.0.1:1/0"}}
    response = client.get("/health")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "degraded"
    assert body["checks"]["cache"]["status"] == "error"
    assert "Connection" in body["checks"]["cache"]["error"]


@pytest.mark.django_db
def test_health_is_degraded_when_a_configured_broker_is_unreachable(client, settings):
    from config.celery import app

    settings.CELERY_TASK_ALWAYS_EAGER = False
    saved = app.conf.broker_url
    app.conf.broker_url = "redis://127.0.0.1:1/0"
    try:
        body = client.get("/health").json()
    finally:
        app.conf.broker_url = saved
    assert body["checks"]["broker"]["status"] == "error"


@pytest.mark.django_db
def test_check_services_command_fails_when_a_part_fails(settings):
    call_command("check_services")  # all embedded/configured parts are up
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                                   "LOCATION": "redis://127.0.0.1:1/0"}}
    with pytest.raises(CommandError):
        call_command("check_services")


@pytest.mark.slow
def test_daphne_refuses_to_start_when_a_configured_server_is_unreachable(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env.update(DJANGO_SETTINGS_MODULE="config.settings.test", REDIS_URL="redis://127.0.0.1:1/0",
               DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}")
    result = subprocess.run([sys.executable, "-m", "daphne", "-p", "0", "config.asgi:application"], cwd=BASE_DIR,
                            env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode != 0
    assert "Configured services are unreachable" in result.stderr
    assert "cache" in result.stderr


class TestProductionSettings:
    realistic = {
        "DJANGO_SETTINGS_MODULE": "config.settings.production",
        "DATABASE_URL": "postgres://app:secret@db.internal:5432/app",
        "REDIS_URL": "redis://cache.internal:6379/0",
        "ALLOWED_HOSTS": "platform.example.com",
        "CSRF_TRUSTED_ORIGINS": "https://platform.example.com",
        "STARTUP_SERVICE_CHECK": "0",
    }

    def test_check_deploy_passes_with_a_realistic_environment(self):
        result = run_manage("check", "--deploy", "--fail-level", "WARNING",
                            **self.realistic, SECRET_KEY=secrets.token_urlsafe(64))
        assert result.returncode == 0, result.stdout + result.stderr
        assert "no issues" in result.stdout

    def test_refuses_sqlite(self):
        env = {k: v for k, v in self.realistic.items() if k != "DATABASE_URL"}
        result = run_manage("check", **env, SECRET_KEY=secrets.token_urlsafe(64))
        assert result.returncode != 0
        assert "Production needs DATABASE_URL" in result.stderr

    def test_refuses_the_default_secret_key(self):
        result = run_manage("check", **self.realistic)
        assert result.returncode != 0
        assert "Production needs SECRET_KEY" in result.stderr


@pytest.mark.django_db
def test_api_docs_and_schema(client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json")
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    for path in ["/api/v1/auth/register", "/api/v1/auth/login", "/api/v1/auth/me", "/api/v1/users/",
                 "/api/v1/audit-log/", "/api/v1/organizations/current/usage"]:
        assert path in paths, path
    assert client.get("/api/docs/").status_code == 200
    assert client.get("/api/redoc/").status_code == 200


@pytest.mark.django_db
def test_unknown_api_path_is_a_json_404(client):
    response = client.get("/api/v1/no-such-thing")
    assert response.status_code == 404
    assert response.json() == {"error": {"code": "not_found", "message": "Not found."}}

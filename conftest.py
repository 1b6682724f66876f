"""Fixtures shared by every test: clients, users and organisations, and the real-server harness
(PostgreSQL, Redis, daphne, a Celery worker, moto S3, Chromium) from tests/harness.py."""

import os

import pytest
from django.conf import settings
from rest_framework.test import APIClient

from accounts.models import Role
from accounts.services import issue_tokens
from accounts.tests.factories import DEFAULT_PASSWORD, OrganizationFactory, UserFactory, member
from tests import harness


@pytest.fixture(autouse=True)
def _fresh_local_cache():
    """Each test starts with an empty in-process cache (SQLite reuses ids after a rollback, so a
    cached entry could otherwise describe another test's row). A Redis cache is left alone: the
    broker and channel layer share it, and PostgreSQL never reuses ids."""
    from django.core.cache import caches
    from django.core.cache.backends.locmem import LocMemCache

    if isinstance(caches["default"], LocMemCache):
        caches["default"].clear()
    yield


# --- API clients and people -------------------------------------------------------------------
@pytest.fixture
def api_client() -> APIClient:
    return APIClient()


@pytest.fixture
def client_for():
    """`client_for(user, organization=None)`: an APIClient with a real JWT access token
    (and the `X-Organization` header when an organisation is given)."""

    def make(user, organization=None) -> APIClient:
        headers = {"HTTP_AUTHORIZATION": f"Bearer {issue_tokens(user)['access']}"}
        if organization is not None:
            headers["HTTP_X_ORGANIZATION"] = str(organization.pk)
        client = APIClient()
        client.credentials(**headers)
        return client

    return make


@pytest.fixture
def password() -> str:
    return DEFAULT_PASSWORD


@pytest.fixture
def organization(db):
    return OrganizationFactory()


@pytest.fixture
def other_organization(db):
    return OrganizationFactory()


@pytest.fixture
def member_of(db):
    """`member_of(organization, role)`: a new user with that role there."""
    return lambda organization, role=Role.VIEWER, **fields: member(organization, role, **fields)


@pytest.fixture
def owner(organization):
    return member(organization, Role.OWNER)


@pytest.fixture
def admin_user(organization):
    return member(organization, Role.ADMIN)


@pytest.fixture
def editor(organization):
    return member(organization, Role.EDITOR)


@pytest.fixture
def viewer(organization):
    return member(organization, Role.VIEWER)


@pytest.fixture
def staff_user(db):
    return UserFactory(is_staff=True, is_superuser=True)


# --- real servers -----------------------------------------------------------------------------
@pytest.fixture
def postgres(db):
    """Skip (or fail under REQUIRE_SERVICES=1) unless the suite runs on PostgreSQL."""
    from django.db import connection

    if connection.vendor != "postgresql":
        harness.unavailable("PostgreSQL not configured (set DATABASE_URL)")
    return connection


@pytest.fixture(scope="session")
def redis_url() -> str:
    url = settings.REDIS_URL
    if not url:
        harness.unavailable("Redis not configured (set REDIS_URL)")
    import redis

    try:
        redis.Redis.from_url(url, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        harness.unavailable(f"Redis at {url} unreachable: {exc}")
    return url


@pytest.fixture(scope="session")
def test_database_url(django_db_setup, django_db_blocker) -> str:
    from django.db import connection

    return harness.database_url_for(connection.settings_dict)


@pytest.fixture(scope="session")
def mail_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("mail")


@pytest.fixture(scope="session")
def daphne_server(test_database_url, mail_dir):
    """A real daphne process serving config.asgi on loopback, on the test database.

    Tests that use it need `transactional_db` so their rows are committed and visible to it.
    """
    server = harness.DaphneServer(
        test_database_url,
        env={
            "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
            "EMAIL_FILE_PATH": str(mail_dir),
        },
    )
    try:
        server.wait_ready()
    except Exception as exc:
        log = server.log()
        server.stop()
        harness.unavailable(f"daphne did not start: {exc}\n{log}")
    yield server
    server.stop()


@pytest.fixture(scope="session")
def celery_worker(test_database_url, redis_url, mail_dir):
    """A real Celery worker process on Redis; tasks sent during the test go to it, not eager."""
    from config.celery import app

    worker = harness.CeleryWorker(
        test_database_url,
        settings.CELERY_BROKER_URL or redis_url,
        env={
            "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
            "EMAIL_FILE_PATH": str(mail_dir),
        },
    )
    try:
        worker.wait_ready(app)
    except Exception as exc:
        harness.unavailable(f"Celery worker did not start: {exc}\n{worker.stop()[-3000:]}")
    yield worker
    worker.stop()


@pytest.fixture
def use_celery_worker(celery_worker, transactional_db):
    """Route tasks to the real worker for this test (tasks are eager otherwise)."""
    from config.celery import app

    saved = (app.conf.task_always_eager, app.conf.task_default_queue)
    app.conf.task_always_eager = False
    app.conf.task_default_queue = celery_worker.queue
    yield celery_worker
    app.conf.task_always_eager, app.conf.task_default_queue = saved


@pytest.fixture
def s3_storage(settings):
    """Django's default storage on a moto S3 server on loopback; yields the boto3 client."""
    import boto3

    with harness.moto_s3_server() as endpoint:
        bucket = "pap-test"
        client = boto3.client(
            "s3", endpoint_url=endpoint, region_name="us-east-1",
            aws_access_key_id="test", aws_secret_access_key="test",
        )
        client.create_bucket(Bucket=bucket)
        settings.AWS_STORAGE_BUCKET_NAME = bucket
        settings.AWS_S3_ENDPOINT_URL = endpoint
        settings.AWS_S3_REGION_NAME = "us-east-1"
        settings.AWS_ACCESS_KEY_ID = "test"
        settings.AWS_SECRET_ACCESS_KEY = "test"
        settings.AWS_S3_ADDRESSING_STYLE = "path"
        settings.AWS_S3_SIGNATURE_VERSION = "s3v4"
        settings.AWS_QUERYSTRING_AUTH = True
        settings.AWS_S3_FILE_OVERWRITE = False
        settings.STORAGES = {**settings.STORAGES, "default": {"BACKEND": "storages.backends.s3.S3Storage"}}
        client.bucket = bucket
        yield client


@pytest.fixture(scope="module")
def browser():
    """Headless Debian Chromium driven by Playwright (no browser download).

    Module-scoped: Playwright's sync API keeps an event loop running in this thread while it is
    open, which `async_to_sync` (used to publish events) refuses to run beside.
    """
    if not harness.chromium_available():
        harness.unavailable(f"Chromium not installed at {harness.CHROMIUM} (apt-get install chromium)")
    # Playwright's sync API runs an event loop in this thread; the test's ORM calls are still
    # synchronous and safe here.
    from playwright.sync_api import sync_playwright

    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            instance = playwright.chromium.launch(
                executable_path=harness.CHROMIUM, headless=True, args=harness.CHROMIUM_ARGS
            )
            yield instance
            instance.close()
    finally:
        del os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"]


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """A failing test that used the live daphne server reports the server's log with it (the
    server's exceptions, e.g. behind a socket closed with 1011, are only there)."""
    report = yield
    server = item.funcargs.get("daphne_server") if hasattr(item, "funcargs") else None
    if report.failed and server is not None:
        report.sections.append(("daphne server log (last 4000 characters)", server.log()))
    return report

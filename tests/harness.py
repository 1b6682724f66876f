"""Real servers for tests: a daphne server, a Celery worker, a moto S3 server, headless Chromium.

Each starts as a real process (or thread, for moto) on loopback. When a part cannot run here the
test is skipped — unless REQUIRE_SERVICES=1 (CI), where a missing part fails the test instead.
"""

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from contextlib import contextmanager
from pathlib import Path

import pytest

BASE_DIR = Path(__file__).resolve().parent.parent
REQUIRE_SERVICES = os.environ.get("REQUIRE_SERVICES") == "1"
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")


def unavailable(reason: str):
    """Skip, or fail when the run requires every service (CI)."""
    if REQUIRE_SERVICES:
        pytest.fail(f"Required service unavailable: {reason}", pytrace=False)
    pytest.skip(reason)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def database_url_for(settings_dict: dict) -> str:
    """A DATABASE_URL that points a subprocess at the database this test process uses."""
    engine = settings_dict["ENGINE"]
    if engine.endswith("sqlite3"):
        return f"sqlite:///{Path(settings_dict['NAME']).resolve()}"
    if "postgresql" in engine:
        user = settings_dict.get("USER") or "postgres"
        password = f":{settings_dict['PASSWORD']}" if settings_dict.get("PASSWORD") else ""
        host = settings_dict.get("HOST") or "127.0.0.1"
        port = settings_dict.get("PORT") or 5432
        return f"postgres://{user}{password}@{host}:{port}/{settings_dict['NAME']}"
    raise RuntimeError(f"No subprocess URL for database engine {engine}")


def subprocess_env(database_url: str, **extra: str) -> dict:
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings.test",
        DATABASE_URL=database_url,
        PYTHONUNBUFFERED="1",
        **extra,
    )
    return env


def wait_until(predicate, timeout: float, interval: float = 0.1, what: str = "condition"):
    deadline = time.monotonic() + timeout
    last_error = None
    while time.monotonic() < deadline:
        try:
            if predicate():
                return
        except Exception as exc:  # the server is still starting
            last_error = exc
        time.sleep(interval)
    raise TimeoutError(f"Timed out waiting for {what} ({last_error})")


def stop_process(process: subprocess.Popen, timeout: float = 10) -> str:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)
    return process.stdout.read().decode(errors="replace") if process.stdout else ""


# The protocol-level cap (as in the Makefile): above it daphne drops the connection; between the
# app's WS_MAX_MESSAGE_BYTES and this, consumers answer a polite "message_too_large" error.
DAPHNE_LIMIT_ARGS = ["--websocket-max-message-size", str(16 * 1024 * 1024),
                     "--websocket-max-frame-size", str(16 * 1024 * 1024)]


class DaphneServer:
    def __init__(self, database_url: str, env: dict | None = None):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.ws_url = f"ws://127.0.0.1:{self.port}"
        self.log_path = BASE_DIR / "var" / f"daphne-test-{self.port}.log"
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = open(self.log_path, "wb")  # noqa: SIM115 (closed in stop)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(self.port), *DAPHNE_LIMIT_ARGS,
             "config.asgi:application"],
            cwd=BASE_DIR,
            env=subprocess_env(database_url, **(env or {})),
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    def wait_ready(self, timeout: float = 60):
        def answers():
            if self.process.poll() is not None:
                raise RuntimeError(f"daphne exited: {self.log()}")
            with urllib.request.urlopen(f"{self.url}/health", timeout=5) as response:  # noqa: S310
                return response.status in (200, 503)

        wait_until(answers, timeout, 0.2, "daphne to answer /health")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:]

    def stop(self):
        stop_process(self.process)
        self._log.close()
        self.log_path.unlink(missing_ok=True)


class CeleryWorker:
    def __init__(self, database_url: str, broker_url: str, env: dict | None = None, queue: str | None = None):
        self.queue = queue or f"test-{uuid.uuid4().hex[:10]}"
        self.nodename = f"{self.queue}-{uuid.uuid4().hex[:6]}@localhost"
        self.process = subprocess.Popen(
            [
                sys.executable, "-m", "celery", "-A", "config", "worker", "-P", "solo", "-c", "1",
                "-Q", self.queue, "-n", self.nodename, "--without-gossip", "--without-mingle", "-l", "INFO",
            ],
            cwd=BASE_DIR,
            env=subprocess_env(database_url, CELERY_BROKER_URL=broker_url, CELERY_TASK_ALWAYS_EAGER="0", **(env or {})),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )

    def wait_ready(self, app, timeout: float = 60):
        def pong():
            if self.process.poll() is not None:
                raise RuntimeError(f"celery worker exited: {stop_process(self.process)}")
            return bool(app.control.ping(destination=[self.nodename], timeout=1))

        wait_until(pong, timeout, 0.5, "the Celery worker to answer ping")

    def stop(self) -> str:
        return stop_process(self.process)


@contextmanager
def moto_s3_server():
    """A moto S3-compatible server on loopback; yields its endpoint URL."""
    try:
        from moto.server import ThreadedMotoServer
    except ImportError as exc:  # pragma: no cover - moto is in requirements/dev.txt
        unavailable(f"moto server not installed: {exc}")
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


def chromium_available() -> bool:
    return Path(CHROMIUM).exists() or bool(shutil.which("chromium"))


CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
    "--use-fake-ui-for-media-stream",
    "--use-fake-device-for-media-stream",
]

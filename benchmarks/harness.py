"""Reusable pieces for benchmark scripts: a real daphne server, a keep-alive HTTP load generator, and
result tables and JSON.

The load generator is deliberately cheap (raw asyncio streams, one pre-built HTTP/1.1 request per
target, Content-Length or chunked bodies): on a small machine the client shares the cores with the
server, so each result also reports the CPU the client and the server used during the measurement.
Traffic goes to loopback only; every loop stops by itself after a duration or a request count.
"""

from __future__ import annotations

import asyncio
import http.client
import json
import math
import os
import platform
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
BENCH_VAR_DIR = BASE_DIR / "var" / "bench"
LOOPBACK = "127.0.0.1"
# Hard ceilings so a mistyped option cannot run away.
MAX_DURATION_S = 600.0
MAX_CONCURRENCY = 1024
MAX_REQUESTS = 5_000_000


# --- processes --------------------------------------------------------------------------------
def free_port() -> int:
    """A TCP port on loopback that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind((LOOPBACK, 0))
        return sock.getsockname()[1]


def process_env(settings_module: str, **overrides: str) -> dict:
    """The caller's environment (DATABASE_URL, REDIS_URL, ... pass through) with the settings module set."""
    env = dict(os.environ)
    env.update(DJANGO_SETTINGS_MODULE=settings_module, PYTHONUNBUFFERED="1", **overrides)
    return env


def manage(*args: str, settings_module: str = "config.settings.bench", env: dict | None = None,
           timeout: float = 600) -> str:
    """Run `manage.py <args>` in a subprocess; its output, or CalledProcessError with the output."""
    result = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=BASE_DIR, env=process_env(settings_module, **(env or {})),
        capture_output=True, text=True, timeout=timeout,
    )
    if result.returncode != 0:
        raise subprocess.CalledProcessError(result.returncode, result.args, result.stdout, result.stderr)
    return result.stdout


def setup_django(settings_module: str = "config.settings.bench", **environ: str) -> None:
    """Configure Django inside this process (for ORM set-up and in-process measurements)."""
    if str(BASE_DIR) not in sys.path:
        sys.path.insert(0, str(BASE_DIR))
    os.environ["DJANGO_SETTINGS_MODULE"] = settings_module
    os.environ.update(environ)
    import django

    django.setup()


def process_cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds of a process (Linux /proc); None where unavailable."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    # After the command name: state is field 3, utime and stime are fields 14 and 15 (1-based).
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class DaphneServer:
    """A real `python -m daphne` process serving config.asgi on loopback.

    Use as a context manager: the server is started and answering inside the block, and stopped
    (SIGTERM, then SIGKILL after `stop_timeout`) when the block ends, whatever happens inside it.
    """

    def __init__(self, *, settings_module: str = "config.settings.bench", env: dict | None = None,
                 port: int | None = None, log_path: Path | None = None, daphne_args: tuple[str, ...] = (),
                 ready_path: str = "/health", start_timeout: float = 60, stop_timeout: float = 10):
        self.settings_module = settings_module
        self.env = env or {}
        self.host = LOOPBACK
        self.port = port or free_port()
        self.log_path = log_path or BENCH_VAR_DIR / f"daphne-{self.port}.log"
        self.daphne_args = daphne_args
        self.ready_path = ready_path
        self.start_timeout = start_timeout
        self.stop_timeout = stop_timeout
        self.process: subprocess.Popen | None = None
        self._log = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> DaphneServer:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = open(self.log_path, "wb")  # noqa: SIM115 (closed in stop)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "daphne", "-b", self.host, "-p", str(self.port), *self.daphne_args,
             "config.asgi:application"],
            cwd=BASE_DIR, env=process_env(self.settings_module, **self.env),
            stdout=self._log, stderr=subprocess.STDOUT,
        )
        self._wait_ready()
        return self

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + self.start_timeout
        last_error: Exception | None = None
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"daphne exited with {self.process.returncode}:\n{self.log_tail()}")
            try:
                fetch(self.host, self.port, self.ready_path, timeout=5)
                return  # any HTTP answer (even a 503 from /health) means it is serving
            except (OSError, http.client.HTTPException) as exc:
                last_error = exc
            time.sleep(0.2)
        raise TimeoutError(f"daphne did not answer {self.ready_path} in {self.start_timeout}s ({last_error}):\n"
                           f"{self.log_tail()}")

    def cpu_seconds(self) -> float | None:
        return process_cpu_seconds(self.process.pid) if self.process else None

    def log_tail(self, chars: int = 4000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(self.stop_timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        if self._log is not None:
            self._log.close()
            self._log = None

    def __enter__(self) -> DaphneServer:
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc_info) -> None:
        self.stop()


# --- one-off requests -------------------------------------------------------------------------
@dataclass(frozen=True)
class Reply:
    status: int
    headers: dict
    body: bytes


def fetch(host: str, port: int, path: str, headers: dict | None = None, method: str = "GET",
          body: bytes | None = None, timeout: float = 10) -> Reply:
    """One request to loopback; any status is returned, not raised."""
    if host not in (LOOPBACK, "localhost"):
        raise ValueError("benchmarks talk to loopback only")
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        return Reply(response.status, {k.lower(): v for k, v in response.getheaders()}, response.read())
    finally:
        conn.close()


# --- load generator ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Target:
    """One endpoint to load: name for the tables, path and request headers."""

    name: str
    path: str
    headers: dict = field(default_factory=dict)
    method: str = "GET"
    expect_status: int = 200

    def raw_request(self, host: str, port: int) -> bytes:
        lines = [f"{self.method} {self.path} HTTP/1.1", f"Host: {host}:{port}", "Connection: keep-alive"]
        lines += [f"{name}: {value}" for name, value in self.headers.items()]
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


@dataclass
class LoadResult:
    name: str
    concurrency: int
    elapsed_s: float
    requests: int
    errors: int
    rps: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    mean_ms: float
    statuses: dict
    client_cpu_pct: float | None = None
    server_cpu_pct: float | None = None

    def to_dict(self) -> dict:
        return asdict(self)


def percentile(sorted_values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of an ascending list; 0.0 for an empty one."""
    if not sorted_values:
        return 0.0
    rank = min(len(sorted_values), max(1, math.ceil(q / 100 * len(sorted_values))))
    return sorted_values[rank - 1]


class _Window:
    """Shared state of one load run: the phase boundaries and what was measured inside them."""

    def __init__(self, warmup_end: float, end: float, max_requests: int):
        self.warmup_end = warmup_end
        self.end = end
        self.remaining = max_requests
        self.latencies: list[float] = []
        self.statuses: Counter = Counter()
        self.errors = 0
        self.last_finish = warmup_end


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bool]:
    """Read one HTTP/1.1 response; (status, server wants the connection closed)."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    length, chunked, close = None, False, lines[0].startswith("HTTP/1.0")
    for line in lines[1:]:
        name, _, value = line.partition(":")
        name = name.strip().lower()
        if name == "content-length":
            length = int(value)
        elif name == "transfer-encoding" and "chunked" in value.lower():
            chunked = True
        elif name == "connection":
            close = value.strip().lower() == "close"
    if chunked:
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";", 1)[0], 16)
            await reader.readexactly(size + 2)
            if size == 0:
                break
    elif length is not None:
        await reader.readexactly(length)
    else:  # no length: the body runs to the end of the connection
        await reader.read()
        close = True
    return status, close


async def _worker(host: str, port: int, request: bytes, expect_status: int, window: _Window,
                  request_timeout: float) -> None:
    reader = writer = None
    clock = time.perf_counter
    try:
        while True:
            started = clock()
            if started >= window.end:
                return
            measured = started >= window.warmup_end
            if measured:
                if window.remaining <= 0:
                    return
                window.remaining -= 1
            try:
                async with asyncio.timeout(request_timeout):
                    if writer is None:
                        reader, writer = await asyncio.open_connection(host, port)
                    writer.write(request)
                    status, close = await _read_response(reader)
            except (OSError, ValueError, IndexError, asyncio.IncompleteReadError, asyncio.LimitOverrunError,
                    TimeoutError):
                if measured:
                    window.errors += 1
                if writer is not None:
                    writer.close()
                reader = writer = None
                await asyncio.sleep(0.01)  # a refusing server must not turn this into a busy loop
                continue
            finished = clock()
            if measured:
                window.latencies.append(finished - started)
                window.statuses[status] += 1
                if status != expect_status:
                    window.errors += 1
                window.last_finish = max(window.last_finish, finished)
            if close:
                writer.close()
                reader = writer = None
    finally:
        if writer is not None:
            writer.close()


async def run_load_async(target: Target, *, host: str = LOOPBACK, port: int, concurrency: int = 16,
                         duration_s: float = 10.0, warmup_s: float = 1.0, max_requests: int = MAX_REQUESTS,
                         request_timeout: float = 10.0, server_pid: int | None = None) -> LoadResult:
    """Closed-loop load: `concurrency` keep-alive connections, each sending the next request as soon
    as the previous answer is read, for `warmup_s` (discarded) and then `duration_s` (measured) or
    until `max_requests` measured requests, whichever comes first."""
    if host not in (LOOPBACK, "localhost"):
        raise ValueError("benchmarks talk to loopback only")
    if not (1 <= concurrency <= MAX_CONCURRENCY and 0 < duration_s <= MAX_DURATION_S and 0 <= warmup_s <= 60):
        raise ValueError("concurrency, duration or warm-up out of range")
    request = target.raw_request(host, port)
    start = time.perf_counter()
    window = _Window(start + warmup_s, start + warmup_s + duration_s, min(max_requests, MAX_REQUESTS))
    workers = [asyncio.create_task(_worker(host, port, request, target.expect_status, window, request_timeout))
               for _ in range(concurrency)]
    await asyncio.sleep(max(0.0, window.warmup_end - time.perf_counter()))
    client_cpu0, server_cpu0, wall0 = time.process_time(), _cpu(server_pid), time.perf_counter()
    await asyncio.gather(*workers)
    client_cpu1, server_cpu1, wall1 = time.process_time(), _cpu(server_pid), time.perf_counter()

    latencies = sorted(window.latencies)
    elapsed = max(window.last_finish - window.warmup_end, 1e-9)
    cpu_wall = max(wall1 - wall0, 1e-9)
    return LoadResult(
        name=target.name,
        concurrency=concurrency,
        elapsed_s=round(elapsed, 3),
        requests=len(latencies),
        errors=window.errors,
        rps=round(len(latencies) / elapsed, 1),
        p50_ms=round(percentile(latencies, 50) * 1000, 2),
        p90_ms=round(percentile(latencies, 90) * 1000, 2),
        p99_ms=round(percentile(latencies, 99) * 1000, 2),
        max_ms=round((latencies[-1] if latencies else 0.0) * 1000, 2),
        mean_ms=round(sum(latencies) / len(latencies) * 1000, 2) if latencies else 0.0,
        statuses={str(k): v for k, v in sorted(window.statuses.items())},
        client_cpu_pct=round(100 * (client_cpu1 - client_cpu0) / cpu_wall, 1),
        server_cpu_pct=(round(100 * (server_cpu1 - server_cpu0) / cpu_wall, 1)
                        if server_cpu0 is not None and server_cpu1 is not None else None),
    )


def _cpu(pid: int | None) -> float | None:
    return process_cpu_seconds(pid) if pid else None


def run_load(target: Target, **options) -> LoadResult:
    """`run_load_async` from synchronous code (one event loop per call)."""
    return asyncio.run(run_load_async(target, **options))


# --- reporting --------------------------------------------------------------------------------
RESULT_COLUMNS = [
    ("name", "endpoint", "{}"),
    ("requests", "requests", "{}"),
    ("errors", "errors", "{}"),
    ("rps", "req/s", "{:.1f}"),
    ("p50_ms", "p50 ms", "{:.2f}"),
    ("p90_ms", "p90 ms", "{:.2f}"),
    ("p99_ms", "p99 ms", "{:.2f}"),
    ("max_ms", "max ms", "{:.2f}"),
    ("server_cpu_pct", "server CPU %", "{:.0f}"),
    ("client_cpu_pct", "client CPU %", "{:.0f}"),
]


def format_table(rows: list[dict], columns: list[tuple[str, str, str]] = RESULT_COLUMNS) -> str:
    """A plain-text table (Markdown-compatible) of `rows` with (key, header, format) columns."""
    header = [title for _, title, _ in columns]
    body = [[("-" if row.get(key) is None else fmt.format(row[key])) for key, _, fmt in columns] for row in rows]
    widths = [max(len(cell) for cell in column) for column in zip(header, *body, strict=True)]

    def line(cells):
        return "| " + " | ".join(cell.rjust(width) for cell, width in zip(cells, widths, strict=True)) + " |"

    return "\n".join([line(header), "|" + "|".join("-" * (w + 2) for w in widths) + "|", *map(line, body)])


def machine_info() -> dict:
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
    }


def write_json(path: str | Path, payload: dict) -> Path:
    """Write `payload` (plus machine info under "machine") as indented JSON; the path written."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"machine": machine_info(), **payload}, indent=2, default=str) + "\n")
    return path

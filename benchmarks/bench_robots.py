"""Robots: the command round trip (REST POST -> agent -> result -> user event) and the state fan-out
(robots streaming state to watching event sockets) on one daphne server with channels-redis, beside
a raw Redis pub/sub baseline measured in the same run.

    .venv/bin/python benchmarks/bench_robots.py [--commands 300] [--robots 50] [--watchers 20] [--hz 20]
                                                [--duration 20] [--json PATH] [--check]

Without DATABASE_URL / REDIS_URL the run uses PostgreSQL `pap_bench_robots` and Redis db 6 on
loopback, since the goals are stated for channels-redis (make the database once with
`createdb -h 127.0.0.1 -U postgres pap_bench_robots`). The fleet (an organisation, an editor and the
robots, registered through the services) is made on the first run and reused; credentials are
regenerated on each run because only their hashes are kept.

1. Round trip: one agent that answers each command at once (`ack`, then a completed `result`), one
   event socket and one keep-alive REST connection; one command in flight at a time. t0 is taken
   before `POST /api/v1/robots/commands`, t1 when the event socket receives its `command_completed`
   (also reported: when the POST was answered, the agent got the command, the ack's event arrived).
2. Baseline: `--robots` publishers at `--hz` publish the platform's event JSON with redis-py's
   asyncio client to one Redis pub/sub channel that `--watchers` subscribers read (run first: after
   the platform's fan-out the server may still be working off a backlog).
3. Fan-out: `--robots` agents send `state` at `--hz` for `--duration` seconds to `--watchers` event
   sockets of the same organisation, each of which should receive every `robot_status_update`; a
   command every PROBE_INTERVAL_S measures the round trip under that load. Each state carries its
   `seq` coded in one joint (SEQ_JOINT = (seq % SEQ_CODE_MODULUS) / 1000, inside the joint's limits)
   so a watcher matches each update to the moment its agent sent it: lag = received - sent.
   Expected = sent x watchers; "reached" = distinct updates that reached at least one watcher (the
   server drops some by design: it publishes at most ROBOT_STATE_PUBLISH_HZ per robot).

Goals (docs/benchmarks.md): round trip p50 <= 10 ms and p99 <= 30 ms; fan-out lag not growing (the
p99 of the last LAG_WINDOW_S seconds <= 2 x that of the first + 5 ms) and >= 95 % of the expected
updates delivered; the ratio of delivered messages/s to the baseline's is reported. `--check` exits
with status 2 when a goal is missed, 1 when the run itself failed (figures not valid).
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import logging
import math
import os
import subprocess
import sys
import time
import uuid
import warnings
from array import array
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: make the project importable
    sys.path.insert(0, str(ROOT))

from benchmarks import harness  # noqa: E402

SETTINGS = "config.settings.bench"
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/pap_bench_robots"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/6"
# As tests/harness.py: the daphne limits the socket tests run with.
DAPHNE_ARGS = ("--websocket-max-message-size", str(16 * 1024 * 1024),
               "--websocket-max-frame-size", str(16 * 1024 * 1024))

OWNER_EMAIL = "bench-robots-owner@example.com"
EDITOR_EMAIL = "bench-robots-editor@example.com"
# Only ever used on throwaway benchmark databases.
BENCH_PASSWORD = "Bench-only-Rb8nK3tQ6wZ1"
ORGANIZATION_NAME = "Bench robot fleet"
ROBOT_MODEL = "ur5e"
SERIAL_PREFIX = "BENCH-UR5E-"

COMMANDS_PATH = "/api/v1/robots/commands"
COMMAND = {"type": "set_mode", "params": {"mode": "idle"}}
COMMAND_TIMEOUT_S = 5.0
PROBE_INTERVAL_S = 0.5
SEQ_JOINT = "wrist_3"
SEQ_CODE_MODULUS = 4096  # codes up to 4.095 rad, inside the UR5e's +-6.28 rad
SETTLE_S = 1.0  # after connecting: let the connect events pass before the measurement
DRAIN_QUIET_S = 1.0  # after the senders stop: done once no update arrived for this long ...
DRAIN_MAX_S = 15.0  # ... or after this long, whatever is still queued is counted as lost
CONNECT_CONCURRENCY = 10

RT_P50_GOAL_MS = 10.0
RT_P99_GOAL_MS = 30.0
LAG_WINDOW_S = 5.0
LAG_GROWTH_FACTOR = 2.0
LAG_GROWTH_SLACK_MS = 5.0
DELIVERY_GOAL = 0.95


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--commands", type=int, default=300, help="measured round-trip commands (300)")
    parser.add_argument("--warmup-commands", type=int, default=20, help="unmeasured commands before them (20)")
    parser.add_argument("--robots", type=int, default=50, help="agents streaming state (50)")
    parser.add_argument("--watchers", type=int, default=20, help="event sockets watching the fleet (20)")
    parser.add_argument("--hz", type=float, default=20.0, help="state messages per second per robot (20)")
    parser.add_argument("--publish-hz", type=float,
                        help="the server's ROBOT_STATE_PUBLISH_HZ (default: the same as --hz)")
    parser.add_argument("--duration", type=float, default=20.0, help="seconds of state streaming (20)")
    parser.add_argument("--json", type=Path, help="also write the results to this JSON file")
    parser.add_argument("--settings", default=SETTINGS,
                        help=f"settings module for the server and set-up, to measure a variant ({SETTINGS})")
    parser.add_argument("--check", action="store_true", help="exit with status 2 when a goal is missed")
    args = parser.parse_args(argv)
    if not 1 <= args.commands <= 100_000 or not 0 <= args.warmup_commands <= 10_000:
        parser.error("--commands must be 1..100000 and --warmup-commands 0..10000")
    if not 1 <= args.robots <= 500 or not 1 <= args.watchers <= 200:
        parser.error("--robots must be 1..500 and --watchers 1..200")
    if not 0 < args.hz <= 200:
        parser.error("--hz must be above 0 and at most 200")
    args.publish_hz = args.publish_hz or args.hz
    if not 2 * LAG_WINDOW_S <= args.duration <= harness.MAX_DURATION_S:
        parser.error(f"--duration must be {2 * LAG_WINDOW_S:g}..{harness.MAX_DURATION_S:g} seconds (two lag windows)")
    return args


def _require(condition: bool, message: str) -> None:
    if not condition:  # not `assert`: the check must survive python -O
        raise AssertionError(message)


# --- database, fleet, server ------------------------------------------------------------------
def prepare_database(settings_module: str) -> str:
    """Point this process (and its children) at the bench database, migrated; a label for it."""
    os.environ.setdefault("DATABASE_URL", DEFAULT_DATABASE_URL)
    os.environ.setdefault("REDIS_URL", DEFAULT_REDIS_URL)
    try:
        harness.manage("migrate", "--noinput", "-v", "0", settings_module=settings_module)
    except subprocess.CalledProcessError as exc:
        raise SystemExit(f"migrate failed (does the database exist? createdb -h 127.0.0.1 -U postgres "
                         f"pap_bench_robots):\n{exc.stderr[-2000:]}") from exc
    return os.environ["DATABASE_URL"].split("://", 1)[0] + " + " + os.environ["REDIS_URL"].split("://", 1)[0]


@dataclass(frozen=True)
class Fleet:
    organization_id: int
    token: str  # the editor's access JWT
    connection_id: int  # the editor's open connection to robots[0]: commands go through it
    robots: list[tuple[int, str]]  # (robot id, credential)
    joint_names: list[str]


def prepare_fleet(robot_count: int) -> Fleet:
    """The benchmark organisation with an editor and `robot_count` UR5e robots, through the services."""
    from accounts import services as accounts
    from accounts.models import Membership, Role, User
    from robots import services
    from robots.models import Robot, RobotConnection, RobotModel

    services.load_catalogue()
    model = RobotModel.objects.get(slug=ROBOT_MODEL)
    owner = User.objects.filter(email=OWNER_EMAIL).first()
    if owner is None:
        owner = accounts.register_user(email=OWNER_EMAIL, password=BENCH_PASSWORD, full_name="Bench Owner")
    owned = Membership.objects.select_related("organization").filter(
        user=owner, organization__name=ORGANIZATION_NAME, organization__is_personal=False)
    if not owned.exists():
        accounts.create_organization(actor=owner, name=ORGANIZATION_NAME)
    owner_membership = owned.get()
    organization = owner_membership.organization
    editor = User.objects.filter(email=EDITOR_EMAIL).first()
    if editor is None:
        accounts.add_member(actor_membership=owner_membership, email=EDITOR_EMAIL, role=Role.EDITOR,
                            full_name="Bench Editor")
        editor = User.objects.get(email=EDITOR_EMAIL)

    robots = []
    for number in range(1, robot_count + 1):
        serial = f"{SERIAL_PREFIX}{number:04d}"
        robot = Robot.objects.filter(organization=organization, serial=serial).first()
        if robot is None:
            robot, credential = services.register_robot(actor=owner, organization=organization, model=model,
                                                        name=f"Bench arm {number}", serial=serial)
        else:
            credential = services.regenerate_credential(actor=owner, robot=robot)
        robots.append((robot.pk, credential))
    # A previous run that was killed leaves its robots "online" and its connection open.
    Robot.objects.filter(organization=organization).update(status=Robot.Status.OFFLINE)
    for stale in RobotConnection.objects.filter(user=editor, status=RobotConnection.Status.OPEN):
        services.close_connection(user=editor, connection=stale)
    first = Robot.objects.get(pk=robots[0][0])
    connection = services.open_connection(user=editor, organization=organization, robot=first)
    joint_names = [joint["name"] for joint in model.joints]
    _require(SEQ_JOINT in joint_names, f"{ROBOT_MODEL} has no joint {SEQ_JOINT}")
    return Fleet(organization_id=organization.pk, token=accounts.issue_tokens(editor)["access"],
                 connection_id=connection.pk, robots=robots, joint_names=joint_names)


def redis_server_pid(url: str) -> int | None:
    """The Redis server's process id, to report its CPU (None when it is not a local process)."""
    import redis

    client = redis.Redis.from_url(url, socket_timeout=5)
    try:
        pid = int(client.info("server")["process_id"])
    finally:
        client.close()
    return pid if harness.process_cpu_seconds(pid) is not None else None


def forget_keys(url: str, prefix: str, limit: int = 100_000) -> int:
    """Delete this run's channel-layer keys (groups, channel queues); how many."""
    import redis

    client = redis.Redis.from_url(url, socket_timeout=5)
    try:
        keys = list(itertools.islice(client.scan_iter(match=f"{prefix}*", count=1000), limit))
        for start in range(0, len(keys), 1000):
            client.delete(*keys[start:start + 1000])
        return len(keys)
    finally:
        client.close()


REDIS_COMMANDS = ("eval", "bzpopmin", "xadd")


def redis_command_calls(url: str) -> dict[str, int]:
    """Calls so far of the Redis commands that show the channel layer's work (INFO commandstats):
    channels-redis runs one EVAL per group_send, and one EVAL plus one BZPOPMIN per message a
    process receives (so group sends = EVAL - BZPOPMIN); XADD logs a (non-telemetry) event."""
    import redis

    client = redis.Redis.from_url(url, socket_timeout=5)
    try:
        stats = client.info("commandstats")
    finally:
        client.close()
    return {name: int(stats.get(f"cmdstat_{name}", {}).get("calls", 0)) for name in REDIS_COMMANDS}


class CpuMeter:
    """CPU % of the server, Redis and this (client) process between `start()` and `stop()`."""

    def __init__(self, server_pid: int, redis_pid: int | None):
        self.pids = {"server": server_pid, "redis": redis_pid, "client": os.getpid()}

    def start(self) -> None:
        self.wall0 = time.monotonic()
        self.cpu0 = {name: harness.process_cpu_seconds(pid) if pid else None for name, pid in self.pids.items()}

    def stop(self) -> dict:
        wall = max(time.monotonic() - self.wall0, 1e-9)
        result = {}
        for name, pid in self.pids.items():
            now = harness.process_cpu_seconds(pid) if pid else None
            before = self.cpu0[name]
            result[f"{name}_cpu_pct"] = round(100 * (now - before) / wall, 1) if None not in (now, before) else None
        return result


# --- clients ----------------------------------------------------------------------------------
class JsonHttpClient:
    """One keep-alive HTTP/1.1 connection on raw asyncio streams (as the harness's load generator),
    sending JSON and reading the JSON answer: the caller needs the created command's id."""

    def __init__(self, port: int, headers: dict):
        self.port = port
        self.headers = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def post(self, path: str, body: dict) -> tuple[int, dict | None]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(harness.LOOPBACK, self.port)
        payload = json.dumps(body, separators=(",", ":")).encode()
        head = (f"POST {path} HTTP/1.1\r\nHost: {harness.LOOPBACK}:{self.port}\r\nConnection: keep-alive\r\n"
                f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n{self.headers}\r\n")
        self.writer.write(head.encode("latin-1") + payload)
        await self.writer.drain()
        status, answer, close = await self._read_response()
        if close:
            await self.close()
        try:
            return status, json.loads(answer) if answer else None
        except ValueError:
            return status, {"raw": answer[:300].decode(errors="replace")}

    async def _read_response(self) -> tuple[int, bytes, bool]:
        head = (await self.reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
        status = int(head[0].split(" ", 2)[1])
        fields = {}
        for line in head[1:]:
            name, _, value = line.partition(":")
            fields[name.strip().lower()] = value.strip()
        if "chunked" in fields.get("transfer-encoding", "").lower():
            parts = []
            while size := int((await self.reader.readuntil(b"\r\n")).split(b";", 1)[0], 16):
                parts.append((await self.reader.readexactly(size + 2))[:-2])
            await self.reader.readuntil(b"\r\n")
            body = b"".join(parts)
        else:
            body = await self.reader.readexactly(int(fields.get("content-length", "0")))
        return status, body, head[0].startswith("HTTP/1.0") or fields.get("connection", "").lower() == "close"

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None


class CompletionBoard:
    """When each command reached the agent and when its `command_completed` reached a user socket."""

    def __init__(self):
        self.received: dict[int, float] = {}
        self.acknowledged: dict[int, float] = {}  # its `command_update` saying "acknowledged"
        self.completed: dict[int, float] = {}
        self._waiters: dict[int, asyncio.Future] = {}

    def agent_received(self, command_id: int) -> None:
        self.received.setdefault(command_id, time.perf_counter())

    def acknowledge(self, command_id: int) -> None:
        self.acknowledged.setdefault(command_id, time.perf_counter())

    def complete(self, command_id: int) -> None:
        self.completed.setdefault(command_id, time.perf_counter())
        waiter = self._waiters.pop(command_id, None)
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def wait(self, command_id: int, timeout: float) -> float | None:
        """perf_counter() when the command's completion arrived; None past `timeout`."""
        if command_id not in self.completed:
            waiter = self._waiters[command_id] = asyncio.get_running_loop().create_future()
            try:
                await asyncio.wait_for(waiter, timeout)
            except TimeoutError:
                return None
            finally:
                self._waiters.pop(command_id, None)
        return self.completed[command_id]


def state_joints(joint_names: list[str], seq: int, phase: float) -> dict:
    """Plausible joint positions for one state sample, with `seq` coded in SEQ_JOINT."""
    joints = {name: round(0.5 * math.sin(0.05 * seq + phase + n), 4) for n, name in enumerate(joint_names)}
    joints[SEQ_JOINT] = (seq % SEQ_CODE_MODULUS) / 1000
    return joints


async def stream_at_rate(send: Callable[[int], Awaitable], sent: array, *, hz: float, start: float, end: float,
                         offset: float) -> None:
    """Call `send(seq)` on every tick of `hz` from `start + offset` until `end` (monotonic clock),
    recording each send's wall-clock time in `sent` (indexed by seq). A sender that falls behind
    skips the ticks it missed: a robot sends its newest state, never a backlog."""
    period = 1.0 / hz
    tick = 0
    while (due := start + offset + tick * period) < end:
        delay = due - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        seq = len(sent)
        sent.append(time.time())
        await send(seq)
        tick = max(tick + 1, math.floor((time.monotonic() - start - offset) / period) + 1)


def _ws_url(server: harness.DaphneServer, path: str) -> str:
    return f"ws://{server.host}:{server.port}{path}"


async def _open_socket(url: str, **options):
    from websockets.asyncio.client import connect

    # daphne accepts no permessage-deflate, so offering it would only cost a header.
    return await connect(url, compression=None, open_timeout=30, close_timeout=5, **options)


class FakeAgent:
    """A robot's agent (docs/robot-protocol.md) that answers every command at once, `ack` then a
    completed `result`, and streams `state` when asked."""

    def __init__(self, url: str, robot_id: int, credential: str, joint_names: list[str],
                 board: CompletionBoard | None = None):
        self.url, self.robot_id, self.credential = url, robot_id, credential
        self.joint_names = joint_names
        self.board = board
        self.errors: list[dict] = []
        self.ws = None

    async def connect(self) -> None:
        self.ws = await _open_socket(self.url, additional_headers={"Authorization": f"Bearer {self.credential}"})
        welcome = json.loads(await asyncio.wait_for(self.ws.recv(), 30))
        _require(welcome.get("type") == "welcome" and welcome["robot"]["id"] == self.robot_id,
                 f"robot {self.robot_id} was not welcomed: {welcome}")

    async def serve(self) -> None:
        """Answer commands until the socket closes; keep any `error` the server sends."""
        from websockets.exceptions import ConnectionClosed

        try:
            async for raw in self.ws:
                message = json.loads(raw)
                if message.get("type") == "command":
                    command_id = message["command"]["id"]
                    if self.board is not None:
                        self.board.agent_received(command_id)
                    await self.ws.send(json.dumps({"type": "ack", "command_id": command_id}))
                    await self.ws.send(json.dumps({"type": "result", "command_id": command_id, "status": "completed",
                                                   "result": None, "error": ""}))
                elif message.get("type") == "error":
                    self.errors.append(message)
        except ConnectionClosed:
            pass

    async def send_state(self, seq: int) -> None:
        joints = state_joints(self.joint_names, seq, phase=self.robot_id)
        await self.ws.send(json.dumps({"type": "state", "seq": seq, "joints": joints, "battery": 0.9, "mode": "idle"},
                                      separators=(",", ":")))

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()


async def connect_all(agents: list[FakeAgent]) -> None:
    """Connect the agents, a few at a time (each connect costs the server an Argon2 check)."""
    gate = asyncio.Semaphore(CONNECT_CONCURRENCY)

    async def one(agent):
        async with gate:
            await agent.connect()

    await asyncio.gather(*(one(agent) for agent in agents))


async def open_event_socket(server: harness.DaphneServer, token: str):
    ws = await _open_socket(_ws_url(server, f"/ws/v1/connect/?token={token}"))
    hello = json.loads(await asyncio.wait_for(ws.recv(), 30))
    _require(hello.get("type") == "hello", f"the event socket said {hello}")
    return ws


# --- what the watchers received ---------------------------------------------------------------
class DeliveryLog:
    """Every state update the watchers of one fan-out received, matched to the moment it was sent."""

    def __init__(self, source_ids: list[int], watchers: int):
        self.index = {source_id: n for n, source_id in enumerate(source_ids)}
        self.sent = [array("d") for _ in source_ids]  # per source: wall-clock send time by seq
        self.received_at = array("d")  # per delivery
        self.end_to_end = array("d")  # received - sent
        self.from_event = array("d")  # received - the event's own "at"
        self.per_watcher = [0] * watchers
        self.distinct: set[int] = set()  # (source, seq) seen by at least one watcher
        self.unmatched = 0
        self.sizes = array("d")
        self.last_received = 0.0  # monotonic

    def record(self, watcher: int, raw: str | bytes, event: dict, now: float) -> None:
        data = event["data"]
        source = self.index.get(data["robot_id"])
        code = round(data["state"]["joints"][SEQ_JOINT] * 1000)
        if source is None:
            self.unmatched += 1
            return
        sent = self.sent[source]
        latest = len(sent) - 1
        seq = latest - ((latest - code) % SEQ_CODE_MODULUS)
        if seq < 0:
            self.unmatched += 1
            return
        self.per_watcher[watcher] += 1
        self.distinct.add(source * 10_000_000 + seq)
        self.received_at.append(now)
        self.end_to_end.append(now - sent[seq])
        self.from_event.append(now - datetime.fromisoformat(event["at"]).timestamp())
        if watcher == 0:
            self.sizes.append(len(raw))
        self.last_received = time.monotonic()


class Watcher:
    """A user's event socket: logs `robot_status_update`s and notes `command_completed`s."""

    def __init__(self, index: int, ws, log: DeliveryLog | None = None, board: CompletionBoard | None = None):
        self.index, self.ws, self.log, self.board = index, ws, log, board
        self.other = Counter()

    async def run(self) -> None:
        from websockets.exceptions import ConnectionClosed

        try:
            async for raw in self.ws:
                now = time.time()
                event = json.loads(raw)
                kind = event.get("type")
                if kind == "robot_status_update" and self.log is not None:
                    self.log.record(self.index, raw, event, now)
                    continue
                if self.board is not None and kind == "command_completed":
                    self.board.complete(event["data"]["command_id"])
                elif self.board is not None and kind == "command_update" and event["data"]["status"] == "acknowledged":
                    self.board.acknowledge(event["data"]["command_id"])
                self.other[kind] += 1
        except ConnectionClosed:
            pass


async def drain(log: DeliveryLog, end: float) -> float:
    """Wait until no update arrived for DRAIN_QUIET_S (at most DRAIN_MAX_S after `end`); seconds waited."""
    while time.monotonic() < end + DRAIN_MAX_S and time.monotonic() - max(log.last_received, end) < DRAIN_QUIET_S:
        await asyncio.sleep(0.05)
    return time.monotonic() - end


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 2)


def lag_stats(lags) -> dict:
    """p50/p99/max of lags in seconds, as ms; None for each when there were none."""
    ordered = sorted(lags)
    if not ordered:
        return {"count": 0, "p50_ms": None, "p99_ms": None, "max_ms": None}
    return {"count": len(ordered), "p50_ms": _ms(harness.percentile(ordered, 50)),
            "p99_ms": _ms(harness.percentile(ordered, 99)), "max_ms": _ms(ordered[-1])}


def summarize_delivery(name: str, log: DeliveryLog, *, start_wall: float, duration: float, hz: float,
                       drained_s: float, cpu: dict) -> dict:
    """Counts, delivered messages/s, loss, and the lag of what arrived in the first and in the last
    LAG_WINDOW_S of the streaming (by arrival: what a watcher sees then), plus per-second figures."""
    watchers = len(log.per_watcher)
    sent = sum(len(s) for s in log.sent)
    delivered = sum(log.per_watcher)
    expected = sent * watchers
    end_wall = start_wall + duration
    by_second: dict[int, list[float]] = {}
    for received, lag in zip(log.received_at, log.end_to_end, strict=True):
        by_second.setdefault(int(received - start_wall), []).append(lag)
    first = [lag for second, lags in by_second.items() if second < LAG_WINDOW_S for lag in lags]
    last = [lag for second, lags in by_second.items() if duration - LAG_WINDOW_S <= second < duration for lag in lags]
    span = max(max(log.received_at, default=end_wall) - start_wall, duration)
    seconds = range(int(math.ceil(span)))
    return {
        "name": name,
        "sources": len(log.sent),
        "watchers": watchers,
        "nominal_sent": round(len(log.sent) * hz * duration),
        "sent": sent,
        "published": len(log.distinct),
        "expected": expected,
        "delivered": delivered,
        "delivered_pct": round(100 * delivered / expected, 2) if expected else 0.0,
        "delivered_per_s": round(delivered / span, 1),
        "per_watcher_min": min(log.per_watcher),
        "per_watcher_max": max(log.per_watcher),
        "unmatched": log.unmatched,
        "received_after_end": sum(1 for t in log.received_at if t >= end_wall),
        "drain_s": round(drained_s, 2),
        "mean_bytes": round(sum(log.sizes) / len(log.sizes), 1) if log.sizes else 0.0,
        "lag_all": lag_stats(log.end_to_end),
        "lag_first": lag_stats(first),
        "lag_last": lag_stats(last),
        "lag_from_event_at": lag_stats(log.from_event),
        "per_second": [len(by_second.get(second, ())) for second in seconds],
        "lag_p99_ms_per_second": [lag_stats(by_second.get(second, ()))["p99_ms"] for second in seconds],
        **cpu,
    }


# --- 1. round trip ----------------------------------------------------------------------------
@dataclass
class Sample:
    posted_ms: float
    agent_ms: float | None = None
    acknowledged_ms: float | None = None
    done_ms: float | None = None  # None: no command_completed within COMMAND_TIMEOUT_S
    error: str = ""


async def one_command(client: JsonHttpClient, connection_id: int, board: CompletionBoard) -> Sample:
    t0 = time.perf_counter()
    status, body = await client.post(COMMANDS_PATH, {"connection_id": connection_id, **COMMAND})
    posted = time.perf_counter()
    if status != 201:
        return Sample(_ms(posted - t0), error=f"POST answered {status}: {str(body)[:200]}")
    command_id = body["id"]
    done = await board.wait(command_id, COMMAND_TIMEOUT_S)
    received, acknowledged = board.received.get(command_id), board.acknowledged.get(command_id)
    return Sample(_ms(posted - t0), _ms(received - t0) if received else None,
                  _ms(acknowledged - t0) if acknowledged else None, _ms(done - t0) if done else None)


def summarize_samples(name: str, samples: list[Sample]) -> dict:
    def stats(values):
        ordered = sorted(v for v in values if v is not None)
        if not ordered:
            return dict.fromkeys(("count", "p50_ms", "p90_ms", "p99_ms", "max_ms", "mean_ms"))
        return {"count": len(ordered), "p50_ms": harness.percentile(ordered, 50),
                "p90_ms": harness.percentile(ordered, 90), "p99_ms": harness.percentile(ordered, 99),
                "max_ms": ordered[-1], "mean_ms": round(sum(ordered) / len(ordered), 2)}

    done = [s for s in samples if not s.error]
    return {
        "name": name,
        "commands": len(samples),
        "errors": sum(1 for s in samples if s.error),
        "timeouts": sum(1 for s in done if s.done_ms is None),
        # A command that never completed counts as the timeout: it must weigh on the percentiles.
        **stats([COMMAND_TIMEOUT_S * 1000 if s.done_ms is None else s.done_ms for s in done]),
        "posted": stats([s.posted_ms for s in done]),
        "agent_received": stats([s.agent_ms for s in done]),
        "acknowledged": stats([s.acknowledged_ms for s in done]),
        "first_errors": [s.error for s in samples if s.error][:3],
    }


async def measure_round_trip(server: harness.DaphneServer, fleet: Fleet, args, cpu: CpuMeter) -> dict:
    board = CompletionBoard()
    robot_id, credential = fleet.robots[0]
    agent = FakeAgent(_ws_url(server, "/ws/v1/robots/agent/"), robot_id, credential, fleet.joint_names, board)
    watcher = Watcher(0, await open_event_socket(server, fleet.token), board=board)
    await agent.connect()
    tasks = [asyncio.create_task(agent.serve()), asyncio.create_task(watcher.run())]
    client = JsonHttpClient(server.port, {"Authorization": f"Bearer {fleet.token}", "Accept": "application/json"})
    try:
        await asyncio.sleep(SETTLE_S)
        for _ in range(args.warmup_commands):
            await one_command(client, fleet.connection_id, board)
        cpu.start()
        samples = [await one_command(client, fleet.connection_id, board) for _ in range(args.commands)]
        usage = cpu.stop()
    finally:
        await client.close()
        await agent.close()
        await watcher.ws.close()
        await asyncio.gather(*tasks)
    summary = summarize_samples("idle", samples)
    summary.update(usage, agent_errors=agent.errors[:3])
    return summary


# --- 2. fan-out through the platform ----------------------------------------------------------
async def probe_commands(client: JsonHttpClient, connection_id: int, board: CompletionBoard, *, start: float,
                         end: float) -> list[Sample]:
    """One command every PROBE_INTERVAL_S while the state streams (one in flight at a time)."""
    samples = []
    next_at = start + PROBE_INTERVAL_S
    while next_at < end - PROBE_INTERVAL_S:
        await asyncio.sleep(max(0.0, next_at - time.monotonic()))
        samples.append(await one_command(client, connection_id, board))
        next_at = max(next_at + PROBE_INTERVAL_S, time.monotonic())
    return samples


async def measure_fanout(server: harness.DaphneServer, fleet: Fleet, args, cpu: CpuMeter) -> tuple[dict, dict]:
    robots = fleet.robots[:args.robots]
    log = DeliveryLog([robot_id for robot_id, _ in robots], args.watchers)
    board = CompletionBoard()
    watchers = [Watcher(n, await open_event_socket(server, fleet.token), log, board if n == 0 else None)
                for n in range(args.watchers)]
    url = _ws_url(server, "/ws/v1/robots/agent/")
    agents = [FakeAgent(url, robot_id, credential, fleet.joint_names, board if n == 0 else None)
              for n, (robot_id, credential) in enumerate(robots)]
    tasks = [asyncio.create_task(w.run()) for w in watchers]
    client = JsonHttpClient(server.port, {"Authorization": f"Bearer {fleet.token}", "Accept": "application/json"})
    try:
        await connect_all(agents)
        tasks += [asyncio.create_task(agent.serve()) for agent in agents]
        await asyncio.sleep(SETTLE_S)
        start = time.monotonic() + 0.2
        start_wall = time.time() + 0.2
        end = start + args.duration
        period = 1.0 / args.hz
        calls_before = redis_command_calls(os.environ["REDIS_URL"])
        cpu.start()
        senders = [asyncio.create_task(stream_at_rate(agent.send_state, log.sent[n], hz=args.hz, start=start, end=end,
                                                      offset=period * n / len(agents)))
                   for n, agent in enumerate(agents)]
        probe = asyncio.create_task(probe_commands(client, fleet.connection_id, board, start=start, end=end))
        await asyncio.gather(*senders)
        probes = await probe
        drained = await drain(log, end)
        usage = cpu.stop()
        calls_after = redis_command_calls(os.environ["REDIS_URL"])
    finally:
        await client.close()
        # Together: a backlogged server may take the whole close timeout to answer each socket.
        await asyncio.gather(*(agent.close() for agent in agents), *(watcher.ws.close() for watcher in watchers))
        await asyncio.gather(*tasks)
    summary = summarize_delivery("platform", log, start_wall=start_wall, duration=args.duration, hz=args.hz,
                                 drained_s=drained, cpu=usage)
    # Redis-wide counts: nothing else should use this Redis during the run.
    calls = {name: calls_after[name] - calls_before[name] for name in REDIS_COMMANDS}
    summary["redis_calls"] = {**calls, "group_sends": calls["eval"] - calls["bzpopmin"]}
    summary["agent_errors"] = sum(len(agent.errors) for agent in agents)
    summary["first_agent_errors"] = [e for agent in agents for e in agent.errors][:3]
    return summary, summarize_samples("during fan-out", probes)


# --- 3. raw Redis pub/sub baseline ------------------------------------------------------------
async def measure_pubsub_baseline(redis_url: str, fleet: Fleet, args, cpu: CpuMeter) -> dict:
    """The same senders, rate and event JSON through one Redis pub/sub channel, no server between."""
    import redis.asyncio as aioredis

    source_ids = [robot_id for robot_id, _ in fleet.robots[:args.robots]]
    log = DeliveryLog(source_ids, args.watchers)
    channel = f"bench:robots:state:{uuid.uuid4().hex[:12]}"  # pub/sub channels ignore the db number
    stop = asyncio.Event()
    subscribers = [aioredis.Redis.from_url(redis_url) for _ in range(args.watchers)]
    publishers = [aioredis.Redis.from_url(redis_url) for _ in source_ids]
    pubsubs = [client.pubsub() for client in subscribers]

    async def read(index: int, pubsub) -> None:
        while not stop.is_set():
            message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=0.1)
            if message is not None:
                now = time.time()
                log.record(index, message["data"], json.loads(message["data"]), now)

    def sender(client, robot_id: int) -> Callable[[int], Awaitable]:
        async def send(seq: int) -> None:
            at = datetime.now(UTC).isoformat()
            state = {"joints": state_joints(fleet.joint_names, seq, phase=robot_id), "battery": 0.9, "mode": "idle"}
            event = {"type": "robot_status_update", "id": f"{int(time.time() * 1000)}-{seq + 1_000_000}", "at": at,
                     "data": {"robot_id": robot_id, "status": "online", "state": state, "at": at}}
            await client.publish(channel, json.dumps(event, separators=(",", ":")))
        return send

    try:
        for pubsub in pubsubs:
            await pubsub.subscribe(channel)
        for client in publishers:
            await client.ping()
        readers = [asyncio.create_task(read(n, pubsub)) for n, pubsub in enumerate(pubsubs)]
        await asyncio.sleep(SETTLE_S)
        start = time.monotonic() + 0.2
        start_wall = time.time() + 0.2
        end = start + args.duration
        period = 1.0 / args.hz
        cpu.start()
        await asyncio.gather(*(stream_at_rate(sender(client, robot_id), log.sent[n], hz=args.hz, start=start, end=end,
                                              offset=period * n / len(publishers))
                               for n, (client, robot_id) in enumerate(zip(publishers, source_ids, strict=True))))
        drained = await drain(log, end)
        usage = cpu.stop()
        stop.set()
        await asyncio.gather(*readers)
    finally:
        stop.set()
        for pubsub in pubsubs:
            await pubsub.aclose()
        for client in (*subscribers, *publishers):
            await client.aclose()
    usage["server_cpu_pct"] = None  # daphne idles through the baseline
    return summarize_delivery("redis pub/sub", log, start_wall=start_wall, duration=args.duration, hz=args.hz,
                              drained_s=drained, cpu=usage)


# --- reporting --------------------------------------------------------------------------------
ROUND_TRIP_COLUMNS = [
    ("name", "load", "{}"), ("stage", "until", "{}"), ("count", "seen", "{}"), ("timeouts", "timeouts", "{}"),
    ("p50_ms", "p50 ms", "{:.2f}"), ("p90_ms", "p90 ms", "{:.2f}"), ("p99_ms", "p99 ms", "{:.2f}"),
    ("max_ms", "max ms", "{:.2f}"), ("server_cpu_pct", "server CPU %", "{:.0f}"),
]
FANOUT_COLUMNS = [
    ("name", "transport", "{}"), ("sent", "sent", "{}"), ("published", "reached", "{}"),
    ("expected", "expected", "{}"), ("delivered", "delivered", "{}"), ("delivered_pct", "delivered %", "{:.1f}"),
    ("delivered_per_s", "msgs/s", "{:.0f}"), ("first_p50", "lag p50 first", "{:.1f}"),
    ("first_p99", "p99 first", "{:.1f}"), ("last_p50", "p50 last", "{:.1f}"), ("last_p99", "p99 last", "{:.1f}"),
    ("max_lag", "max lag", "{:.1f}"), ("server_cpu_pct", "server CPU %", "{:.0f}"),
    ("redis_cpu_pct", "redis CPU %", "{:.0f}"), ("client_cpu_pct", "client CPU %", "{:.0f}"),
]


def round_trip_rows(summary: dict) -> list[dict]:
    rows = []
    for stage, key in (("POST answered", "posted"), ("agent got command", "agent_received"),
                       ("ack's command_update", "acknowledged"), ("command_completed", None)):
        stats = summary[key] if key else summary
        rows.append({"name": summary["name"], "stage": stage, "count": stats["count"],
                     "timeouts": summary["timeouts"] if key is None else None,
                     "server_cpu_pct": summary.get("server_cpu_pct") if key is None else None,
                     **{k: stats[k] for k in ("p50_ms", "p90_ms", "p99_ms", "max_ms")}})
    return rows


def fanout_row(summary: dict) -> dict:
    return {**summary, "first_p50": summary["lag_first"]["p50_ms"], "first_p99": summary["lag_first"]["p99_ms"],
            "last_p50": summary["lag_last"]["p50_ms"], "last_p99": summary["lag_last"]["p99_ms"],
            "max_lag": summary["lag_all"]["max_ms"]}


def goal_verdicts(round_trip: dict, fanout: dict) -> dict:
    first_p99, last_p99 = fanout["lag_first"]["p99_ms"], fanout["lag_last"]["p99_ms"]
    # A window in which nothing arrived is a stalled stream, not a lag that did not grow.
    lag_limit = LAG_GROWTH_FACTOR * first_p99 + LAG_GROWTH_SLACK_MS if first_p99 is not None else None
    return {
        "round_trip_p50": {"value_ms": round_trip["p50_ms"], "goal_ms": RT_P50_GOAL_MS,
                           "met": not round_trip["errors"] and (round_trip["p50_ms"] or math.inf) <= RT_P50_GOAL_MS},
        "round_trip_p99": {"value_ms": round_trip["p99_ms"], "goal_ms": RT_P99_GOAL_MS,
                           "met": not round_trip["timeouts"] and (round_trip["p99_ms"] or math.inf) <= RT_P99_GOAL_MS},
        "fanout_lag_not_growing": {"first_p99_ms": first_p99, "last_p99_ms": last_p99,
                                   "limit_ms": round(lag_limit, 2) if lag_limit is not None else None,
                                   "met": None not in (first_p99, last_p99) and last_p99 <= lag_limit},
        "fanout_delivered": {"delivered_pct": fanout["delivered_pct"], "goal_pct": 100 * DELIVERY_GOAL,
                             "met": fanout["delivered_pct"] >= 100 * DELIVERY_GOAL},
    }


def _ms_text(value: float | None) -> str:
    return "- (nothing arrived)" if value is None else f"{value:.2f} ms"


def _verdict(met: bool) -> str:
    return "met" if met else "MISSED"


def print_report(round_trip: dict, probes: dict, fanout: dict, baseline: dict, goals: dict, ratio: float) -> None:
    print("\nCommand round trip (ms from before the POST):\n"
          + harness.format_table(round_trip_rows(round_trip) + round_trip_rows(probes), ROUND_TRIP_COLUMNS))
    print("\nState fan-out (lag: agent send -> watcher receive, ms, of what arrived in the first / last "
          f"{LAG_WINDOW_S:g} s of the streaming):\n" + harness.format_table([fanout_row(fanout), fanout_row(baseline)],
                                                                     FANOUT_COLUMNS))
    calls = fanout["redis_calls"]
    print(f"  channel layer while the platform streamed and drained: {calls['group_sends']} group sends, of which "
          f"{fanout['layer_over_capacity_logs']} dropped as over capacity (daphne log); {calls['bzpopmin']} messages "
          f"received by the server process (BZPOPMIN); {calls['xadd']} logged events (XADD)")
    for summary in (fanout, baseline):
        event_lag = summary["lag_from_event_at"]
        print(f"  {summary['name']}: {summary['mean_bytes']:.0f} bytes per update; per watcher "
              f"{summary['per_watcher_min']}..{summary['per_watcher_max']}; {summary['received_after_end']} received "
              f"after the senders stopped (drain {summary['drain_s']:.2f} s); lag from the event's own \"at\" p50 "
              f"{_ms_text(event_lag['p50_ms'])} / p99 {_ms_text(event_lag['p99_ms'])}; unmatched {summary['unmatched']}")
        print(f"    delivered per second: {summary['per_second']}")
        print(f"    lag p99 ms per second: {[round(v) if v is not None else None for v in summary['lag_p99_ms_per_second']]}")
    print(f"\nplatform / redis pub/sub delivered msgs/s: {ratio:.1%}")
    print(f"round trip p50 {_ms_text(goals['round_trip_p50']['value_ms'])}, goal <= {RT_P50_GOAL_MS:g} ms: "
          f"{_verdict(goals['round_trip_p50']['met'])}")
    print(f"round trip p99 {_ms_text(goals['round_trip_p99']['value_ms'])}, goal <= {RT_P99_GOAL_MS:g} ms: "
          f"{_verdict(goals['round_trip_p99']['met'])}")
    lag = goals["fanout_lag_not_growing"]
    print(f"fan-out lag p99 first {_ms_text(lag['first_p99_ms'])}, last {_ms_text(lag['last_p99_ms'])}, goal last <= "
          f"{LAG_GROWTH_FACTOR:g} x first + {LAG_GROWTH_SLACK_MS:g} = {_ms_text(lag['limit_ms'])}: "
          f"{_verdict(lag['met'])}")
    delivered = goals["fanout_delivered"]
    print(f"fan-out delivered {delivered['delivered_pct']:.1f} % of expected, goal >= {100 * DELIVERY_GOAL:g} %: "
          f"{_verdict(delivered['met'])}")


# --- main -------------------------------------------------------------------------------------
async def run_phases(server: harness.DaphneServer, fleet: Fleet, args, redis_pid: int | None) -> dict:
    cpu = CpuMeter(server.process.pid, redis_pid)
    print(f"round trip: {args.warmup_commands} warm-up + {args.commands} commands, one in flight", flush=True)
    round_trip = await measure_round_trip(server, fleet, args, cpu)
    print(f"  p50 {_ms_text(round_trip['p50_ms'])}  p99 {_ms_text(round_trip['p99_ms'])}  timeouts {round_trip['timeouts']}  "
          f"errors {round_trip['errors']}", flush=True)
    # The baseline first: after the platform's fan-out the server may still be working off a backlog.
    print(f"baseline: redis pub/sub, {args.robots} publishers at {args.hz:g} Hz -> {args.watchers} subscribers for "
          f"{args.duration:g} s", flush=True)
    baseline = await measure_pubsub_baseline(os.environ["REDIS_URL"], fleet, args, cpu)
    print(f"  delivered {baseline['delivered']} of {baseline['expected']} ({baseline['delivered_pct']:.1f} %), "
          f"{baseline['delivered_per_s']:.0f} msgs/s", flush=True)
    print(f"fan-out: {args.robots} robots at {args.hz:g} Hz -> {args.watchers} watchers for {args.duration:g} s",
          flush=True)
    fanout, probes = await measure_fanout(server, fleet, args, cpu)
    print(f"  delivered {fanout['delivered']} of {fanout['expected']} ({fanout['delivered_pct']:.1f} %), "
          f"{fanout['delivered_per_s']:.0f} msgs/s", flush=True)
    return {"round_trip": round_trip, "round_trip_during_fanout": probes, "fanout": fanout, "baseline": baseline}


def main(argv=None) -> int:
    args = parse_args(argv)
    database = prepare_database(args.settings)
    # As in the test settings: nothing runs collectstatic for a benchmark.
    warnings.filterwarnings("ignore", message="No directory at", category=UserWarning)
    # Set-up only (popped before the server starts): the editor's invitation email is sent in
    # process instead of being queued for a Celery worker that does not run here.
    set_up_only = {"CELERY_TASK_ALWAYS_EAGER": "1", "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend"}
    harness.setup_django(args.settings, **set_up_only)
    for name in set_up_only:
        os.environ.pop(name, None)
    logging.getLogger("celery").setLevel(logging.WARNING)
    from django.db import connections

    print(f"settings: {args.settings}; database: {database}; registering {args.robots} robots", flush=True)
    fleet = prepare_fleet(args.robots)
    connections.close_all()
    redis_pid = redis_server_pid(os.environ["REDIS_URL"])
    # A channel-layer prefix of its own: channels-redis keeps group members for a day, so the sockets
    # of an earlier run whose server was stopped before they disconnected would still be sent to.
    layer_prefix = f"bench-robots-{uuid.uuid4().hex[:8]}"
    server_env = {"ROBOT_STATE_PUBLISH_HZ": f"{args.publish_hz:g}", "CHANNEL_LAYER_PREFIX": layer_prefix}
    log_path = harness.BENCH_VAR_DIR / "robots-daphne.log"
    try:
        with harness.DaphneServer(settings_module=args.settings, env=server_env, log_path=log_path,
                                  daphne_args=DAPHNE_ARGS) as server:
            print(f"server {server.url} (pid {server.process.pid}), ROBOT_STATE_PUBLISH_HZ={args.publish_hz:g}, "
                  f"channel layer prefix {layer_prefix}", flush=True)
            results = asyncio.run(run_phases(server, fleet, args, redis_pid))
    finally:
        forget_keys(os.environ["REDIS_URL"], layer_prefix)
    # channels-redis drops a group message for a channel whose queue is full, and says so at INFO.
    results["fanout"]["layer_over_capacity_logs"] = log_path.read_text(errors="replace").count("over capacity")

    round_trip, probes = results["round_trip"], results["round_trip_during_fanout"]
    fanout, baseline = results["fanout"], results["baseline"]
    goals = goal_verdicts(round_trip, fanout)
    ratio = fanout["delivered_per_s"] / baseline["delivered_per_s"] if baseline["delivered_per_s"] else 0.0
    print_report(round_trip, probes, fanout, baseline, goals, ratio)

    if args.json:
        written = harness.write_json(args.json, {
            "benchmark": "robots", "database": database, "options": {k: str(v) for k, v in vars(args).items()},
            **results, "ratio_platform_to_pubsub": round(ratio, 4), "goals": goals,
        })
        print(f"\nJSON: {written}")
    failures = [f"round trip: {e}" for e in round_trip["first_errors"]]
    if fanout["agent_errors"]:
        failures.append(f"the server answered {fanout['agent_errors']} agent messages with an error, e.g. "
                        f"{fanout['first_agent_errors'][:1]}")
    if failures:
        print("\nThe run failed, the figures are not valid:\n  " + "\n  ".join(failures))
        return 1
    if args.check and not all(goal["met"] for goal in goals.values()):
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())

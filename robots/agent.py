"""A simulated robot and its agent: connects to the platform's robot socket, executes commands and
streams its state (protocol: docs/robot-protocol.md).

Runs on the robot side, so it imports no Django: only the standard library and `websockets`.

    python -m robots.agent --url ws://127.0.0.1:8000/ws/v1/robots/agent/ --credential <key_id>.<secret>

`SimulatedRobot` is the pure model (joints, limits, velocity-limited motion, modes, battery);
`Agent` owns the connection: one task reads the socket, one writes it, one samples the state, and
each motion command runs as its own task, so a long move never delays reading the next command and
a stop or an emergency stop can cancel it at once.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import math
import os
import random
import signal
import sys
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI

logger = logging.getLogger("robots.agent")

MODES = ("idle", "teleop", "autonomous", "maintenance")
ESTOP = "estop"
DEFAULT_MAX_VELOCITY = 1.0  # rad/s, for a joint whose spec names none

# Battery drain per second of wall-clock time: about 10 h standing, about 2 h moving.
BATTERY_IDLE_DRAIN_PER_S = 1 / 36_000
BATTERY_MOVING_DRAIN_PER_S = 1 / 7_200

PHYSICS_HZ = 50.0
PROGRESS_INTERVAL_S = 0.2  # at most 5 progress messages a second per command
DEFAULT_SKILL_SECONDS = 2.0  # a skill or episode sent without a trajectory
WELCOME_TIMEOUT_S = 10.0
FLUSH_TIMEOUT_S = 1.0
RECONNECT_INITIAL_S = 0.5
RECONNECT_MAX_S = 10.0
RECENT_RESULTS_KEPT = 256

# Close codes that no retry can fix: the agent exits (status 2) instead of reconnecting forever.
FATAL_CLOSE_CODES = {
    4401: "the platform rejected the robot credential (close 4401); check --credential or regenerate it",
    4403: "the platform refused this robot (close 4403)",
}

MOTION_COMMANDS = ("move_joints", "play_skill", "replay_episode")
STOPPED = "stopped"
EMERGENCY_STOPPED = "emergency_stop"
SHUTTING_DOWN = "agent shutting down"


class RobotError(Exception):
    """A command the robot cannot carry out; its message becomes the command's error."""


class CredentialRejected(Exception):
    """The server closed the socket with a code that reconnecting cannot fix (4401, 4403)."""

    def __init__(self, code: int, reason: str = ""):
        self.code = code
        message = FATAL_CLOSE_CODES.get(code, f"the platform closed the connection with code {code}")
        super().__init__(f"{message}{f': {reason}' if reason else ''}")


# --- the simulated robot ----------------------------------------------------------------------
@dataclass(frozen=True)
class JointSpec:
    name: str
    min: float
    max: float
    max_velocity: float = DEFAULT_MAX_VELOCITY

    @classmethod
    def from_dict(cls, raw: Mapping) -> JointSpec:
        """A joint from the robot model's spec: `{"name", "min", "max", "max_velocity"?}`."""
        try:
            name = str(raw["name"])
            low, high = float(raw["min"]), float(raw["max"])
            velocity = float(raw.get("max_velocity") or DEFAULT_MAX_VELOCITY)
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"bad joint spec {raw!r}: {exc}") from exc
        if not (math.isfinite(low) and math.isfinite(high) and low <= high):
            raise ValueError(f"joint {name}: limits [{low}, {high}] are not a finite range")
        if not (math.isfinite(velocity) and velocity > 0):
            raise ValueError(f"joint {name}: max_velocity must be positive, not {velocity}")
        return cls(name, low, high, velocity)

    def clamp(self, value: float) -> float:
        return min(self.max, max(self.min, value))


class SimulatedRobot:
    """Joint positions that move toward targets no faster than each joint's max velocity (times
    `speed_scale`), a mode and a battery. Advanced by `step(dt)`; no I/O, no clock of its own."""

    def __init__(self, joints: Iterable[JointSpec | Mapping] = (), *, speed_scale: float = 1.0,
                 battery: float = 1.0):
        if not speed_scale > 0:
            raise ValueError("speed_scale must be positive")
        self.speed_scale = float(speed_scale)
        self.mode = "idle"
        self.battery = float(battery)
        self.joints: dict[str, JointSpec] = {}
        self.positions: dict[str, float] = {}
        self._targets: dict[str, float] = {}
        self._velocities: dict[str, float] = {}  # rad/s of the current move, already scaled
        self.configure(joints)

    def configure(self, joints: Iterable[JointSpec | Mapping]) -> None:
        """Adopt a joint spec (from the welcome message). Joints that stay keep their position,
        clamped into the new limits; new joints start at 0, or the nearest limit. Motion stops."""
        specs = [joint if isinstance(joint, JointSpec) else JointSpec.from_dict(joint) for joint in joints]
        self.joints = {spec.name: spec for spec in specs}
        self.positions = {name: spec.clamp(self.positions.get(name, 0.0)) for name, spec in self.joints.items()}
        self.stop()

    def max_speed(self, joint: str) -> float:
        return self.joints[joint].max_velocity * self.speed_scale

    def set_targets(self, positions: Mapping[str, float], *, duration: float | None = None) -> dict[str, float]:
        """Start moving the named joints toward `positions`, clamped to their limits; the clamped
        targets. With `duration`, joints slow down so that all arrive together after `duration`
        seconds (divided by `speed_scale`), unless their max velocity makes that impossible."""
        if self.mode == ESTOP:
            raise RobotError("emergency stop is active; set a mode to resume")
        unknown = sorted(set(positions) - set(self.joints))
        if unknown:
            raise RobotError(f"unknown joint(s): {', '.join(unknown)}")
        targets = {}
        for name, value in positions.items():
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                raise RobotError(f"{name}: position must be a finite number")
            targets[name] = self.joints[name].clamp(float(value))
        for name, target in targets.items():
            speed = self.max_speed(name)
            distance = abs(target - self.positions[name])
            if duration and duration > 0 and distance > 0:
                speed = min(speed, distance / duration * self.speed_scale)
            self._targets[name] = target
            self._velocities[name] = speed
        return targets

    def step(self, dt: float) -> None:
        """Advance the simulation by `dt` seconds."""
        if dt <= 0:
            return
        moving = False
        for name, target in self._targets.items():
            position = self.positions[name]
            if position == target:
                continue
            reach = self._velocities.get(name, self.max_speed(name)) * dt
            delta = target - position
            self.positions[name] = target if abs(delta) <= reach else position + math.copysign(reach, delta)
            moving = True
        drain = BATTERY_MOVING_DRAIN_PER_S if moving else BATTERY_IDLE_DRAIN_PER_S
        self.battery = max(0.0, self.battery - drain * dt)

    def remaining_distance(self) -> float:
        """Radians still to travel, summed over the joints."""
        return sum(abs(target - self.positions[name]) for name, target in self._targets.items())

    def at_target(self) -> bool:
        return all(self.positions[name] == target for name, target in self._targets.items())

    def stop(self) -> None:
        """Halt where the robot is. The simulation has no inertia, so a smooth stop and an
        immediate one look the same; `emergency_stop` differs by also locking the robot."""
        self._targets = dict(self.positions)
        self._velocities = {}

    def emergency_stop(self) -> None:
        """Halt at once and enter `estop`: motion is refused until a mode is set."""
        self.stop()
        self.mode = ESTOP

    def set_mode(self, mode: str) -> None:
        """Switch mode; setting any mode also leaves an emergency stop."""
        if mode not in MODES:
            raise RobotError(f"unknown mode {mode!r}; expected one of {', '.join(MODES)}")
        self.mode = mode

    def snapshot(self) -> dict:
        """The state as the protocol reports it (without `seq`)."""
        return {
            "joints": {name: round(value, 6) for name, value in self.positions.items()},
            "battery": round(self.battery, 5),
            "mode": self.mode,
        }


def reconnect_delay(attempt: int, *, rng: random.Random | None = None) -> float:
    """Seconds to wait before reconnect attempt `attempt` (0-based): 0.5 s doubling up to 10 s,
    with jitter (half to all of it) so a fleet that lost the server does not return in lockstep."""
    base = min(RECONNECT_MAX_S, RECONNECT_INITIAL_S * 2 ** min(attempt, 16))
    return base * (0.5 + 0.5 * (rng or random).random())


# --- the connection ---------------------------------------------------------------------------
class _Outbox:
    """Messages waiting for the socket: control messages (ack, progress, result, pong) in order and
    always first, then only the newest state sample, so telemetry never queues ahead of a command
    reply and a slow socket drops stale state instead of piling it up. `seq` is given at send
    time, so it rises by one per state message actually sent."""

    def __init__(self) -> None:
        self._control: deque[dict] = deque()
        self._state: dict | None = None
        self._ready = asyncio.Event()
        self.next_seq = 0

    def put(self, message: dict) -> None:
        self._control.append(message)
        self._ready.set()

    def put_state(self, snapshot: dict) -> None:
        self._state = snapshot
        self._ready.set()

    def has_control(self) -> bool:
        return bool(self._control)

    async def next(self) -> dict:
        while True:
            if self._control:
                return self._control.popleft()
            if self._state is not None:
                snapshot, self._state = self._state, None
                message = {"type": "state", "seq": self.next_seq, **snapshot}
                self.next_seq += 1
                return message
            self._ready.clear()
            await self._ready.wait()


class Agent:
    """Connects a `SimulatedRobot` to the platform and keeps it connected until `stop_event`."""

    def __init__(self, url: str, credential: str, *, state_hz: float = 10.0, speed_scale: float = 1.0,
                 robot: SimulatedRobot | None = None, rng: random.Random | None = None):
        if not state_hz > 0:
            raise ValueError("state_hz must be positive")
        self.url = url
        self.credential = credential
        self.state_interval = 1.0 / state_hz
        self.robot = robot or SimulatedRobot(speed_scale=speed_scale)
        self.robot_info: dict = {}
        self.connections = 0
        self._rng = rng or random.Random()
        self._outbox: _Outbox | None = None
        self._motion: dict[int, asyncio.Task] = {}
        self._cancel_reasons: dict[int, str] = {}
        self._motion_lock = asyncio.Lock()  # motion commands run one at a time, in arrival order
        self._recent_results: OrderedDict[int, dict] = OrderedDict()
        self._stop = asyncio.Event()

    @property
    def key_id(self) -> str:
        return self.credential.partition(".")[0]  # never log the secret

    async def run(self, stop_event: asyncio.Event | None = None) -> None:
        """Connect, serve, reconnect with backoff; return when `stop_event` is set. Raises
        `CredentialRejected` when the server refuses the credential."""
        if stop_event is not None:
            self._stop = stop_event
        physics = asyncio.create_task(self._physics_loop(), name="agent-physics")
        attempt = 0
        try:
            while not self._stop.is_set():
                welcomed_before = self.connections
                try:
                    await self._session()  # CredentialRejected goes up: retrying cannot fix it
                except (OSError, TimeoutError, InvalidHandshake, ConnectionClosed, ValueError) as exc:
                    logger.warning("connection to %s failed: %s", self.url, exc or type(exc).__name__)
                if self._stop.is_set():
                    break
                if self.connections > welcomed_before:
                    attempt = 0  # the server welcomed us: the next outage starts again from 0.5 s
                delay = reconnect_delay(attempt, rng=self._rng)
                attempt += 1
                logger.info("reconnecting in %.1f s", delay)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), delay)
        finally:
            physics.cancel()
            await asyncio.gather(physics, return_exceptions=True)
        logger.info("agent stopped")

    async def _physics_loop(self) -> None:
        loop = asyncio.get_running_loop()
        last = loop.time()
        while True:
            await asyncio.sleep(1.0 / PHYSICS_HZ)
            now = loop.time()
            self.robot.step(now - last)
            last = now

    async def _session(self) -> None:
        """One connection, from handshake to close; `connections` counts those welcomed."""
        headers = {"Authorization": f"Bearer {self.credential}"}
        logger.info("connecting to %s as %s", self.url, self.key_id)
        async with connect(self.url, additional_headers=headers, user_agent_header="robots-sim-agent/1",
                           open_timeout=WELCOME_TIMEOUT_S) as ws:
            try:
                raw = await asyncio.wait_for(ws.recv(), WELCOME_TIMEOUT_S)
            except ConnectionClosed:
                _raise_if_fatal(ws)
                raise
            welcome = _decode(raw)
            if welcome is None or welcome.get("type") != "welcome":
                raise ValueError(f"expected a welcome message, got {raw!r:.200}")
            self._on_welcome(welcome)
            self.connections += 1
            self._outbox = _Outbox()
            await self._serve(ws)

    async def _serve(self, ws: ClientConnection) -> None:
        workers = [
            asyncio.create_task(self._read(ws), name="agent-read"),
            asyncio.create_task(self._write(ws), name="agent-write"),
            asyncio.create_task(self._sample_state(), name="agent-state"),
        ]
        stopping = asyncio.create_task(self._stop.wait())
        try:
            done, _ = await asyncio.wait([*workers, stopping], return_when=asyncio.FIRST_COMPLETED)
            if stopping in done:
                # Shutting down while connected: running commands end `failed` and their results
                # get a moment to go out before the socket closes normally.
                await self._cancel_motion(SHUTTING_DOWN)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._flush(), FLUSH_TIMEOUT_S)
            for task in done:
                if task is not stopping and not task.cancelled() and task.exception() is not None:
                    raise task.exception()
        finally:
            # Without a link nobody can stop the robot: halt it and drop what was running. The
            # server fails commands that were in flight, and re-sends pending ones on reconnect.
            await self._cancel_motion(None)
            self.robot.stop()
            stopping.cancel()
            for task in workers:
                task.cancel()
            await asyncio.gather(*workers, stopping, return_exceptions=True)
            self._outbox = None

    async def _flush(self) -> None:
        while self._outbox is not None and self._outbox.has_control():
            await asyncio.sleep(0.01)

    async def _read(self, ws: ClientConnection) -> None:
        try:
            async for raw in ws:
                message = _decode(raw)
                if message is None:
                    logger.warning("ignoring a message that is not a JSON object: %r", raw[:200])
                    continue
                try:
                    self._on_message(message)
                except Exception:  # one bad message must not take the connection down
                    logger.exception("failed to handle %r", message)
        except ConnectionClosed:
            pass
        _raise_if_fatal(ws)
        logger.warning("connection closed (code %s %s)", ws.close_code, ws.close_reason or "")

    async def _write(self, ws: ClientConnection) -> None:
        while True:
            message = await self._outbox.next()
            await ws.send(json.dumps(message, separators=(",", ":")))

    async def _sample_state(self) -> None:
        loop = asyncio.get_running_loop()
        due = loop.time()
        while True:
            self._outbox.put_state(self.robot.snapshot())
            due = max(due + self.state_interval, loop.time())
            await asyncio.sleep(due - loop.time())

    def _send(self, message: dict) -> None:
        if self._outbox is not None:
            self._outbox.put(message)

    # --- messages from the server -------------------------------------------------------------
    def _on_welcome(self, welcome: dict) -> None:
        robot = welcome.get("robot") or {}
        model = robot.get("model") or {}
        self.robot.configure(model.get("joints") or [])
        self.robot_info = robot
        logger.info("welcomed as %s (serial %s, model %s, %d joints); %s pending command(s)",
                    robot.get("name"), robot.get("serial"), model.get("slug"), len(self.robot.joints),
                    welcome.get("pending", 0))

    def _on_message(self, message: dict) -> None:
        kind = message.get("type")
        if kind == "command":
            self._on_command(message.get("command"))
        elif kind == "ping":
            self._send({"type": "pong", "id": message.get("id")})
        elif kind == "error":
            logger.warning("server error %s: %s", message.get("code"), message.get("message"))
        elif kind == "welcome":
            self._on_welcome(message)
        elif kind != "pong":
            logger.debug("ignoring message of type %r", kind)

    def _on_command(self, command) -> None:
        command_id = command.get("id") if isinstance(command, dict) else None
        if isinstance(command_id, bool) or not isinstance(command_id, int):
            logger.warning("ignoring a command without an integer id: %r", command)
            return
        kind = command.get("type")
        params = command.get("params") if isinstance(command.get("params"), dict) else {}
        logger.info("command %s: %s %s", command_id, kind, params)
        if kind == "emergency_stop":
            # Halt before anything else, even before the ack goes out.
            self.robot.emergency_stop()
            cancelled = self._cancel_motion_now(EMERGENCY_STOPPED)
            self._send({"type": "ack", "command_id": command_id})
            self._finish(command_id, "completed", {"mode": ESTOP, "cancelled": cancelled})
            return
        self._send({"type": "ack", "command_id": command_id})
        if command_id in self._recent_results:
            # Already done (the result may have been lost with a connection): answer, do not redo.
            self._send(self._recent_results[command_id])
        elif command_id in self._motion:
            pass  # already running; its result will follow
        elif kind == "stop":
            self.robot.stop()
            self._finish(command_id, "completed", {"cancelled": self._cancel_motion_now(STOPPED)})
        elif kind == "set_mode":
            try:
                self.robot.set_mode(params.get("mode"))
            except RobotError as exc:
                self._finish(command_id, "failed", {"mode": self.robot.mode}, str(exc))
            else:
                self._finish(command_id, "completed", {"mode": self.robot.mode})
        elif kind in MOTION_COMMANDS:
            task = asyncio.create_task(self._run_motion(command_id, kind, params), name=f"command-{command_id}")
            self._motion[command_id] = task
        else:
            self._finish(command_id, "failed", None, f"unknown command type {kind!r}")

    def _finish(self, command_id: int, status: str, result: dict | None, error: str = "") -> None:
        message = {"type": "result", "command_id": command_id, "status": status, "result": result,
                   "error": error[:500]}
        self._recent_results[command_id] = message
        while len(self._recent_results) > RECENT_RESULTS_KEPT:
            self._recent_results.popitem(last=False)
        logger.info("command %s %s%s", command_id, status, f": {error}" if error else "")
        self._send(message)

    def _cancel_motion_now(self, reason: str | None) -> list[int]:
        """Cancel every running or waiting motion command; the ids. With a reason each one ends
        `failed` with it; without (connection lost) they end silently."""
        cancelled = []
        for command_id, task in list(self._motion.items()):
            if not task.done():
                if reason is not None:
                    self._cancel_reasons[command_id] = reason
                task.cancel()
                cancelled.append(command_id)
        return cancelled

    async def _cancel_motion(self, reason: str | None) -> None:
        tasks = list(self._motion.values())
        self._cancel_motion_now(reason)
        await asyncio.gather(*tasks, return_exceptions=True)

    # --- motion -------------------------------------------------------------------------------
    async def _run_motion(self, command_id: int, kind: str, params: dict) -> None:
        try:
            async with self._motion_lock:
                progress = self._progress_reporter(command_id)
                if kind == "move_joints":
                    result = await self._move_joints(params, progress)
                else:
                    result = await self._play_trajectory(kind, params, progress)
                progress(1.0, force=True)
        except asyncio.CancelledError:
            reason = self._cancel_reasons.pop(command_id, None)
            if reason is None:
                raise
            self._finish(command_id, "failed", {"positions": self.robot.snapshot()["joints"]}, reason)
        except RobotError as exc:
            self._finish(command_id, "failed", None, str(exc))
        else:
            self._finish(command_id, "completed", result)
        finally:
            self._motion.pop(command_id, None)
            self._cancel_reasons.pop(command_id, None)

    def _progress_reporter(self, command_id: int) -> Callable[..., None]:
        loop = asyncio.get_running_loop()
        last = {"at": loop.time(), "value": 0.0}

        def report(value: float, *, force: bool = False) -> None:
            value = round(min(1.0, max(0.0, value)), 3)
            now = loop.time()
            if force or (value != last["value"] and now - last["at"] >= PROGRESS_INTERVAL_S):
                last.update(at=now, value=value)
                self._send({"type": "progress", "command_id": command_id, "progress": value})

        return report

    async def _arrive(self, report: Callable[[float], None] | None = None) -> None:
        """Wait until every joint reaches its target, reporting the share of the way covered."""
        start = self.robot.remaining_distance()
        while not self.robot.at_target():
            await asyncio.sleep(1.0 / PHYSICS_HZ)
            if report is not None and start > 0:
                report(1.0 - self.robot.remaining_distance() / start)

    async def _move_joints(self, params: dict, report: Callable[[float], None]) -> dict:
        positions = params.get("positions")
        if not isinstance(positions, dict) or not positions:
            raise RobotError("positions must be a non-empty object of joint name to radians")
        duration = params.get("duration")
        if duration is not None and (isinstance(duration, bool) or not isinstance(duration, (int, float))):
            raise RobotError("duration must be a number of seconds")
        targets = self.robot.set_targets(positions, duration=duration)
        await self._arrive(report)
        return {"positions": {name: round(self.robot.positions[name], 6) for name in targets}}

    async def _play_trajectory(self, kind: str, params: dict, report: Callable[[float], None]) -> dict:
        """Approach the first waypoint, then follow the rest on their clock (sped up by
        `speed_scale`); without a trajectory, pretend for DEFAULT_SKILL_SECONDS."""
        id_key = "skill_id" if kind == "play_skill" else "episode_id"
        result = {id_key: params.get(id_key)}
        waypoints = _parse_trajectory(params.get("trajectory"))
        loop = asyncio.get_running_loop()
        if not waypoints:
            if self.robot.mode == ESTOP:
                raise RobotError("emergency stop is active; set a mode to resume")
            seconds = DEFAULT_SKILL_SECONDS / self.robot.speed_scale
            start = loop.time()
            while (elapsed := loop.time() - start) < seconds:
                report(elapsed / seconds)
                await asyncio.sleep(min(1.0 / PHYSICS_HZ, seconds - elapsed))
            return {**result, "waypoints": 0}
        first_t, first_positions = waypoints[0]
        self.robot.set_targets(first_positions)
        await self._arrive()
        total = waypoints[-1][0] - first_t
        start = loop.time()
        for (previous_t, _), (t, positions) in zip(waypoints, waypoints[1:], strict=False):
            self.robot.set_targets(positions, duration=t - previous_t)
            due = start + (t - first_t) / self.robot.speed_scale
            while loop.time() < due:
                await asyncio.sleep(min(1.0 / PHYSICS_HZ, due - loop.time()))
                report((loop.time() - start) * self.robot.speed_scale / total)
        await self._arrive()  # a velocity-limited joint may lag the last waypoint
        return {**result, "waypoints": len(waypoints), "positions": self.robot.snapshot()["joints"]}


def _parse_trajectory(raw) -> list[tuple[float, dict]]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise RobotError("trajectory must be a list of {t, positions}")
    waypoints = []
    for point in raw:
        if not isinstance(point, dict) or not isinstance(point.get("positions"), dict):
            raise RobotError("each trajectory point needs t and positions")
        t = point.get("t", 0.0)
        if isinstance(t, bool) or not isinstance(t, (int, float)) or not math.isfinite(t):
            raise RobotError("trajectory t must be a number of seconds")
        waypoints.append((float(t), point["positions"]))
    return sorted(waypoints, key=lambda point: point[0])


def _decode(raw) -> dict | None:
    if isinstance(raw, bytes):
        return None
    try:
        message = json.loads(raw)
    except ValueError:
        return None
    return message if isinstance(message, dict) else None


def _raise_if_fatal(ws: ClientConnection) -> None:
    if ws.close_code in FATAL_CLOSE_CODES:
        raise CredentialRejected(ws.close_code, ws.close_reason or "")


async def run_agent(url: str, credential: str, *, state_hz: float = 10.0, speed_scale: float = 1.0,
                    stop_event: asyncio.Event | None = None) -> None:
    """Run a simulated robot's agent until `stop_event` is set (forever without one). Raises
    `CredentialRejected` when the server refuses the credential."""
    agent = Agent(url, credential, state_hz=state_hz, speed_scale=speed_scale)
    await agent.run(stop_event)


# --- command line -----------------------------------------------------------------------------
def _positive_float(text: str) -> float:
    value = float(text)
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"must be a positive number, not {text}")
    return value


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m robots.agent",
                                     description="Run a simulated robot connected to the platform.")
    parser.add_argument("--url", required=True, help="the agent socket, e.g. ws://127.0.0.1:8000/ws/v1/robots/agent/")
    parser.add_argument("--credential", default=os.environ.get("ROBOT_AGENT_CREDENTIAL"),
                        help="the robot credential <key_id>.<secret> (default: $ROBOT_AGENT_CREDENTIAL, "
                             "which keeps it out of the process list)")
    parser.add_argument("--state-hz", type=_positive_float, default=10.0, help="state messages per second (10)")
    parser.add_argument("--speed-scale", type=_positive_float, default=1.0,
                        help="multiplies joint velocities and trajectory playback speed (1.0)")
    parser.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    return parser


async def _run_until_signalled(args: argparse.Namespace) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    installed = []
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):  # not on Windows' loop
            loop.add_signal_handler(signum, stop.set)
            installed.append(signum)
    try:
        await run_agent(args.url, args.credential, state_hz=args.state_hz, speed_scale=args.speed_scale,
                        stop_event=stop)
    finally:
        for signum in installed:
            loop.remove_signal_handler(signum)


def main(argv: list[str] | None = None) -> int:
    """The command line; the process exit status (2: bad arguments or a rejected credential)."""
    parser = _parser()
    args = parser.parse_args(argv)
    if not args.credential:
        parser.error("--credential (or $ROBOT_AGENT_CREDENTIAL) is required")
    logging.basicConfig(stream=sys.stderr, level=args.log_level,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        asyncio.run(_run_until_signalled(args))
    except CredentialRejected as exc:
        logger.error("giving up: %s", exc)
        return 2
    except InvalidURI as exc:
        logger.error("bad --url: %s", exc)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The robot agent socket, `/ws/v1/robots/agent/` (protocol: docs/robot-protocol.md).

Commands reach the agent through the robot's channel-layer group and are marked `sent` before they
go out, so a command is delivered once even when it is both pending at connect and broadcast.

State reports are cheap to receive, so a flood of telemetry never holds a command back: stale ones
are dropped by sequence number, the rest handed to the process's telemetry publisher
(robots/telemetry.py), which coalesces them and fans them out once a tick, and the newest is
stored at most once a second by a write of its own that nothing waits for. Answers to commands
(`ack`, `progress`, `result`) are one conditional UPDATE each in a worker thread; their events are
sent from here, on the event loop.
"""

import asyncio
import concurrent.futures
import logging
import math
import time
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from rest_framework import serializers

from core.consumers import BaseJsonConsumer, SocketError
from core.events import Outbox
from core.serializers import StrictSerializer

from . import services
from .models import RobotCommand
from .telemetry import publisher

logger = logging.getLogger(__name__)

STATE_PERSIST_SECONDS = 1.0
# Stored states go through a thread of their own, so a state write never sits in the queue of the
# thread that every consumer's other database calls share (an `ack` behind a state write).
_state_writer = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="robot-state")
_store_state = database_sync_to_async(services.store_state, thread_sensitive=False, executor=_state_writer)
SWEEP_SECONDS = 2.0
# How often an agent's socket re-joins its command group and picks up commands still pending: so
# a lost delivery (the channel layer restarted, a broadcast failed) costs seconds, not the command.
MAINTENANCE_SECONDS = 3.0


class CommandRefSerializer(StrictSerializer):
    command_id = serializers.IntegerField(min_value=1)


class ProgressSerializer(CommandRefSerializer):
    progress = serializers.FloatField(min_value=0.0, max_value=1.0)


class ResultSerializer(CommandRefSerializer):
    status = serializers.ChoiceField(choices=[RobotCommand.Status.COMPLETED, RobotCommand.Status.FAILED])
    result = serializers.JSONField(required=False, allow_null=True, default=None)
    error = serializers.CharField(required=False, allow_blank=True, default="", max_length=500)


STATE_STATUSES = ("online", "busy", "error")
MAX_STATE_JOINTS = 128


def _finite(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def validated_state(message: dict) -> dict:
    """A `state` message checked by hand: it is the hot path (up to tens per second per robot),
    where a DRF serializer would cost more than everything else the server does with it."""
    unknown = set(message) - {"type", "seq", "joints", "battery", "mode", "status"}
    if unknown:
        raise SocketError("invalid_message", f"Unknown field(s): {', '.join(sorted(unknown))}.")
    seq, joints = message.get("seq"), message.get("joints")
    if not isinstance(seq, int) or isinstance(seq, bool) or seq < 0:
        raise SocketError("invalid_message", "seq: a non-negative integer is required.")
    if not isinstance(joints, dict) or len(joints) > MAX_STATE_JOINTS:
        raise SocketError("invalid_message", f"joints: an object of at most {MAX_STATE_JOINTS} joint positions.")
    for name, value in joints.items():
        if not _finite(value):
            raise SocketError("invalid_message", f"joints: {name} must be a finite number of radians.")
    battery = message.get("battery")
    if battery is not None and not (_finite(battery) and 0.0 <= battery <= 1.0):
        raise SocketError("invalid_message", "battery: a number between 0 and 1.")
    mode = message.get("mode", "")
    if not isinstance(mode, str) or len(mode) > 32:
        raise SocketError("invalid_message", "mode: a string of at most 32 characters.")
    status = message.get("status")
    if status is not None and status not in STATE_STATUSES:
        raise SocketError("invalid_message", f"status: one of {', '.join(STATE_STATUSES)}.")
    return {"seq": seq, "joints": joints, "battery": battery, "mode": mode, "status": status}


def _credential_from(scope) -> str:
    headers = dict(scope.get("headers", []))
    authorization = headers.get(b"authorization", b"").decode("latin-1")
    if authorization.lower().startswith("bearer "):
        return authorization[7:].strip()
    query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
    return (query.get("credential") or [""])[0]


_sweeper: asyncio.Task | None = None


async def _sweep_forever() -> None:
    """Time out overdue commands and take silent robots offline, from every daphne process that
    hosts agents, so neither depends on one process staying alive (celery beat sweeps too)."""
    while True:
        await asyncio.sleep(SWEEP_SECONDS)
        try:
            await database_sync_to_async(services.mark_silent_robots_offline)()
            await database_sync_to_async(services.expire_overdue_commands)()
        except Exception:  # a failed sweep is retried at the next tick
            logger.exception("command timeout sweep failed")


def _ensure_sweeper() -> None:
    global _sweeper
    if _sweeper is None or _sweeper.done():
        _sweeper = asyncio.get_running_loop().create_task(_sweep_forever())


class RobotAgentConsumer(BaseJsonConsumer):
    message_serializers = {
        "ack": CommandRefSerializer,
        "progress": ProgressSerializer,
        "result": ResultSerializer,
    }

    async def authenticate(self) -> bool:
        self.robot = await database_sync_to_async(services.authenticate_robot)(_credential_from(self.scope))
        return self.robot is not None

    async def on_connect(self):
        robot = self.robot
        self.group = services.robot_group(robot.pk)
        self.last_seq = -1
        self.last_persisted = 0.0
        self.persist_next: tuple[dict, str | None] | None = None
        self.persisting: asyncio.Task | None = None
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self._call(services.robot_connected, robot=robot)
        pending = await database_sync_to_async(services.pending_commands)(robot)
        await self.send_json({
            "type": "welcome",
            "robot": {"id": robot.pk, "name": robot.name, "serial": robot.serial,
                      "model": {"slug": robot.model.slug, "kind": robot.model.kind, "joints": robot.model.joints}},
            "pending": len(pending),
        })
        for command in pending:
            await self._send_command(services.command_message(command))
        _ensure_sweeper()
        self.maintenance = asyncio.get_running_loop().create_task(self._maintain())

    async def _maintain(self) -> None:
        while True:
            await asyncio.sleep(MAINTENANCE_SECONDS)
            try:
                await database_sync_to_async(services.touch_robot)(robot=self.robot)
                await self.channel_layer.group_add(self.group, self.channel_name)
                for command in await database_sync_to_async(services.pending_commands)(self.robot):
                    await self._send_command(services.command_message(command))
            except Exception:  # the channel layer or database is away: try again next tick
                logger.warning("maintenance of robot %s socket failed", self.robot.pk, exc_info=True)

    async def disconnect(self, code):
        if getattr(self, "maintenance", None):
            self.maintenance.cancel()
        if getattr(self, "group", None):
            publisher.discard(self.robot.organization_id, self.robot.pk)
            try:
                await self.channel_layer.group_discard(self.group, self.channel_name)
            finally:
                if self.persisting is not None and not self.persisting.done():
                    await self.persisting  # the last state is stored before the robot goes offline
                # Sent from the database thread, not through this consumer's outbox: daphne cancels
                # a closed socket's application after its close timeout, which could cut the
                # events off half way; a thread finishes what it started.
                await database_sync_to_async(services.robot_disconnected)(robot=self.robot)

    async def _call(self, service, **kwargs):
        """Run a service in the database thread, then send the events it logged from here."""
        outbox = Outbox()
        try:
            return await database_sync_to_async(service)(outbox=outbox, **kwargs)
        finally:
            await outbox.send(self.channel_layer)

    # --- commands: channel layer → agent ------------------------------------------------------
    async def robot_command(self, message):
        await self._send_command(message["command"])

    async def _send_command(self, command: dict) -> None:
        if await database_sync_to_async(services.mark_sent)(robot=self.robot, command_id=command["id"]):
            await self.send_json({"type": "command", "command": command})

    # --- agent → server -----------------------------------------------------------------------
    async def handle_ack(self, data):
        await self._call(services.acknowledge_command, robot=self.robot, command_id=data["command_id"])

    async def handle_progress(self, data):
        await self._call(services.report_progress, robot=self.robot, command_id=data["command_id"],
                         progress=data["progress"])

    async def handle_result(self, data):
        await self._call(services.finish_command, robot=self.robot, command_id=data["command_id"],
                         status=data["status"], result=data["result"], error=data["error"])

    async def dispatch_message(self, message: dict) -> None:
        if message["type"] != "state":
            await super().dispatch_message(message)
            return
        try:
            await self.handle_state(validated_state(message))
        except SocketError as exc:
            await self.send_error(exc.code, exc.message)

    async def handle_state(self, data):
        """Nothing here waits: the publisher only remembers the state, and the once-a-second
        database write runs on its own (at most one in flight per robot)."""
        if data["seq"] <= self.last_seq:
            return  # stale or replayed: the newest state wins
        self.last_seq = data["seq"]
        robot = self.robot
        state = {"joints": data["joints"], "battery": data["battery"], "mode": data["mode"]}
        status = data["status"]
        status_changed = status is not None and status != robot.status
        if status_changed:
            robot.status = status
        now = time.monotonic()
        if status_changed or now - self.last_persisted >= STATE_PERSIST_SECONDS:
            self.last_persisted = now
            self._persist(state, status)
        publisher.put(robot.organization_id, robot.pk, services.state_event_data(robot=robot, state=state))

    def _persist(self, state: dict, status: str | None) -> None:
        waiting = self.persist_next
        if waiting is not None and status is None:
            status = waiting[1]  # a status change still waiting to be written is kept
        self.persist_next = (state, status)
        if self.persisting is None or self.persisting.done():
            self.persisting = asyncio.get_running_loop().create_task(self._write_states())

    async def _write_states(self) -> None:
        while self.persist_next is not None:
            (state, status), self.persist_next = self.persist_next, None
            try:
                await _store_state(robot=self.robot, state=state, status=status)
            except Exception:  # the database is away: the next state (within a second) tries again
                logger.warning("state of robot %s not stored", self.robot.pk, exc_info=True)

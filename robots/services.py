"""Every write in robots: registration and credentials, connections, the command lifecycle, agent
presence and state, and command timeouts. Events go out on the organisation's event stream."""

import math
import secrets
from datetime import timedelta

import argon2
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connections, router, transaction
from django.utils import timezone
from rest_framework.exceptions import NotFound

from accounts import audit
from accounts.models import AuditLog, Organization, User
from core.events import Outbox, publish_org_event, send_to_group
from core.exceptions import Conflict

from .models import Robot, RobotCommand, RobotConnection, RobotModel

_hasher = argon2.PasswordHasher(type=argon2.Type.ID)

MODES = ("idle", "teleop", "autonomous", "maintenance")
EMERGENCY_PRIORITY = 0
NORMAL_PRIORITY = 10


def robot_group(robot_id: int) -> str:
    """The channel-layer group of a robot's agent socket (commands only, never telemetry)."""
    return f"robot.{robot_id}"


# --- catalogue ------------------------------------------------------------------------------
def load_catalogue() -> int:
    """Create or refresh the shipped robot models (robots/catalogue.py); returns how many."""
    from .catalogue import ROBOT_MODELS

    for spec in ROBOT_MODELS:
        RobotModel.objects.update_or_create(slug=spec["slug"], defaults={k: v for k, v in spec.items() if k != "slug"})
    return len(ROBOT_MODELS)


# --- credentials ------------------------------------------------------------------------------
def _new_credential() -> tuple[str, str, str]:
    key_id = secrets.token_hex(8)
    secret = secrets.token_urlsafe(32)
    return key_id, _hasher.hash(secret), f"{key_id}.{secret}"


@transaction.atomic
def register_robot(*, actor: User, organization: Organization, model: RobotModel, name: str, serial: str) -> tuple[Robot, str]:
    """A new robot and its credential (returned once; only its Argon2id hash is kept)."""
    if Robot.objects.filter(organization=organization, serial=serial).exists():
        raise Conflict({"serial": ["A robot with this serial is already registered."]}, code="serial_taken")
    key_id, credential_hash, credential = _new_credential()
    robot = Robot(organization=organization, model=model, name=name, serial=serial, key_id=key_id,
                  credential_hash=credential_hash, created_by=actor)
    robot.full_clean()
    robot.save()
    audit.record(action=AuditLog.Action.CREATE, actor=actor, organization=organization, instance=robot,
                 after=audit.snapshot(robot))
    return robot, credential


@transaction.atomic
def regenerate_credential(*, actor: User, robot: Robot) -> str:
    """Replace the robot's credential; the old one stops working at the next connect."""
    key_id, credential_hash, credential = _new_credential()
    Robot.objects.filter(pk=robot.pk).update(key_id=key_id, credential_hash=credential_hash)
    robot.key_id, robot.credential_hash = key_id, credential_hash
    audit.record(action=AuditLog.Action.UPDATE, actor=actor, organization=robot.organization, instance=robot,
                 after={"credential": "regenerated"})
    return credential


def authenticate_robot(credential: str) -> Robot | None:
    """The robot this credential belongs to, or None."""
    key_id, _, secret = (credential or "").partition(".")
    if not key_id or not secret or len(credential) > 200:
        return None
    robot = Robot.objects.select_related("model", "organization").filter(key_id=key_id).first()
    if robot is None:
        _hasher.hash(secret)  # same cost either way: no timing hint about which key ids exist
        return None
    try:
        _hasher.verify(robot.credential_hash, secret)
    except argon2.exceptions.VerificationError:
        return None
    return robot


# --- connections ------------------------------------------------------------------------------
@transaction.atomic
def open_connection(*, user: User, organization: Organization, robot: Robot) -> RobotConnection:
    User.objects.select_for_update().filter(pk=user.pk).first()  # serialise this user's opens
    open_count = RobotConnection.objects.filter(user=user, status=RobotConnection.Status.OPEN).count()
    if open_count >= settings.MAX_ROBOT_CONNECTIONS:
        raise Conflict(f"You already have {open_count} open robot connections (the limit is "
                       f"{settings.MAX_ROBOT_CONNECTIONS}); close one first.", code="too_many_connections")
    connection = RobotConnection.objects.create(organization=organization, user=user, robot=robot)
    audit.record(action=AuditLog.Action.CREATE, actor=user, organization=organization, instance=connection,
                 after=audit.snapshot(connection))
    return connection


@transaction.atomic
def close_connection(*, user: User, connection: RobotConnection) -> None:
    if connection.status == RobotConnection.Status.CLOSED:
        return
    connection.status = RobotConnection.Status.CLOSED
    connection.closed_at = timezone.now()
    connection.save(update_fields=["status", "closed_at", "updated_at"])
    audit.record(action=AuditLog.Action.UPDATE, actor=user, organization=connection.organization,
                 instance=connection, before={"status": "open"}, after={"status": "closed"})


# --- commands ---------------------------------------------------------------------------------
def _finite_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _only_keys(params: dict, allowed: set[str]) -> None:
    unknown = sorted(set(params) - allowed)
    if unknown:
        raise ValidationError({"params": [f"Unknown parameter(s) for this command: {', '.join(unknown)}."]})


def _positive_id(params: dict, key: str) -> None:
    value = params.get(key)
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise ValidationError({"params": [f"{key} must be a positive integer."]})


def validate_command_params(robot: Robot, command_type: str, params) -> dict:
    """The params of a command, checked against its type and the robot's joints and limits."""
    if command_type not in RobotCommand.Type.values:
        raise ValidationError({"type": [f"Unknown command type {command_type!r}; expected one of "
                                        f"{', '.join(RobotCommand.Type.values)}."]})
    if not isinstance(params, dict):
        raise ValidationError({"params": ["params must be a JSON object."]})
    if command_type == RobotCommand.Type.MOVE_JOINTS:
        _only_keys(params, {"positions", "duration"})
        positions = params.get("positions")
        if not isinstance(positions, dict) or not positions:
            raise ValidationError({"params": ["positions must be a non-empty object of joint name to radians."]})
        limits = robot.model.joint_limits()
        errors = []
        for joint, value in positions.items():
            if joint not in limits:
                errors.append(f"{joint}: no such joint on {robot.model.name} (joints: {', '.join(limits)}).")
            elif not _finite_number(value):
                errors.append(f"{joint}: the position must be a finite number of radians.")
            elif not limits[joint][0] <= value <= limits[joint][1]:
                errors.append(f"{joint}: {value} is outside the limits [{limits[joint][0]}, {limits[joint][1]}].")
        if errors:
            raise ValidationError({"params": errors})
        duration = params.get("duration")
        if duration is not None and not (_finite_number(duration) and 0 < duration <= 60):
            raise ValidationError({"params": ["duration must be between 0 and 60 seconds."]})
    elif command_type in (RobotCommand.Type.STOP, RobotCommand.Type.EMERGENCY_STOP):
        _only_keys(params, set())
    elif command_type == RobotCommand.Type.SET_MODE:
        _only_keys(params, {"mode"})
        if params.get("mode") not in MODES:
            raise ValidationError({"params": [f"mode must be one of {', '.join(MODES)}."]})
    elif command_type == RobotCommand.Type.PLAY_SKILL:
        _only_keys(params, {"skill_id"})
        _positive_id(params, "skill_id")
    elif command_type == RobotCommand.Type.REPLAY_EPISODE:
        _only_keys(params, {"episode_id"})
        _positive_id(params, "episode_id")
    return params


def command_message(command: RobotCommand) -> dict:
    """The command as the agent receives it (docs/robot-protocol.md)."""
    return {"id": command.pk, "type": command.type, "params": command.params, "priority": command.priority,
            "deadline": command.deadline_at.isoformat()}


def _deliver(command: RobotCommand) -> None:
    """Hand a committed command to the agent's socket. Best effort: if the channel layer is down,
    the agent consumer's maintenance loop delivers the still-pending command (once) instead."""
    send_to_group(robot_group(command.robot_id), {"type": "robot.command", "command": command_message(command)})


@transaction.atomic
def send_command(*, actor: User, type: str, params: dict, connection: RobotConnection | None = None,
                 robot: Robot | None = None, queue: bool = False) -> RobotCommand:
    """Validate and record a command, then hand it to the robot's agent once committed.

    A robot that is not connected refuses commands (409) unless `queue` is set; queued commands
    reach the agent when it connects, emergency stops first.

    With a `connection`, its robot is used as loaded (a request loads both at once, see
    selectors.connection_for, with the robot's model and organisation); a `robot` on its own is
    read again.
    """
    if connection is not None:
        if connection.status != RobotConnection.Status.OPEN:
            raise Conflict("This connection is closed; open a new one.", code="connection_closed")
        robot = connection.robot
    elif robot is not None:
        robot = Robot.objects.select_related("model", "organization").get(pk=robot.pk)
    if robot is None:
        raise ValidationError({"connection_id": ["A command needs a connection."]})
    params = validate_command_params(robot, type, params)
    if not robot.is_connected and not queue:
        raise Conflict(f"{robot.name} is {robot.status}; send with \"queue\": true to deliver it when it "
                       "connects.", code="robot_offline")
    now = timezone.now()
    command = RobotCommand.objects.create(
        organization=robot.organization, robot=robot, connection=connection, issued_by=actor, type=type,
        params=params, queued=not robot.is_connected,
        priority=EMERGENCY_PRIORITY if type == RobotCommand.Type.EMERGENCY_STOP else NORMAL_PRIORITY,
        deadline_at=now + timedelta(seconds=settings.ROBOT_COMMAND_TIMEOUT),
    )
    audit.record(action=AuditLog.Action.CREATE, actor=actor, organization=robot.organization, instance=command,
                 after=audit.snapshot(command, ["robot", "type", "params", "queued"]))
    if robot.is_connected:
        transaction.on_commit(lambda: _deliver(command), robust=True)
    return command


def pending_commands(robot: Robot) -> list[RobotCommand]:
    """Commands still waiting for this robot: emergency stops first, then oldest first."""
    return list(RobotCommand.objects.filter(robot=robot, status=RobotCommand.Status.PENDING,
                                            deadline_at__gt=timezone.now()).order_by("priority", "created_at", "id"))


def mark_sent(*, robot: Robot, command_id: int) -> bool:
    return bool(RobotCommand.objects.filter(pk=command_id, robot=robot, status=RobotCommand.Status.PENDING)
                .update(status=RobotCommand.Status.SENT, sent_at=timezone.now(), updated_at=timezone.now()))


def _command_event(command: RobotCommand | dict, event_type: str, outbox: Outbox | None = None, **data) -> None:
    fields = command if isinstance(command, dict) else {
        "organization_id": command.organization_id, "id": command.pk, "robot_id": command.robot_id,
        "type": command.type, "status": command.status}
    publish_org_event(fields["organization_id"], event_type, {
        "command_id": fields["id"], "robot_id": fields["robot_id"], "type": fields["type"],
        "status": fields["status"], **data,
    }, outbox)


_MAX_ID = 2**63 - 1


def _update_command(*, robot: Robot, command_id: int, statuses, values: dict, keep: dict | None = None) -> dict | None:
    """One conditional `UPDATE … WHERE status IN (statuses) RETURNING …` of the robot's command:
    sets `values` (and each field of `keep` that is still NULL). No read before and no explicit
    transaction: the WHERE decides atomically, so of two racing writers (an agent's result, the
    timeout sweep) only the first changes the row, and the other's UPDATE matches nothing.

    Returns the changed command's fields for its event, None when it was not in `statuses`, and
    raises NotFound when the robot has no such command."""
    if not 0 < command_id <= _MAX_ID:
        raise NotFound(f"No command {command_id} for this robot.")
    connection = connections[router.db_for_write(RobotCommand)]
    meta, qn = RobotCommand._meta, connection.ops.quote_name
    assignments, params = [], []
    for name, value in values.items():
        field = meta.get_field(name)
        assignments.append(f"{qn(field.column)} = %s")
        params.append(field.get_db_prep_save(value, connection))
    for name, value in (keep or {}).items():
        field = meta.get_field(name)
        assignments.append(f"{qn(field.column)} = COALESCE({qn(field.column)}, %s)")
        params.append(field.get_db_prep_save(value, connection))
    returning = ["organization_id", "type", "status", "progress"]
    # Only quoted column names from the model go into the text; every value is a parameter.
    sql = (f"UPDATE {qn(meta.db_table)} SET {', '.join(assignments)} "  # noqa: S608
           f"WHERE {qn(meta.pk.column)} = %s AND {qn(meta.get_field('robot').column)} = %s "
           f"AND {qn(meta.get_field('status').column)} IN ({', '.join(['%s'] * len(statuses))}) "
           f"RETURNING {', '.join(qn(meta.get_field(name).column) for name in returning)}")
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, command_id, robot.pk, *(str(status) for status in statuses)])
        row = cursor.fetchone()
    if row is None:
        if not RobotCommand.objects.filter(pk=command_id, robot=robot).exists():
            raise NotFound(f"No command {command_id} for this robot.")
        return None
    return {"id": command_id, "robot_id": robot.pk, **dict(zip(returning, row, strict=True))}


def acknowledge_command(*, robot: Robot, command_id: int, outbox: Outbox | None = None) -> bool:
    """The agent received the command: `acknowledged` (once; later acks change nothing)."""
    now = timezone.now()
    command = _update_command(
        robot=robot, command_id=command_id, statuses=(RobotCommand.Status.PENDING, RobotCommand.Status.SENT),
        values={"status": RobotCommand.Status.ACKNOWLEDGED, "acknowledged_at": now, "updated_at": now},
        keep={"sent_at": now})
    if command is None:
        return False
    transaction.on_commit(lambda: _command_event(command, "command_update", outbox, progress=command["progress"]),
                          robust=True)
    return True


def report_progress(*, robot: Robot, command_id: int, progress: float, outbox: Outbox | None = None) -> bool:
    progress = max(0.0, min(1.0, float(progress)))
    command = _update_command(robot=robot, command_id=command_id, statuses=RobotCommand.ACTIVE_STATUSES,
                              values={"progress": progress, "updated_at": timezone.now()})
    if command is None:
        return False
    transaction.on_commit(lambda: _command_event(command, "command_update", outbox, progress=command["progress"]),
                          robust=True)
    return True


def finish_command(*, robot: Robot, command_id: int, status: str, result=None, error: str = "",
                   outbox: Outbox | None = None) -> bool:
    """Record the agent's result; a command that already ended (e.g. timed out) stays as it is."""
    now = timezone.now()
    error = (error or "")[:500]
    values = {"status": status, "result": result, "error": error, "completed_at": now, "updated_at": now}
    if status == RobotCommand.Status.COMPLETED:
        values["progress"] = 1.0
    command = _update_command(robot=robot, command_id=command_id, statuses=RobotCommand.ACTIVE_STATUSES,
                              values=values)
    if command is None:
        return False
    if status == RobotCommand.Status.COMPLETED:
        transaction.on_commit(lambda: _command_event(command, "command_completed", outbox, result=result), robust=True)
    else:
        transaction.on_commit(lambda: _command_event(command, "command_failed", outbox, error=error), robust=True)
    return True


def _fail_commands(queryset, *, status: str, error: str, outbox: Outbox | None = None) -> int:
    """End each command in `queryset` (rows locked, so two processes never end one twice)."""
    ended = 0
    for command in queryset.select_for_update(skip_locked=True):
        command.status = status
        command.error = error
        command.completed_at = timezone.now()
        command.save(update_fields=["status", "error", "completed_at", "updated_at"])
        transaction.on_commit(lambda command=command: _command_event(command, "command_failed", outbox,
                                                                     error=command.error), robust=True)
        ended += 1
    return ended


# --- presence and state -----------------------------------------------------------------------
def _robot_event(robot: Robot, event_type: str, outbox: Outbox | None = None, **data) -> None:
    publish_org_event(robot.organization_id, event_type, {"robot_id": robot.pk, "name": robot.name,
                                                          "status": robot.status, **data}, outbox)


@transaction.atomic
def robot_connected(*, robot: Robot, outbox: Outbox | None = None) -> None:
    now = timezone.now()
    Robot.objects.filter(pk=robot.pk).update(status=Robot.Status.ONLINE, last_seen_at=now)
    robot.status, robot.last_seen_at = Robot.Status.ONLINE, now
    transaction.on_commit(lambda: _robot_event(robot, "robot_connected", outbox), robust=True)


@transaction.atomic
def robot_disconnected(*, robot: Robot, outbox: Outbox | None = None) -> int:
    """Mark the robot offline; commands it was executing fail (pending ones wait for it)."""
    now = timezone.now()
    Robot.objects.filter(pk=robot.pk).update(status=Robot.Status.OFFLINE, last_seen_at=now)
    robot.status = Robot.Status.OFFLINE
    in_flight = RobotCommand.objects.filter(robot=robot, status__in=[RobotCommand.Status.SENT,
                                                                      RobotCommand.Status.ACKNOWLEDGED])
    failed = _fail_commands(in_flight, status=RobotCommand.Status.FAILED,
                            error="The robot disconnected before the command finished.", outbox=outbox)
    transaction.on_commit(lambda: _robot_event(robot, "robot_disconnected", outbox), robust=True)
    return failed


def store_state(*, robot: Robot, state: dict, status: str | None = None) -> None:
    """Keep the robot's newest reported state (and a status change it reports) in the database.
    The caller rate-limits (once a second); watchers get state through robots.telemetry."""
    now = timezone.now()
    updates = {"last_state": state, "last_state_at": now, "last_seen_at": now}
    if status in (Robot.Status.ONLINE, Robot.Status.BUSY, Robot.Status.ERROR):
        updates["status"] = status
    Robot.objects.filter(pk=robot.pk).update(**updates)


def state_event_data(*, robot: Robot, state: dict) -> dict:
    """The `robot_status_update` event about a robot's newest state."""
    return {"robot_id": robot.pk, "status": robot.status, "state": state, "at": timezone.now().isoformat()}


def touch_robot(*, robot: Robot) -> None:
    """The agent's socket is alive (its consumer calls this every few seconds)."""
    Robot.objects.filter(pk=robot.pk).update(last_seen_at=timezone.now())


def mark_silent_robots_offline() -> int:
    """Robots marked connected whose socket stopped reporting (its server process died without
    running its disconnect) go offline, and what they were executing fails."""
    cutoff = timezone.now() - timedelta(seconds=settings.ROBOT_OFFLINE_AFTER)
    silent = Robot.objects.filter(status__in=[Robot.Status.ONLINE, Robot.Status.BUSY], last_seen_at__lt=cutoff)
    count = 0
    for robot in silent.select_related("organization"):
        robot_disconnected(robot=robot)
        count += 1
    return count


# --- timeouts ---------------------------------------------------------------------------------
@transaction.atomic
def expire_overdue_commands() -> int:
    """Time out every unfinished command past its deadline; safe to run in many processes."""
    overdue = RobotCommand.objects.filter(status__in=RobotCommand.ACTIVE_STATUSES, deadline_at__lte=timezone.now())
    return _fail_commands(overdue, status=RobotCommand.Status.TIMED_OUT,
                          error=f"No result within {settings.ROBOT_COMMAND_TIMEOUT} s.")

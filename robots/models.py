"""Robot registry and live control: the model catalogue, robots, user connections and commands."""

from django.conf import settings
from django.db import models
from django.db.models import Q

from accounts.tenancy import OrgScopedModel


class RobotModel(models.Model):
    """A kind of robot in the catalogue, with its joint specification (limits in radians)."""

    class Kind(models.TextChoices):
        HUMANOID = "humanoid", "Humanoid"
        ARM = "arm", "Arm"
        HAND = "hand", "Hand"
        MOBILE = "mobile", "Mobile base"

    name = models.CharField(max_length=120, unique=True)
    slug = models.SlugField(max_length=120, unique=True)
    manufacturer = models.CharField(max_length=120)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    description = models.TextField(blank=True)
    # [{"name": "index_mcp", "min": 0.0, "max": 1.57, "max_velocity": 3.0}, ...]
    joints = models.JSONField(default=list)
    capabilities = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def dof(self) -> int:
        return len(self.joints)

    def joint_limits(self) -> dict[str, tuple[float, float]]:
        return {joint["name"]: (float(joint["min"]), float(joint["max"])) for joint in self.joints}


class Robot(OrgScopedModel):
    """A physical unit in an organisation. Its agent signs in with a credential shown once."""

    class Status(models.TextChoices):
        ONLINE = "online", "Online"
        OFFLINE = "offline", "Offline"
        BUSY = "busy", "Busy"
        ERROR = "error", "Error"

    model = models.ForeignKey(RobotModel, on_delete=models.PROTECT, related_name="robots")
    name = models.CharField(max_length=120)
    serial = models.CharField(max_length=120)
    # The credential is "<key_id>.<secret>": key_id finds the row, Argon2id checks the secret.
    key_id = models.CharField(max_length=24, unique=True)
    credential_hash = models.CharField(max_length=200)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OFFLINE, db_index=True)
    last_seen_at = models.DateTimeField(null=True, blank=True)
    last_state = models.JSONField(default=dict, blank=True)
    last_state_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["name", "id"]
        constraints = [models.UniqueConstraint(fields=["organization", "serial"], name="uniq_robot_serial_per_org")]

    def __str__(self) -> str:
        return f"{self.name} ({self.serial})"

    @property
    def is_connected(self) -> bool:
        return self.status in (self.Status.ONLINE, self.Status.BUSY)


class RobotConnection(OrgScopedModel):
    """A user's session with a robot: commands are sent through it."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        CLOSED = "closed", "Closed"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="robot_connections")
    robot = models.ForeignKey(Robot, on_delete=models.CASCADE, related_name="connections")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["user", "status"])]

    def __str__(self) -> str:
        return f"{self.user} → {self.robot} ({self.status})"


class RobotCommand(OrgScopedModel):
    class Type(models.TextChoices):
        MOVE_JOINTS = "move_joints", "Move joints"
        PLAY_SKILL = "play_skill", "Play skill"
        STOP = "stop", "Stop"
        EMERGENCY_STOP = "emergency_stop", "Emergency stop"
        SET_MODE = "set_mode", "Set mode"
        REPLAY_EPISODE = "replay_episode", "Replay episode"

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENT = "sent", "Sent"
        ACKNOWLEDGED = "acknowledged", "Acknowledged"
        COMPLETED = "completed", "Completed"
        FAILED = "failed", "Failed"
        TIMED_OUT = "timed_out", "Timed out"

    ACTIVE_STATUSES = (Status.PENDING, Status.SENT, Status.ACKNOWLEDGED)
    FINAL_STATUSES = (Status.COMPLETED, Status.FAILED, Status.TIMED_OUT)

    robot = models.ForeignKey(Robot, on_delete=models.CASCADE, related_name="commands")
    connection = models.ForeignKey(RobotConnection, null=True, blank=True, on_delete=models.SET_NULL, related_name="commands")
    issued_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    type = models.CharField(max_length=20, choices=Type.choices)
    params = models.JSONField(default=dict, blank=True)
    # Lower runs first: emergency stops (0) jump every queue.
    priority = models.PositiveSmallIntegerField(default=10)
    queued = models.BooleanField(default=False, help_text="Accepted while the robot was offline.")
    status = models.CharField(max_length=15, choices=Status.choices, default=Status.PENDING)
    result = models.JSONField(null=True, blank=True)
    error = models.CharField(max_length=500, blank=True)
    progress = models.FloatField(default=0.0)
    sent_at = models.DateTimeField(null=True, blank=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    deadline_at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["robot", "status", "priority", "created_at"]),
            models.Index(fields=["status", "deadline_at"], name="robotcmd_active_deadline",
                         condition=Q(status__in=["pending", "sent", "acknowledged"])),
        ]

    def __str__(self) -> str:
        return f"{self.type} → {self.robot_id} ({self.status})"

    @property
    def is_final(self) -> bool:
        return self.status in self.FINAL_STATUSES

"""Hand-gesture recording: sessions, their episodes (takes) and frames, labelled gesture spans, and
LeRobot dataset exports.

Frames are stored columnar, one `FrameChunk` row per ingested batch: timestamps as float64 and the
per-frame hand values as one float32 block (layout in training/frames.py), never a row per landmark.
"""

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from accounts.tenancy import OrgScopedModel


class TrainingSession(OrgScopedModel):
    class Status(models.TextChoices):
        RECORDING = "recording", "Recording"
        COMPLETED = "completed", "Completed"
        EXPORTED = "exported", "Exported"
        FAILED = "failed", "Failed"

    class Hand(models.TextChoices):
        LEFT = "left", "Left"
        RIGHT = "right", "Right"

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="training_sessions")
    name = models.CharField(max_length=200)
    task = models.CharField(max_length=500, help_text="What the demonstrations show: the LeRobot task text.")
    robot_model = models.ForeignKey(
        "robots.RobotModel", null=True, blank=True, on_delete=models.PROTECT, related_name="training_sessions",
        help_text="The robot hand the recorded motion is retargeted to (the dataset's action).",
    )
    action_hand = models.CharField(
        max_length=5, choices=Hand.choices, default=Hand.RIGHT,
        help_text="The human hand whose motion drives the robot hand.",
    )
    fps = models.PositiveSmallIntegerField(default=30, validators=[MinValueValidator(1), MaxValueValidator(240)])
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RECORDING, db_index=True)
    # Bumped by every change to what an export contains: an export of the same version is reused.
    data_version = models.PositiveIntegerField(default=0)
    # Running totals over the episodes (kept by services; see stats()).
    episode_count = models.PositiveIntegerField(default=0)
    frame_count = models.PositiveBigIntegerField(default=0)
    duration = models.FloatField(default=0.0, help_text="Seconds, summed over the episodes.")
    hands_present_frames = models.PositiveBigIntegerField(default=0)
    confidence_sum = models.FloatField(default=0.0)
    confidence_count = models.PositiveBigIntegerField(default=0)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["organization", "status", "created_at"])]

    def __str__(self) -> str:
        return self.name

    @property
    def hands_present_ratio(self) -> float:
        return self.hands_present_frames / self.frame_count if self.frame_count else 0.0

    @property
    def mean_confidence(self) -> float:
        return self.confidence_sum / self.confidence_count if self.confidence_count else 0.0

    @property
    def accepts_frames(self) -> bool:
        return self.status == self.Status.RECORDING


class Episode(models.Model):
    """One take: frames with timestamps from its start, appended batch by batch until closed."""

    class Source(models.TextChoices):
        API = "api", "API"
        LIVE = "live", "Live recording"
        VIDEO = "video", "Uploaded video"

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        CLOSED = "closed", "Closed"
        PROCESSING = "processing", "Processing video"
        FAILED = "failed", "Failed"

    session = models.ForeignKey(TrainingSession, on_delete=models.CASCADE, related_name="episodes")
    index = models.PositiveIntegerField()
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.API)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    frame_count = models.PositiveIntegerField(default=0)
    chunk_count = models.PositiveIntegerField(default=0)
    last_timestamp = models.FloatField(null=True, blank=True)
    hands_present_frames = models.PositiveIntegerField(default=0)
    confidence_sum = models.FloatField(default=0.0)
    confidence_count = models.PositiveIntegerField(default=0)
    video = models.FileField(upload_to="training/videos/%Y/%m/", blank=True)
    # MediaPipe normalises x by the picture's width and y by its height: angles need height / width.
    aspect = models.FloatField(default=1.0, help_text="Height / width of the pictures the landmarks come from.")
    progress = models.FloatField(default=0.0)
    error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["session", "index"]
        constraints = [models.UniqueConstraint(fields=["session", "index"], name="uniq_episode_index")]

    def __str__(self) -> str:
        return f"{self.session} #{self.index}"

    @property
    def duration(self) -> float:
        return float(self.last_timestamp or 0.0)


class FrameChunk(models.Model):
    """A batch of consecutive frames of one episode, stored as two binary columns."""

    episode = models.ForeignKey(Episode, on_delete=models.CASCADE, related_name="chunks")
    seq = models.PositiveIntegerField()
    first_frame = models.PositiveIntegerField()
    frame_count = models.PositiveIntegerField()
    timestamps = models.BinaryField()  # float64 little-endian, one per frame
    values = models.BinaryField()  # float32 little-endian, FRAME_VALUES per frame (training/frames.py)

    class Meta:
        ordering = ["episode", "seq"]
        constraints = [models.UniqueConstraint(fields=["episode", "seq"], name="uniq_chunk_seq")]

    def __str__(self) -> str:
        return f"{self.episode_id}: frames {self.first_frame}–{self.first_frame + self.frame_count - 1}"


class GestureData(models.Model):
    """A labelled span of an episode's frames (inclusive)."""

    episode = models.ForeignKey(Episode, on_delete=models.CASCADE, related_name="gestures")
    name = models.CharField(max_length=100)
    start_frame = models.PositiveIntegerField()
    end_frame = models.PositiveIntegerField()
    confidence = models.FloatField(default=1.0, validators=[MinValueValidator(0.0), MaxValueValidator(1.0)])
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["episode", "start_frame", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(end_frame__gte=models.F("start_frame")), name="gesture_span_ordered"),
        ]

    def __str__(self) -> str:
        return f"{self.name} [{self.start_frame}–{self.end_frame}]"


class DatasetExport(OrgScopedModel):
    """A LeRobot dataset built from one version of a session, packed as a zip archive in storage."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        COMPLETED = "completed", "Completed"
        FAILED = "failed", "Failed"

    session = models.ForeignKey(TrainingSession, on_delete=models.CASCADE, related_name="exports")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="+")
    data_version = models.PositiveIntegerField()
    include_video = models.BooleanField(default=False)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED, db_index=True)
    progress = models.FloatField(default=0.0)
    stage = models.CharField(max_length=40, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    archive = models.FileField(upload_to="training/exports/", blank=True, max_length=300)
    archive_size = models.PositiveBigIntegerField(default=0)
    episode_count = models.PositiveIntegerField(default=0)
    frame_count = models.PositiveBigIntegerField(default=0)
    info = models.JSONField(default=dict, blank=True, help_text="The dataset's meta/info.json.")
    error = models.CharField(max_length=500, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["session", "data_version", "include_video"],
                                    condition=~Q(status="failed"), name="uniq_live_export_per_version"),
        ]

    def __str__(self) -> str:
        return f"LeRobot export #{self.pk} of {self.session_id} ({self.status})"

"""Posture and yoga: the pose catalogue (editable by staff), practice sessions with the poses held,
and posture analyses of videos. Practice sessions and analyses belong to a person, not an
organisation: another user's are invisible (404)."""

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models


class YogaPose(models.Model):
    """A pose with its target joint angles (degrees) and tolerances, as `posture/yoga.py` scores them."""

    slug = models.SlugField(max_length=60, unique=True)
    name = models.CharField(max_length=80, unique=True)
    sanskrit = models.CharField(max_length=80, blank=True)
    difficulty = models.CharField(max_length=20, blank=True)
    description = models.TextField(blank=True)
    instructions = models.JSONField(default=list, blank=True)
    common_mistakes = models.JSONField(default=list, blank=True)
    benefits = models.JSONField(default=list, blank=True)
    # {"left_knee": [target, tolerance] or [target, tolerance, weight], ...} in degrees; a pose with
    # sides is given for its left side (what "left" means: `side_refers_to`, e.g. "front leg").
    targets = models.JSONField(default=dict)
    side_refers_to = models.CharField(max_length=40, blank=True)
    is_active = models.BooleanField(default=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def as_pose(self):
        """The pose as posture/yoga.py scores it (ValueError when the targets are malformed)."""
        from .yoga import build_pose

        return build_pose({"name": self.name, "slug": self.slug, "sanskrit": self.sanskrit,
                           "difficulty": self.difficulty, "description": self.description,
                           "instructions": self.instructions, "common_mistakes": self.common_mistakes,
                           "benefits": self.benefits, "side_refers_to": self.side_refers_to or None,
                           "targets": self.targets})

    def clean(self):
        from django.core.exceptions import ValidationError

        try:
            self.as_pose()
        except (ValueError, TypeError) as exc:
            raise ValidationError({"targets": [f"Targets are [target, tolerance(, weight)] in degrees by joint: "
                                               f"{exc}"]}) from exc


class PracticeSession(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="practice_sessions")
    started_at = models.DateTimeField(db_index=True)
    # The day in the user's timezone when it started: streaks and per-day history count these.
    date = models.DateField(db_index=True)
    duration = models.FloatField(validators=[MinValueValidator(0.0), MaxValueValidator(24 * 60)],
                                 help_text="Minutes.")
    avg_accuracy = models.FloatField(null=True, blank=True,
                                     validators=[MinValueValidator(0.0), MaxValueValidator(100.0)])
    notes = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        indexes = [models.Index(fields=["user", "date"])]

    def __str__(self) -> str:
        return f"{self.user} {self.date} ({self.duration:g} min)"


class PracticePose(models.Model):
    session = models.ForeignKey(PracticeSession, on_delete=models.CASCADE, related_name="poses")
    order = models.PositiveSmallIntegerField(default=0)
    pose_name = models.CharField(max_length=80)
    pose = models.ForeignKey(YogaPose, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    accuracy = models.FloatField(validators=[MinValueValidator(0.0), MaxValueValidator(100.0)])
    feedback = models.JSONField(default=list, blank=True)
    improvements = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["session", "order", "id"]

    def __str__(self) -> str:
        return f"{self.pose_name} {self.accuracy:g}%"


class PostureAnalysis(models.Model):
    """A video's posture over time (the PostureX records): the pose model runs on frames sampled at
    `sample_fps`; each gives a score, and the summary says which issues dominated."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        PROCESSING = "processing", "Processing"
        COMPLETED = "completed", "Completed"
        FAILED = "failed", "Failed"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="posture_analyses")
    text = models.TextField(blank=True, help_text="What the video shows, or a question about it.")
    video_url = models.URLField(max_length=1000, blank=True)
    video = models.FileField(upload_to="posture/videos/%Y/%m/", blank=True)
    model = models.CharField(max_length=40, default="mediapipe")
    sample_fps = models.FloatField(default=2.0, validators=[MinValueValidator(0.1), MaxValueValidator(30.0)])
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.QUEUED, db_index=True)
    progress = models.FloatField(default=0.0)
    # [{"t": seconds, "score": 0–100 or null (no person), "issues": ["neck_inclination", ...]}, ...]
    series = models.JSONField(default=list, blank=True)
    summary = models.JSONField(default=dict, blank=True)
    error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"Posture analysis #{self.pk} ({self.status})"

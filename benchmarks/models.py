"""Baseline designs the benchmarks measure the platform against (bench settings only; tables made by
`migrate --run-syncdb`, never in the project's migrations)."""

from django.db import models


class HandPoseRow(models.Model):
    """The source system's HandPose design: one database row per landmark of each hand of each frame."""

    session_id = models.BigIntegerField()
    episode = models.IntegerField()
    frame_index = models.IntegerField()
    timestamp = models.FloatField()
    hand = models.CharField(max_length=5)
    landmark = models.SmallIntegerField()
    x = models.FloatField()
    y = models.FloatField()
    z = models.FloatField()
    score = models.FloatField()

    class Meta:
        indexes = [models.Index(fields=["session_id", "episode", "frame_index"])]

    def __str__(self) -> str:
        return f"{self.session_id}/{self.episode}/{self.frame_index} {self.hand}[{self.landmark}]"

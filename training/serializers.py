from django.urls import reverse
from rest_framework import serializers

from core.serializers import StrictSerializer
from robots.models import RobotModel
from robots.serializers import RobotModelSummarySerializer

from .models import DatasetExport, Episode, GestureData, TrainingSession


class OwnerSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    email = serializers.EmailField(read_only=True)
    full_name = serializers.CharField(read_only=True)


class SessionStatsSerializer(serializers.Serializer):
    episodes = serializers.IntegerField(source="episode_count")
    frames = serializers.IntegerField(source="frame_count")
    duration = serializers.FloatField(help_text="Seconds, summed over the episodes.")
    hands_present_ratio = serializers.FloatField()
    mean_confidence = serializers.FloatField()


class TrainingSessionSerializer(serializers.ModelSerializer):
    owner = OwnerSerializer(read_only=True)
    robot_model = RobotModelSummarySerializer(read_only=True)
    stats = SessionStatsSerializer(source="*", read_only=True)

    class Meta:
        model = TrainingSession
        fields = ["id", "name", "task", "fps", "status", "robot_model", "action_hand", "owner", "stats",
                  "data_version", "created_at", "updated_at", "completed_at"]
        read_only_fields = fields


class GestureSerializer(serializers.ModelSerializer):
    episode = serializers.IntegerField(source="episode.index", read_only=True)

    class Meta:
        model = GestureData
        fields = ["id", "episode", "name", "start_frame", "end_frame", "confidence", "created_at"]
        read_only_fields = fields


class EpisodeSerializer(serializers.ModelSerializer):
    duration = serializers.FloatField(read_only=True)
    hands_present_ratio = serializers.SerializerMethodField()
    mean_confidence = serializers.SerializerMethodField()
    gestures = GestureSerializer(many=True, read_only=True)

    class Meta:
        model = Episode
        fields = ["id", "index", "source", "status", "frame_count", "duration", "hands_present_ratio",
                  "mean_confidence", "progress", "error", "gestures", "created_at", "closed_at"]
        read_only_fields = fields

    def get_hands_present_ratio(self, episode) -> float:
        return round(episode.hands_present_frames / episode.frame_count, 4) if episode.frame_count else 0.0

    def get_mean_confidence(self, episode) -> float:
        return round(episode.confidence_sum / episode.confidence_count, 4) if episode.confidence_count else 0.0


class TrainingSessionDetailSerializer(TrainingSessionSerializer):
    episodes = EpisodeSerializer(many=True, read_only=True)

    class Meta(TrainingSessionSerializer.Meta):
        fields = [*TrainingSessionSerializer.Meta.fields, "episodes"]
        read_only_fields = fields


class TrainingSessionCreateSerializer(StrictSerializer):
    name = serializers.CharField(max_length=200)
    task = serializers.CharField(max_length=500)
    fps = serializers.IntegerField(min_value=1, max_value=240, default=30)
    robot_model = serializers.SlugRelatedField(slug_field="slug", queryset=RobotModel.objects.all(), required=False,
                                               allow_null=True, help_text="A robot model's slug, e.g. "
                                               "generic-dexterous-hand.")
    action_hand = serializers.ChoiceField(choices=TrainingSession.Hand.choices, default=TrainingSession.Hand.RIGHT)


class TrainingSessionUpdateSerializer(StrictSerializer):
    name = serializers.CharField(max_length=200, required=False)
    task = serializers.CharField(max_length=500, required=False)
    fps = serializers.IntegerField(min_value=1, max_value=240, required=False)
    robot_model = serializers.SlugRelatedField(slug_field="slug", queryset=RobotModel.objects.all(), required=False,
                                               allow_null=True)
    action_hand = serializers.ChoiceField(choices=TrainingSession.Hand.choices, required=False)
    status = serializers.ChoiceField(choices=[TrainingSession.Status.COMPLETED], required=False,
                                     help_text='"completed" ends recording (open episodes are closed).')


class GestureLabelSerializer(StrictSerializer):
    name = serializers.CharField(max_length=100)
    start_frame = serializers.IntegerField(min_value=0)
    end_frame = serializers.IntegerField(min_value=0)
    confidence = serializers.FloatField(min_value=0.0, max_value=1.0, default=1.0)


class FrameBatchOptionsSerializer(StrictSerializer):
    """Everything in a JSON batch but the frames (validated apart, see training/frames.py)."""

    episode = serializers.IntegerField(min_value=0, allow_null=True, default=None)
    frames = serializers.JSONField(help_text="Frames: {t, hands: {left, right}}; see docs/training.md.")
    gestures = GestureLabelSerializer(many=True, required=False, default=list)
    end_episode = serializers.BooleanField(default=False)
    aspect = serializers.FloatField(min_value=0.1, max_value=10.0, required=False, default=1.0,
                                    help_text="Height / width of the camera pictures (taken when the batch "
                                              "starts an episode); landmarks are normalised by each side.")


class FrameBatchResultSerializer(serializers.Serializer):
    episode = serializers.IntegerField()
    first_frame = serializers.IntegerField()
    frames_added = serializers.IntegerField()
    episode_frames = serializers.IntegerField()
    episode_status = serializers.CharField()
    gestures_added = serializers.IntegerField()
    session_frames = serializers.IntegerField()


class VideoUploadSerializer(StrictSerializer):
    video = serializers.FileField()


class ExportRequestSerializer(StrictSerializer):
    include_video = serializers.BooleanField(default=False)


class DatasetExportSerializer(serializers.ModelSerializer):
    export_id = serializers.IntegerField(source="id", read_only=True)
    download_url = serializers.SerializerMethodField()

    class Meta:
        model = DatasetExport
        fields = ["export_id", "session", "status", "progress", "stage", "data_version", "include_video",
                  "episode_count", "frame_count", "archive_size", "download_url", "error", "attempts",
                  "created_at", "started_at", "finished_at"]
        read_only_fields = fields

    def get_download_url(self, export) -> str | None:
        if export.status != DatasetExport.Status.COMPLETED or not export.archive:
            return None
        url = reverse("api:training-export-download", args=[export.pk])
        request = self.context.get("request")
        return request.build_absolute_uri(url) if request else url

from datetime import timedelta

from django.utils import timezone
from rest_framework import serializers

from core.serializers import StrictSerializer

from .models import PostureAnalysis, PracticePose, PracticeSession, YogaPose


class ImageInputSerializer(serializers.Serializer):
    image = serializers.CharField(help_text="A JPEG/PNG/WebP picture: a multipart file, or base64 (or a data: URL) "
                                            "in JSON.")


class BatchImagesInputSerializer(serializers.Serializer):
    images = serializers.ListField(child=serializers.CharField(), max_length=32,
                                   help_text="Pictures: multipart files, or base64 strings in JSON.")
    pose = serializers.CharField(required=False, help_text="Analyse every picture against this pose; "
                                                           "without it each is recognised.")


class YogaPoseSerializer(serializers.Serializer):
    """A catalogue pose as it is scored (targets with tolerance, weight and range, in degrees)."""

    def to_representation(self, instance: YogaPose) -> dict:
        return instance.as_pose().as_dict()


class PracticePoseSerializer(serializers.ModelSerializer):
    class Meta:
        model = PracticePose
        fields = ["pose_name", "accuracy", "feedback", "improvements"]
        read_only_fields = fields


class PracticeSessionSerializer(serializers.ModelSerializer):
    poses = PracticePoseSerializer(many=True, read_only=True)

    class Meta:
        model = PracticeSession
        fields = ["id", "date", "started_at", "duration", "avg_accuracy", "poses", "notes", "created_at", "updated_at"]
        read_only_fields = fields


class PracticePoseInputSerializer(StrictSerializer):
    pose_name = serializers.CharField(max_length=80)
    accuracy = serializers.FloatField(min_value=0.0, max_value=100.0)
    feedback = serializers.ListField(child=serializers.CharField(max_length=500), max_length=50, default=list)
    improvements = serializers.ListField(child=serializers.CharField(max_length=500), max_length=50, default=list)


class PracticeSessionInputSerializer(StrictSerializer):
    duration = serializers.FloatField(min_value=0.0, max_value=24 * 60, help_text="Minutes.")
    poses = PracticePoseInputSerializer(many=True, max_length=100, default=list)
    avg_accuracy = serializers.FloatField(min_value=0.0, max_value=100.0, required=False, allow_null=True,
                                          default=None, help_text="Computed from the poses when omitted.")
    started_at = serializers.DateTimeField(required=False, allow_null=True, default=None,
                                           help_text="When it started (default: now).")
    notes = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")

    def validate_started_at(self, value):
        if value is not None and value > timezone.now() + timedelta(minutes=5):
            raise serializers.ValidationError("A practice session cannot start in the future.")
        return value


class HistoryDaySerializer(serializers.Serializer):
    date = serializers.DateField()
    minutes = serializers.FloatField()
    sessions = serializers.IntegerField()
    avg_accuracy = serializers.FloatField(allow_null=True)


class PracticeStatsSerializer(serializers.Serializer):
    sessions_this_week = serializers.IntegerField()
    minutes_this_week = serializers.FloatField()
    mindful_minutes = serializers.FloatField(help_text="All practice, in minutes.")
    current_streak = serializers.IntegerField(help_text="Consecutive days with practice, to today or yesterday.")
    total_sessions = serializers.IntegerField()
    total_avg_accuracy = serializers.FloatField(allow_null=True)
    timezone = serializers.CharField()
    today = serializers.DateField()
    history = HistoryDaySerializer(many=True)


class PostureAnalysisSerializer(serializers.ModelSerializer):
    class Meta:
        model = PostureAnalysis
        fields = ["id", "text", "video_url", "video", "model", "sample_fps", "status", "progress", "summary",
                  "series", "error", "created_at", "finished_at"]
        read_only_fields = fields


class PostureAnalysisListSerializer(PostureAnalysisSerializer):
    class Meta(PostureAnalysisSerializer.Meta):
        fields = [f for f in PostureAnalysisSerializer.Meta.fields if f != "series"]
        read_only_fields = fields


class PostureAnalysisCreateSerializer(StrictSerializer):
    text = serializers.CharField(max_length=5000, required=False, allow_blank=True, default="")
    video = serializers.FileField(required=False)
    video_url = serializers.URLField(max_length=1000, required=False, allow_blank=True, default="")
    model = serializers.CharField(max_length=40, required=False)
    sample_fps = serializers.FloatField(min_value=0.1, max_value=30.0, default=2.0,
                                        help_text="Frames analysed per second of video.")

    def validate_video_url(self, value):
        if value and not value.lower().startswith(("http://", "https://")):
            raise serializers.ValidationError("An http or https URL.")
        return value

from rest_framework import serializers

from core.serializers import StrictSerializer

from .models import Robot, RobotCommand, RobotConnection, RobotModel


class RobotModelSerializer(serializers.ModelSerializer):
    dof = serializers.IntegerField(read_only=True)

    class Meta:
        model = RobotModel
        fields = ["id", "name", "slug", "manufacturer", "kind", "dof", "description", "joints", "capabilities"]
        read_only_fields = fields


class RobotModelSummarySerializer(serializers.ModelSerializer):
    dof = serializers.IntegerField(read_only=True)

    class Meta:
        model = RobotModel
        fields = ["id", "name", "slug", "kind", "dof"]
        read_only_fields = fields


class RobotSerializer(serializers.ModelSerializer):
    model = RobotModelSummarySerializer(read_only=True)

    class Meta:
        model = Robot
        fields = ["id", "name", "serial", "status", "model", "last_seen_at", "last_state", "last_state_at", "created_at"]
        read_only_fields = fields


class RobotDetailSerializer(RobotSerializer):
    model = RobotModelSerializer(read_only=True)


class RegisteredRobotSerializer(RobotSerializer):
    credential = serializers.CharField(read_only=True, help_text="Shown once; store it on the robot.")

    class Meta(RobotSerializer.Meta):
        fields = [*RobotSerializer.Meta.fields, "credential"]
        read_only_fields = fields


class RobotRegisterSerializer(StrictSerializer):
    name = serializers.CharField(max_length=120)
    serial = serializers.CharField(max_length=120)
    model = serializers.SlugRelatedField(slug_field="slug", queryset=RobotModel.objects.all())


class RobotRefSerializer(serializers.ModelSerializer):
    class Meta:
        model = Robot
        fields = ["id", "name", "status"]
        read_only_fields = fields


class ConnectionSerializer(serializers.ModelSerializer):
    robot = RobotRefSerializer(read_only=True)

    class Meta:
        model = RobotConnection
        fields = ["id", "robot", "status", "created_at", "closed_at"]
        read_only_fields = fields


class ConnectSerializer(StrictSerializer):
    robot_id = serializers.IntegerField(min_value=1)


class CommandSerializer(serializers.ModelSerializer):
    class Meta:
        model = RobotCommand
        fields = [
            "id", "robot_id", "connection_id", "type", "params", "priority", "queued", "status", "progress",
            "result", "error", "created_at", "sent_at", "acknowledged_at", "completed_at", "deadline_at",
        ]
        read_only_fields = fields


class CommandCreateSerializer(StrictSerializer):
    connection_id = serializers.IntegerField(min_value=1)
    type = serializers.ChoiceField(choices=RobotCommand.Type.choices)
    params = serializers.JSONField(required=False, default=dict)
    queue = serializers.BooleanField(required=False, default=False)


class ConnectionStateSerializer(serializers.Serializer):
    connection_id = serializers.IntegerField()
    connection_status = serializers.CharField()
    robot_id = serializers.IntegerField()
    robot_status = serializers.CharField()
    state = serializers.JSONField()
    state_age_seconds = serializers.FloatField(allow_null=True)
    last_seen_at = serializers.DateTimeField(allow_null=True)

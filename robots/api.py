"""The robots API: registry, catalogue, connections and commands (thin views over services)."""

import django_filters
from drf_spectacular.utils import extend_schema
from rest_framework import generics, mixins, status, viewsets
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import Role
from accounts.permissions import HasOrganizationRole

from . import selectors, services
from .models import Robot, RobotCommand, RobotConnection
from .serializers import (
    CommandCreateSerializer,
    CommandSerializer,
    ConnectionSerializer,
    ConnectionStateSerializer,
    ConnectSerializer,
    RegisteredRobotSerializer,
    RobotDetailSerializer,
    RobotModelSerializer,
    RobotRegisterSerializer,
    RobotSerializer,
)


def _validated(serializer_class, request) -> dict:
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


class RobotFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=Robot.Status.choices)
    model = django_filters.CharFilter(field_name="model__slug")
    kind = django_filters.CharFilter(field_name="model__kind")


@extend_schema(tags=["robots"])
class RobotViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """The organisation's robots; editors register new ones (the credential is shown once)."""

    permission_classes = [HasOrganizationRole]
    queryset = Robot.objects.none()
    serializer_class = RobotSerializer
    filterset_class = RobotFilter
    search_fields = ["name", "serial"]
    ordering_fields = ["name", "status", "last_seen_at", "created_at"]

    def get_queryset(self):
        return selectors.robots_for(self.request.organization)

    def get_object(self):
        return selectors.robot_for(self.request.organization, self.kwargs["pk"])

    def get_serializer_class(self):
        return RobotDetailSerializer if self.action == "retrieve" else RobotSerializer

    @extend_schema(request=RobotRegisterSerializer, responses={201: RegisteredRobotSerializer})
    def create(self, request):
        data = _validated(RobotRegisterSerializer, request)
        robot, credential = services.register_robot(
            actor=request.user, organization=request.organization, model=data["model"], name=data["name"],
            serial=data["serial"],
        )
        robot.credential = credential
        return Response(RegisteredRobotSerializer(robot).data, status=status.HTTP_201_CREATED)


@extend_schema(tags=["robots"])
class RobotModelListView(generics.ListAPIView):
    """The robot model catalogue with joint specifications (limits in radians)."""

    serializer_class = RobotModelSerializer
    pagination_class = None

    def get_queryset(self):
        return selectors.catalogue()


@extend_schema(tags=["robots"])
class ConnectView(APIView):
    permission_classes = [HasOrganizationRole]
    write_role = Role.EDITOR

    @extend_schema(request=ConnectSerializer, responses={201: ConnectionSerializer})
    def post(self, request):
        data = _validated(ConnectSerializer, request)
        robot = selectors.robot_for(request.organization, data["robot_id"])
        connection = services.open_connection(user=request.user, organization=request.organization, robot=robot)
        return Response(ConnectionSerializer(connection).data, status=status.HTTP_201_CREATED)


class ConnectionFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=RobotConnection.Status.choices)
    robot = django_filters.NumberFilter(field_name="robot_id")


@extend_schema(tags=["robots"])
class ConnectionViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.DestroyModelMixin,
                        viewsets.GenericViewSet):
    """Your connections to robots in this organisation; DELETE disconnects."""

    permission_classes = [HasOrganizationRole]
    write_role = Role.VIEWER  # closing your own connection needs no rank
    queryset = RobotConnection.objects.none()
    serializer_class = ConnectionSerializer
    filterset_class = ConnectionFilter

    def get_queryset(self):
        return selectors.connections_for(self.request.user, self.request.organization)

    def get_object(self):
        return selectors.connection_for(self.request.user, self.request.organization, self.kwargs["pk"])

    def perform_destroy(self, instance):
        services.close_connection(user=self.request.user, connection=instance)

    @extend_schema(responses=ConnectionStateSerializer)
    def state(self, request, pk=None):
        return Response(ConnectionStateSerializer(selectors.connection_state(self.get_object())).data)


class CommandFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=RobotCommand.Status.choices)
    type = django_filters.ChoiceFilter(choices=RobotCommand.Type.choices)
    robot = django_filters.NumberFilter(field_name="robot_id")


@extend_schema(tags=["robots"])
class CommandViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Commands to the organisation's robots: send one through your connection, follow its status."""

    permission_classes = [HasOrganizationRole]
    write_role = Role.EDITOR
    queryset = RobotCommand.objects.none()
    serializer_class = CommandSerializer
    filterset_class = CommandFilter
    ordering_fields = ["created_at", "status"]

    def get_queryset(self):
        return selectors.commands_for(self.request.organization)

    def get_object(self):
        return selectors.command_for(self.request.organization, self.kwargs["pk"])

    @extend_schema(request=CommandCreateSerializer, responses={201: CommandSerializer})
    def create(self, request):
        data = _validated(CommandCreateSerializer, request)
        connection = selectors.connection_for(request.user, request.organization, data["connection_id"])
        command = services.send_command(actor=request.user, connection=connection, type=data["type"],
                                        params=data["params"], queue=data["queue"])
        return Response(CommandSerializer(command).data, status=status.HTTP_201_CREATED)

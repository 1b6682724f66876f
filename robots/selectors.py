"""Reads in robots, scoped to the organisation (and to the user for connections)."""

from django.db.models import QuerySet
from django.utils import timezone
from rest_framework.exceptions import NotFound

from accounts.models import Organization, User

from .models import Robot, RobotCommand, RobotConnection, RobotModel


def catalogue() -> QuerySet[RobotModel]:
    return RobotModel.objects.all()


def robots_for(organization: Organization) -> QuerySet[Robot]:
    return Robot.objects.for_organization(organization).select_related("model")


def robot_for(organization: Organization, robot_id) -> Robot:
    robot = robots_for(organization).filter(pk=robot_id).first() if str(robot_id).isdigit() else None
    if robot is None:
        raise NotFound("No such robot in this organization.")
    return robot


def connections_for(user: User, organization: Organization) -> QuerySet[RobotConnection]:
    return (RobotConnection.objects.for_organization(organization).filter(user=user)
            .select_related("robot"))


def connection_for(user: User, organization: Organization, connection_id) -> RobotConnection:
    connection = connections_for(user, organization).select_related("robot__model", "robot__organization").filter(pk=connection_id).first()
    if connection is None:
        raise NotFound("No such connection.")
    return connection


def connection_state(connection: RobotConnection) -> dict:
    robot = connection.robot
    age = (timezone.now() - robot.last_state_at).total_seconds() if robot.last_state_at else None
    return {
        "connection_id": connection.pk,
        "connection_status": connection.status,
        "robot_id": robot.pk,
        "robot_status": robot.status,
        "state": robot.last_state,
        "state_age_seconds": round(age, 3) if age is not None else None,
        "last_seen_at": robot.last_seen_at,
    }


def commands_for(organization: Organization) -> QuerySet[RobotCommand]:
    return RobotCommand.objects.for_organization(organization).select_related("robot")


def command_for(organization: Organization, command_id) -> RobotCommand:
    command = commands_for(organization).filter(pk=command_id).first()
    if command is None:
        raise NotFound("No such command.")
    return command

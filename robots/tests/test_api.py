import pytest
from django.conf import settings
from django.utils import timezone

from accounts.models import AuditLog, Role
from accounts.tests.factories import OrganizationFactory, member
from robots import services
from robots.catalogue import DEXTEROUS_HAND_SLUG
from robots.models import Robot, RobotCommand, RobotConnection
from robots.tests.factories import registered_robot
from tests.api_cases import OrgScopedAPICases

pytestmark = pytest.mark.django_db


class TestRobotsAPI(OrgScopedAPICases):
    list_url = "/api/v1/robots/"
    audit_object_type = "robots.robot"

    def make_object(self, organization):
        return registered_robot(organization)[0]

    def detail_url(self, obj) -> str:
        return f"/api/v1/robots/{obj.pk}/"

    def create_payload(self, organization) -> dict:
        return {"name": "Arm", "serial": f"SN-{Robot.objects.count() + 100}", "model": "ur5e"}


class TestRegistration:
    def test_credential_is_shown_once_and_stored_as_argon2id(self, client_for, editor):
        response = client_for(editor).post("/api/v1/robots/", {"name": "Left arm", "serial": "UR-1", "model": "ur5e"})
        assert response.status_code == 201, response.content
        body = response.json()
        robot = Robot.objects.get(pk=body["id"])
        assert body["credential"].startswith(robot.key_id + ".")
        assert robot.credential_hash.startswith("$argon2id$")
        assert body["credential"].split(".", 1)[1] not in robot.credential_hash
        assert services.authenticate_robot(body["credential"]) == robot
        detail = client_for(editor).get(f"/api/v1/robots/{robot.pk}/").json()
        assert "credential" not in detail
        assert [j["name"] for j in detail["model"]["joints"]][:2] == ["shoulder_pan", "shoulder_lift"]

    def test_wrong_or_regenerated_credentials_do_not_authenticate(self, editor, organization):
        robot, credential = registered_robot(organization)
        assert services.authenticate_robot(credential[:-1] + ("x" if credential[-1] != "x" else "y")) is None
        assert services.authenticate_robot("nonsense") is None
        assert services.authenticate_robot("") is None
        new = services.regenerate_credential(actor=editor, robot=robot)
        assert services.authenticate_robot(credential) is None
        assert services.authenticate_robot(new) == robot

    def test_one_robots_credential_does_not_open_another(self, organization):
        first, first_credential = registered_robot(organization)
        second, _ = registered_robot(organization)
        assert services.authenticate_robot(first_credential) == first
        key_id, secret = first_credential.split(".")
        assert services.authenticate_robot(f"{second.key_id}.{secret}") is None

    def test_duplicate_serial_is_409_and_unknown_model_400(self, client_for, editor):
        client = client_for(editor)
        assert client.post("/api/v1/robots/", {"name": "A", "serial": "X1", "model": "ur5e"}).status_code == 201
        duplicate = client.post("/api/v1/robots/", {"name": "B", "serial": "X1", "model": "ur5e"})
        assert duplicate.status_code == 409 and "serial" in duplicate.json()["error"]["fields"]
        unknown = client.post("/api/v1/robots/", {"name": "B", "serial": "X2", "model": "warp-drive"})
        assert unknown.status_code == 400 and "model" in unknown.json()["error"]["fields"]

    def test_catalogue_includes_the_dexterous_hand(self, client_for, viewer):
        models = client_for(viewer).get("/api/v1/robots/models").json()
        hand = next(m for m in models if m["slug"] == DEXTEROUS_HAND_SLUG)
        assert hand["kind"] == "hand" and hand["dof"] == len(hand["joints"]) == 22
        assert all(j["min"] < j["max"] for m in models for j in m["joints"])
        assert {m["kind"] for m in models} == {"hand", "arm", "humanoid", "mobile"}

    def test_filters(self, client_for, owner, organization):
        registered_robot(organization, status="online")
        registered_robot(organization)
        client = client_for(owner)
        assert client.get("/api/v1/robots/?status=online").json()["count"] == 1
        assert client.get("/api/v1/robots/?model=ur5e").json()["count"] == 2


class TestConnections:
    def test_connect_state_and_disconnect(self, client_for, editor, organization):
        robot, _ = registered_robot(organization)
        client = client_for(editor)
        response = client.post("/api/v1/robots/connect", {"robot_id": robot.pk})
        assert response.status_code == 201
        connection_id = response.json()["id"]
        state = client.get(f"/api/v1/robots/connections/{connection_id}/state").json()
        assert state["robot_status"] == "offline" and state["state_age_seconds"] is None
        assert client.get("/api/v1/robots/connections/").json()["count"] == 1
        assert client.delete(f"/api/v1/robots/connections/{connection_id}").status_code == 204
        assert RobotConnection.objects.get(pk=connection_id).status == "closed"
        assert AuditLog.objects.filter(object_type="robots.robotconnection", action="update").exists()

    def test_eleventh_open_connection_is_409(self, client_for, editor, organization):
        robot, _ = registered_robot(organization)
        client = client_for(editor)
        for _ in range(settings.MAX_ROBOT_CONNECTIONS):
            assert client.post("/api/v1/robots/connect", {"robot_id": robot.pk}).status_code == 201
        response = client.post("/api/v1/robots/connect", {"robot_id": robot.pk})
        assert response.status_code == 409
        assert response.json()["error"]["code"] == "too_many_connections"

    def test_another_organizations_robot_is_404(self, client_for, editor):
        foreign, _ = registered_robot(OrganizationFactory())
        assert client_for(editor).post("/api/v1/robots/connect", {"robot_id": foreign.pk}).status_code == 404

    def test_viewer_cannot_connect(self, client_for, viewer, organization):
        robot, _ = registered_robot(organization)
        assert client_for(viewer).post("/api/v1/robots/connect", {"robot_id": robot.pk}).status_code == 403

    def test_someone_elses_connection_is_404(self, client_for, editor, organization):
        robot, _ = registered_robot(organization)
        other = member(organization, Role.EDITOR)
        connection = services.open_connection(user=other, organization=organization, robot=robot)
        assert client_for(editor).delete(f"/api/v1/robots/connections/{connection.pk}").status_code == 404


@pytest.fixture
def online_arm(organization):
    return registered_robot(organization, status="online")[0]


@pytest.fixture
def connection(editor, organization, online_arm):
    return services.open_connection(user=editor, organization=organization, robot=online_arm)


class TestCommands:
    def post(self, client, connection, type, params=None, **extra):
        return client.post("/api/v1/robots/commands", {"connection_id": connection.pk, "type": type,
                                                       "params": params or {}, **extra}, format="json")

    def test_move_joints_is_recorded_pending_with_a_deadline(self, client_for, editor, connection):
        response = self.post(client_for(editor), connection, "move_joints", {"positions": {"elbow": 1.0}})
        assert response.status_code == 201, response.content
        body = response.json()
        assert body["status"] == "pending" and body["priority"] == 10
        command = RobotCommand.objects.get(pk=body["id"])
        remaining = (command.deadline_at - timezone.now()).total_seconds()
        assert settings.ROBOT_COMMAND_TIMEOUT - 5 < remaining <= settings.ROBOT_COMMAND_TIMEOUT
        assert AuditLog.objects.filter(object_type="robots.robotcommand", action="create").exists()

    @pytest.mark.parametrize("params, message", [
        ({"positions": {"elbow": 99.0}}, "outside the limits"),
        ({"positions": {"knee": 0.1}}, "no such joint"),
        ({"positions": {"elbow": "fast"}}, "finite number"),
        ({"positions": {}}, "non-empty"),
        ({"positions": {"elbow": 0.1}, "speed": 2}, "Unknown parameter"),
        ({"positions": {"elbow": 0.1}, "duration": -1}, "duration"),
    ])
    def test_bad_move_joints_params_are_400(self, client_for, editor, connection, params, message):
        response = self.post(client_for(editor), connection, "move_joints", params)
        assert response.status_code == 400
        assert message in str(response.json()["error"]["fields"]["params"])
        assert not RobotCommand.objects.exists()

    def test_other_types_are_validated(self, client_for, editor, connection):
        client = client_for(editor)
        assert self.post(client, connection, "set_mode", {"mode": "teleop"}).status_code == 201
        assert self.post(client, connection, "set_mode", {"mode": "ludicrous"}).status_code == 400
        assert self.post(client, connection, "stop", {"now": True}).status_code == 400
        assert self.post(client, connection, "play_skill", {"skill_id": "abc"}).status_code == 400
        assert self.post(client, connection, "replay_episode", {"episode_id": 4}).status_code == 201
        assert self.post(client, connection, "teleport").status_code == 400

    def test_emergency_stop_has_top_priority(self, client_for, editor, connection):
        body = self.post(client_for(editor), connection, "emergency_stop").json()
        assert body["priority"] == 0

    def test_offline_robot_is_409_unless_queued(self, client_for, editor, organization):
        robot, _ = registered_robot(organization)
        connection = services.open_connection(user=editor, organization=organization, robot=robot)
        client = client_for(editor)
        refused = self.post(client, connection, "stop")
        assert refused.status_code == 409 and refused.json()["error"]["code"] == "robot_offline"
        queued = self.post(client, connection, "stop", queue=True)
        assert queued.status_code == 201 and queued.json()["queued"] is True

    def test_closed_connection_is_409(self, client_for, editor, connection):
        services.close_connection(user=editor, connection=connection)
        assert self.post(client_for(editor), connection, "stop").status_code == 409

    def test_viewer_cannot_send(self, client_for, viewer, connection):
        assert self.post(client_for(viewer), connection, "stop").status_code == 403

    def test_command_of_another_organization_is_404(self, client_for, editor, connection):
        other_org = OrganizationFactory()
        robot, _ = registered_robot(other_org, status="online")
        stranger = member(other_org, Role.EDITOR)
        other_connection = services.open_connection(user=stranger, organization=other_org, robot=robot)
        command = services.send_command(actor=stranger, connection=other_connection, type="stop", params={})
        assert client_for(editor).get(f"/api/v1/robots/commands/{command.pk}").status_code == 404
        assert self.post(client_for(editor), other_connection, "stop").status_code == 404

    def test_list_filters(self, client_for, editor, connection):
        client = client_for(editor)
        for _ in range(3):
            self.post(client, connection, "stop")
        self.post(client, connection, "emergency_stop")
        assert client.get("/api/v1/robots/commands?type=emergency_stop").json()["count"] == 1
        assert client.get(f"/api/v1/robots/commands?robot={connection.robot_id}").json()["count"] == 4

    def test_overdue_commands_time_out_once(self, editor, connection):
        command = services.send_command(actor=editor, connection=connection, type="stop", params={})
        RobotCommand.objects.filter(pk=command.pk).update(deadline_at=timezone.now())
        assert services.expire_overdue_commands() == 1
        assert services.expire_overdue_commands() == 0
        command.refresh_from_db()
        assert command.status == "timed_out" and "30 s" in command.error
        # A late result does not revive it.
        services.finish_command(robot=connection.robot, command_id=command.pk, status="completed")
        command.refresh_from_db()
        assert command.status == "timed_out"


def test_robots_whose_socket_went_silent_go_offline(editor, organization):
    from datetime import timedelta

    robot, _ = registered_robot(organization, status="online")
    fresh, _ = registered_robot(organization, status="online")
    Robot.objects.filter(pk=robot.pk).update(last_seen_at=timezone.now() - timedelta(seconds=120))
    Robot.objects.filter(pk=fresh.pk).update(last_seen_at=timezone.now())
    connection = services.open_connection(user=editor, organization=organization, robot=robot)
    command = services.send_command(actor=editor, connection=connection, type="stop", params={})
    services.mark_sent(robot=robot, command_id=command.pk)
    assert services.mark_silent_robots_offline() == 1
    robot.refresh_from_db()
    fresh.refresh_from_db()
    assert robot.status == "offline" and fresh.status == "online"
    command.refresh_from_db()
    assert command.status == "failed" and "disconnected" in command.error

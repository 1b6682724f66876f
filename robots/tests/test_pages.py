"""The robot pages and the robots part of the operator console, through the Django test client."""

import pytest
from django.urls import reverse

from accounts.models import Role
from accounts.tests.factories import member
from robots import services
from robots.models import Robot, RobotCommand, RobotModel

pytestmark = pytest.mark.django_db


@pytest.fixture
def arm():
    return RobotModel.objects.create(
        name="Test Arm", slug="test-arm", manufacturer="Acme", kind="arm",
        joints=[
            {"name": "j1", "min": -1.0, "max": 1.0, "max_velocity": 1.0},
            {"name": "j2", "min": 0.0, "max": 2.0, "max_velocity": 1.0},
        ],
    )


def make_robot(organization, model, name="Rover", serial="SN-1", **fields) -> Robot:
    return Robot.objects.create(organization=organization, model=model, name=name, serial=serial,
                                key_id=f"key-{organization.pk}-{serial}", credential_hash="unused", **fields)


def signed_in(client, user):
    client.force_login(user)
    return client


class TestRobotList:
    def test_shows_only_my_organizations_robots(self, client, owner, organization, other_organization, arm):
        mine = make_robot(organization, arm, name="Our arm", serial="OURS-1", status=Robot.Status.ONLINE)
        make_robot(other_organization, arm, name="Their arm", serial="THEIRS-1")
        response = signed_in(client, owner).get(reverse("robots:list"))
        body = response.content.decode()
        assert response.status_code == 200
        assert [robot.pk for robot in response.context["robots"]] == [mine.pk]
        assert "Our arm" in body and "Their arm" not in body
        assert f'data-robot-status="{mine.pk}"' in body and 'class="badge badge--online"' in body
        assert reverse("robots:console", args=[mine.pk]) in body
        assert 'data-testid="nav-robots"' in body

    def test_another_organizations_console_is_404(self, client, owner, other_organization, arm):
        theirs = make_robot(other_organization, arm, name="Their arm", serial="THEIRS-1")
        response = signed_in(client, owner).get(reverse("robots:console", args=[theirs.pk]))
        assert response.status_code == 404

    def test_anonymous_is_sent_to_sign_in(self, client):
        response = client.get(reverse("robots:list"))
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("accounts:login"))

    def test_empty_organization_shows_the_empty_state(self, client, owner):
        body = signed_in(client, owner).get(reverse("robots:list")).content.decode()
        assert 'data-testid="robots-empty"' in body


class TestRegisterRobot:
    def test_creates_the_robot_and_shows_the_credential_once(self, client, owner, organization, arm):
        signed_in(client, owner)
        response = client.post(reverse("robots:register"), {"name": "Lab arm", "serial": "LAB-7", "model": "test-arm"})
        assert response.status_code == 200
        robot = Robot.objects.get(organization=organization, serial="LAB-7")
        assert (robot.name, robot.model, robot.created_by) == ("Lab arm", arm, owner)
        credential = response.context["registered"]["credential"]
        assert services.authenticate_robot(credential) == robot
        body = response.content.decode()
        assert credential in body
        assert f"python -m robots.agent --url ws://testserver/ws/v1/robots/agent/ --credential {credential}" in body
        assert 'data-copy-target="robot-credential-value"' in body
        # Never again: the list shows the robot, not its credential.
        again = client.get(reverse("robots:list")).content.decode()
        assert "Lab arm" in again and credential not in again

    def test_a_taken_serial_is_a_form_error(self, client, owner, organization, arm):
        make_robot(organization, arm, serial="LAB-7")
        response = signed_in(client, owner).post(
            reverse("robots:register"), {"name": "Second", "serial": "LAB-7", "model": "test-arm"})
        assert response.status_code == 200
        assert response.context["registered"] is None
        assert "A robot with this serial is already registered." in response.content.decode()
        assert Robot.objects.filter(organization=organization).count() == 1

    def test_an_unknown_model_is_a_form_error(self, client, owner, organization):
        response = signed_in(client, owner).post(
            reverse("robots:register"), {"name": "X", "serial": "X-1", "model": "no-such-model"})
        assert response.context["register_form"].errors["model"]
        assert not Robot.objects.filter(organization=organization).exists()

    def test_viewer_sees_no_register_form_and_cannot_post(self, client, viewer, organization, arm):
        signed_in(client, viewer)
        body = client.get(reverse("robots:list")).content.decode()
        assert 'id="register-robot-form"' not in body
        response = client.post(reverse("robots:register"), {"name": "Sneaky", "serial": "S-1", "model": "test-arm"})
        assert response.status_code == 302
        assert not Robot.objects.filter(organization=organization).exists()

    def test_editor_sees_the_register_form_with_the_catalogue(self, client, organization, arm):
        editor = member(organization, Role.EDITOR)
        body = signed_in(client, editor).get(reverse("robots:list")).content.decode()
        assert 'id="register-robot-form"' in body
        assert '<option value="test-arm">Test Arm</option>' in body


class TestConsole:
    def test_renders_joints_with_their_limits_and_state(self, client, owner, organization, arm):
        robot = make_robot(organization, arm, status=Robot.Status.BUSY,
                           last_state={"joints": {"j1": 0.5, "j2": 3.0}, "battery": 0.82, "mode": "teleop"})
        response = signed_in(client, owner).get(reverse("robots:console", args=[robot.pk]))
        body = response.content.decode()
        assert response.status_code == 200
        assert [(j["name"], j["min"], j["max"], j["percent"]) for j in response.context["joints"]] == [
            ("j1", -1.0, 1.0, 75.0), ("j2", 0.0, 2.0, 100.0),  # out of range is clamped to the end
        ]
        assert 'data-testid="joint-bar-j1"' in body and 'data-testid="joint-bar-j2"' in body
        assert 'style="--position: 75.0%"' in body
        assert 'data-testid="joint-slider-j1"' in body and 'min="-1.0" max="1.0"' in body
        assert 'data-testid="robot-status"' in body and "badge--busy" in body
        assert "82%" in body and "teleop" in body
        for testid in ("connect-button", "estop-button", "command-log", "console-errors", "queue-checkbox"):
            assert f'data-testid="{testid}"' in body
        assert 'id="robot-console-config"' in body and "js/robot-console.js" in body

    def test_viewer_watches_without_controls(self, client, viewer, organization, arm):
        robot = make_robot(organization, arm)
        body = signed_in(client, viewer).get(reverse("robots:console", args=[robot.pk])).content.decode()
        assert 'data-testid="joint-bar-j1"' in body and 'data-testid="command-log"' in body
        assert 'data-testid="connect-button"' not in body and 'data-testid="estop-button"' not in body
        assert 'data-testid="viewer-notice"' in body


def test_dashboard_counts_my_connected_robots(client, owner, organization, other_organization, arm):
    make_robot(organization, arm, serial="A", status=Robot.Status.ONLINE)
    make_robot(organization, arm, serial="B", status=Robot.Status.BUSY)
    make_robot(organization, arm, serial="C", status=Robot.Status.OFFLINE)
    make_robot(other_organization, arm, serial="D", status=Robot.Status.ONLINE)
    body = signed_in(client, owner).get(reverse("core:dashboard")).content.decode()
    assert '<span class="stat__value" data-stat="robots-online">2</span>' in body
    assert reverse("robots:list") in body


class TestOperatorConsole:
    @pytest.fixture
    def operator(self, client, staff_user):
        return signed_in(client, staff_user)

    @pytest.mark.parametrize("model", ["robotmodel", "robot", "robotconnection", "robotcommand"])
    def test_changelists_render(self, operator, organization, owner, arm, model):
        robot = make_robot(organization, arm)
        connection = services.open_connection(user=owner, organization=organization, robot=robot)
        services.send_command(actor=owner, connection=connection, type="stop", params={}, queue=True)
        assert operator.get(f"/admin/robots/{model}/").status_code == 200

    def test_joints_are_shown_readably(self, operator, arm):
        body = operator.get(f"/admin/robots/robotmodel/{arm.pk}/change/").content.decode()
        assert "<td>j1</td><td>-1.0</td><td>1.0</td><td>-57°…57°</td>" in body

    def test_regenerate_credential_shows_the_new_one_once(self, operator, organization, arm):
        robot = make_robot(organization, arm)
        response = operator.post("/admin/robots/robot/", {
            "action": "regenerate_credentials", "_selected_action": [robot.pk],
        }, follow=True)
        [message] = [m for m in response.context["messages"]]
        assert message.level_tag == "warning"
        credential = str(message).rsplit(": ", 1)[1]
        assert services.authenticate_robot(credential) == robot

    def test_emergency_stop_is_queued_for_an_offline_robot(self, operator, organization, arm, staff_user):
        robot = make_robot(organization, arm)
        operator.post("/admin/robots/robot/", {"action": "send_emergency_stop", "_selected_action": [robot.pk]})
        command = RobotCommand.objects.get(robot=robot)
        assert (command.type, command.queued, command.issued_by, command.priority) == (
            "emergency_stop", True, staff_user, 0)

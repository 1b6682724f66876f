"""A person drives a simulated robot from the console page: headless Chromium, a live daphne
server and the real agent process (`python -m robots.agent`)."""

import os
import subprocess
import sys

import pytest

from accounts.models import Role
from accounts.tests.factories import DEFAULT_PASSWORD, OrganizationFactory, member
from robots.models import Robot, RobotCommand
from robots.tests.factories import registered_robot
from tests import harness

pytestmark = [pytest.mark.browser, pytest.mark.live, pytest.mark.slow]


@pytest.fixture
def running_agent(daphne_server, transactional_db):
    organization = OrganizationFactory()
    user = member(organization, Role.EDITOR)
    robot, credential = registered_robot(organization, name="Console arm")
    process = subprocess.Popen(
        [sys.executable, "-m", "robots.agent", "--url", f"{daphne_server.ws_url}/ws/v1/robots/agent/",
         "--speed-scale", "5", "--state-hz", "10"],
        env={**os.environ, "ROBOT_AGENT_CREDENTIAL": credential}, cwd=harness.BASE_DIR,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )
    harness.wait_until(lambda: Robot.objects.get(pk=robot.pk).status == "online", 20, 0.2, "the agent to connect")
    yield user, robot
    harness.stop_process(process)


def test_connect_move_and_emergency_stop_from_the_console(page, daphne_server, running_agent):
    user, robot = running_agent
    base = daphne_server.url
    page.goto(f"{base}/accounts/login/")
    page.fill("#login-form [name=email]", user.email)
    page.fill("#login-form [name=password]", DEFAULT_PASSWORD)
    page.click("[data-testid=login-submit]")
    page.wait_for_url(f"{base}/dashboard/")

    page.goto(f"{base}/robots/{robot.pk}/")
    page.locator("[data-testid=robot-status]").filter(has_text="Online").wait_for()
    page.click("[data-testid=connect-button]")
    page.locator("[data-testid=disconnect-button]").wait_for()

    page.locator("[data-testid=joint-slider-elbow]").fill("1.2")
    page.fill("[data-testid=move-duration]", "0.5")
    page.click("[data-testid=move-submit]")
    log = page.locator("[data-testid=command-log]")
    log.filter(has_text="completed").wait_for(timeout=20_000)
    move = RobotCommand.objects.get(robot=robot, type="move_joints")
    assert move.status == "completed"
    assert move.params["positions"]["elbow"] == pytest.approx(1.2)
    # The live state follows the robot: the elbow bar reads the new position.
    page.locator("[data-joint-value=elbow]").filter(has_text="1.200").wait_for(timeout=10_000)
    assert float(page.get_attribute("[data-testid=joint-bar-elbow]", "aria-valuenow")) == pytest.approx(1.2, abs=1e-3)

    page.click("[data-testid=estop-button]")
    page.locator("[data-testid=robot-mode]").filter(has_text="estop").wait_for(timeout=10_000)
    estop = RobotCommand.objects.get(robot=robot, type="emergency_stop")
    assert estop.priority == 0
    harness.wait_until(lambda: RobotCommand.objects.get(pk=estop.pk).status == "completed", 10, 0.2, "the e-stop")

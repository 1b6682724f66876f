"""The robot agent socket and the user event stream on a real daphne server, driven by real
WebSocket clients and HTTP requests (as a robot and a person would)."""

import contextlib
import json
import time

import httpx
import pytest
from django.conf import settings
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from accounts.models import Role
from accounts.services import issue_tokens
from accounts.tests.factories import OrganizationFactory, member
from robots.models import RobotCommand
from robots.tests.factories import registered_robot
from tests import harness

pytestmark = [pytest.mark.live, pytest.mark.slow]


def recv_json(ws, timeout=10):
    return json.loads(ws.recv(timeout=timeout))


def recv_until(ws, predicate, timeout=10):
    """The first message matching `predicate` (others, e.g. state updates, are skipped)."""
    deadline = time.monotonic() + timeout
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise AssertionError("no matching message in time")
        message = recv_json(ws, remaining)
        if predicate(message):
            return message


_open_sockets = contextlib.ExitStack()


@pytest.fixture(autouse=True)
def _close_sockets():
    """Sockets opened by the helpers below close when the test ends, whatever happens."""
    yield
    _open_sockets.close()


def open_socket(url: str, **options):
    return _open_sockets.enter_context(connect(url, **options))


class Site:
    """A signed-in person using the API and the event socket of a live server."""

    def __init__(self, server, user):
        self.server = server
        self.token = issue_tokens(user)["access"]
        self.http = httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {self.token}"}, timeout=10)

    def events(self):
        ws = open_socket(f"{self.server.ws_url}/ws/v1/connect/?token={self.token}")
        assert recv_json(ws)["type"] == "hello"
        return ws

    def connect_robot(self, robot) -> int:
        response = self.http.post("/api/v1/robots/connect", json={"robot_id": robot.pk})
        assert response.status_code == 201, response.text
        return response.json()["id"]

    def command(self, connection_id, type, params=None, **extra):
        return self.http.post("/api/v1/robots/commands", json={"connection_id": connection_id, "type": type,
                                                                "params": params or {}, **extra})


def agent(server, credential):
    ws = open_socket(f"{server.ws_url}/ws/v1/robots/agent/",
                     additional_headers={"Authorization": f"Bearer {credential}"})
    welcome = recv_json(ws)
    assert welcome["type"] == "welcome", welcome
    return ws, welcome


@pytest.fixture
def setup(transactional_db, daphne_server):
    organization = OrganizationFactory()
    user = member(organization, Role.EDITOR)
    robot, credential = registered_robot(organization, name="Lab arm")
    return daphne_server, Site(daphne_server, user), robot, credential


def test_a_wrong_credential_is_closed_4401(daphne_server, transactional_db):
    robot, credential = registered_robot()
    for bad in ("", "nope", credential[:-2] + "zz"):
        with connect(f"{daphne_server.ws_url}/ws/v1/robots/agent/?credential={bad}") as ws:
            with pytest.raises(ConnectionClosed) as closed:
                ws.recv(timeout=10)
            assert closed.value.rcvd.code == 4401


def test_command_round_trip_with_live_events(setup):
    server, site, robot, credential = setup
    events = site.events()
    ws, welcome = agent(server, credential)
    assert welcome["robot"]["id"] == robot.pk and welcome["pending"] == 0
    assert [j["name"] for j in welcome["robot"]["model"]["joints"]][0] == "shoulder_pan"
    connected = recv_until(events, lambda e: e["type"] == "robot_connected")
    assert connected["data"]["robot_id"] == robot.pk and connected["data"]["status"] == "online"
    assert site.http.get(f"/api/v1/robots/{robot.pk}/").json()["status"] == "online"

    connection_id = site.connect_robot(robot)
    response = site.command(connection_id, "move_joints", {"positions": {"elbow": 0.5}, "duration": 1})
    assert response.status_code == 201, response.text
    command_id = response.json()["id"]
    message = recv_json(ws)
    assert message == {"type": "command", "command": {
        "id": command_id, "type": "move_joints", "params": {"positions": {"elbow": 0.5}, "duration": 1},
        "priority": 10, "deadline": message["command"]["deadline"]}}
    assert site.http.get(f"/api/v1/robots/commands/{command_id}").json()["status"] == "sent"

    ws.send(json.dumps({"type": "ack", "command_id": command_id}))
    update = recv_until(events, lambda e: e["type"] == "command_update")
    assert update["data"]["status"] == "acknowledged"
    ws.send(json.dumps({"type": "progress", "command_id": command_id, "progress": 0.5}))
    recv_until(events, lambda e: e["type"] == "command_update" and e["data"]["progress"] == 0.5)
    ws.send(json.dumps({"type": "state", "seq": 0, "joints": {"elbow": 0.25}, "battery": 0.9, "mode": "teleop"}))
    state = recv_until(events, lambda e: e["type"] == "robot_status_update")
    assert state["data"]["state"] == {"joints": {"elbow": 0.25}, "battery": 0.9, "mode": "teleop"}
    ws.send(json.dumps({"type": "result", "command_id": command_id, "status": "completed",
                        "result": {"final": {"elbow": 0.5}}}))
    done = recv_until(events, lambda e: e["type"] == "command_completed")
    assert done["data"] == {"command_id": command_id, "robot_id": robot.pk, "type": "move_joints",
                            "status": "completed", "result": {"final": {"elbow": 0.5}}}
    assert set(done) == {"type", "id", "at", "data"}
    body = site.http.get(f"/api/v1/robots/commands/{command_id}").json()
    assert body["status"] == "completed" and body["progress"] == 1.0 and body["acknowledged_at"]
    state = site.http.get(f"/api/v1/robots/connections/{connection_id}/state").json()
    assert state["state"]["joints"] == {"elbow": 0.25} and state["robot_status"] == "online"
    ws.close()
    events.close()


def test_bad_agent_messages_get_errors_and_the_socket_stays_open(setup):
    server, site, robot, credential = setup
    ws, _ = agent(server, credential)
    cases = [
        ("{oops", "invalid_json"),
        (json.dumps({"type": "result", "command_id": "x", "status": "completed"}), "invalid_message"),
        (json.dumps({"type": "result", "command_id": 999999, "status": "completed"}), "not_found"),
        (json.dumps({"type": "result", "command_id": 1, "status": "exploded"}), "invalid_message"),
        (json.dumps({"type": "state", "seq": -1, "joints": {}}), "invalid_message"),
        (json.dumps({"type": "state", "seq": 1, "joints": {"elbow": "high"}}), "invalid_message"),
        (json.dumps({"type": "fly"}), "unknown_type"),
    ]
    for text, code in cases:
        ws.send(text)
        reply = recv_json(ws)
        assert reply["type"] == "error" and reply["code"] == code, (text, reply)
    ws.send(json.dumps({"type": "ping", "id": 3}))
    assert recv_json(ws) == {"type": "pong", "id": 3}
    ws.close()


def test_another_robots_command_cannot_be_answered(setup):
    server, site, robot, credential = setup
    other, other_credential = registered_robot(robot.organization, name="Other arm")
    ws, _ = agent(server, credential)
    other_ws, _ = agent(server, other_credential)
    connection_id = site.connect_robot(robot)
    command_id = site.command(connection_id, "stop").json()["id"]
    assert recv_json(ws)["command"]["id"] == command_id
    other_ws.send(json.dumps({"type": "result", "command_id": command_id, "status": "failed", "error": "hijack"}))
    assert recv_json(other_ws)["code"] == "not_found"
    assert RobotCommand.objects.get(pk=command_id).status == "sent"
    ws.close()
    other_ws.close()


def test_queued_commands_arrive_on_reconnect_once_emergency_stop_first(setup):
    server, site, robot, credential = setup
    connection_id = site.connect_robot(robot)
    assert site.command(connection_id, "set_mode", {"mode": "idle"}).status_code == 409  # offline, not queued
    first = site.command(connection_id, "set_mode", {"mode": "teleop"}, queue=True).json()["id"]
    second = site.command(connection_id, "move_joints", {"positions": {"elbow": 0.1}}, queue=True).json()["id"]
    estop = site.command(connection_id, "emergency_stop", queue=True).json()["id"]
    ws, welcome = agent(server, credential)
    assert welcome["pending"] == 3
    received = [recv_json(ws)["command"]["id"] for _ in range(3)]
    assert received == [estop, first, second]
    ws.close()
    # Reconnecting does not deliver them again: they were sent (and failed when the robot left).
    time.sleep(0.5)
    ws, welcome = agent(server, credential)
    assert welcome["pending"] == 0
    with pytest.raises(TimeoutError):
        ws.recv(timeout=1)
    ws.close()


def test_robot_disconnecting_mid_command_fails_it_and_tells_the_user(setup):
    server, site, robot, credential = setup
    events = site.events()
    ws, _ = agent(server, credential)
    connection_id = site.connect_robot(robot)
    command_id = site.command(connection_id, "move_joints", {"positions": {"elbow": 1.0}}).json()["id"]
    recv_json(ws)
    ws.send(json.dumps({"type": "ack", "command_id": command_id}))
    recv_until(events, lambda e: e["type"] == "command_update")
    ws.close()
    failed = recv_until(events, lambda e: e["type"] == "command_failed")
    assert failed["data"]["command_id"] == command_id
    assert "disconnected" in failed["data"]["error"]
    recv_until(events, lambda e: e["type"] == "robot_disconnected")
    body = site.http.get(f"/api/v1/robots/commands/{command_id}").json()
    assert body["status"] == "failed"
    assert site.http.get(f"/api/v1/robots/{robot.pk}/").json()["status"] == "offline"
    assert site.command(connection_id, "stop").status_code == 409
    events.close()


def test_stale_state_is_dropped(setup):
    server, site, robot, credential = setup
    events = site.events()
    ws, _ = agent(server, credential)
    ws.send(json.dumps({"type": "state", "seq": 5, "joints": {"elbow": 0.5}}))
    assert recv_until(events, lambda e: e["type"] == "robot_status_update")["data"]["state"]["joints"] == {"elbow": 0.5}
    time.sleep(0.2)  # past the publish interval
    ws.send(json.dumps({"type": "state", "seq": 4, "joints": {"elbow": 0.4}}))  # older: dropped
    ws.send(json.dumps({"type": "state", "seq": 6, "joints": {"elbow": 0.6}}))
    update = recv_until(events, lambda e: e["type"] == "robot_status_update")
    assert update["data"]["state"]["joints"] == {"elbow": 0.6}
    ws.close()
    events.close()


def test_events_reach_only_members_of_the_robots_organization(setup):
    server, site, robot, credential = setup
    outsider = Site(server, member(OrganizationFactory(), Role.OWNER))
    theirs = outsider.events()
    ws, _ = agent(server, credential)
    with pytest.raises(TimeoutError):
        theirs.recv(timeout=1)
    ws.close()
    theirs.close()


def test_commands_time_out_in_the_server_process(transactional_db, test_database_url):
    """No result within ROBOT_COMMAND_TIMEOUT: the command times out and the user is told."""
    server = harness.DaphneServer(test_database_url, env={"ROBOT_COMMAND_TIMEOUT": "1"})
    try:
        server.wait_ready()
        organization = OrganizationFactory()
        site = Site(server, member(organization, Role.EDITOR))
        robot, credential = registered_robot(organization)
        events = site.events()
        ws, _ = agent(server, credential)
        connection_id = site.connect_robot(robot)
        command_id = site.command(connection_id, "move_joints", {"positions": {"elbow": 0.2}}).json()["id"]
        recv_json(ws)  # received, never answered
        harness.wait_until(lambda: RobotCommand.objects.get(pk=command_id).status == "timed_out", 15, 0.2,
                           "the command to time out")
        if settings.REDIS_URL:
            # Whichever process swept it (this server, or the suite's other one), the user hears of it
            # through the shared channel layer; with in-process layers only the sweeper's own clients do.
            timed_out = recv_until(events, lambda e: e["type"] == "command_failed", timeout=15)
            assert timed_out["data"]["command_id"] == command_id and timed_out["data"]["status"] == "timed_out"
        ws.close()
        events.close()
    finally:
        server.stop()


@pytest.mark.redis
def test_redis_restarting_under_a_connected_robot_loses_no_command(transactional_db, test_database_url, redis_url):
    """A private Redis server is restarted while the robot is connected: the command issued after
    it reaches the agent exactly once (on the same socket, or after the agent reconnects)."""
    import shutil
    import subprocess

    redis_server = shutil.which("redis-server")
    if redis_server is None:
        harness.unavailable("redis-server is not installed")
    port = harness.free_port()

    def start_redis():
        process = subprocess.Popen([redis_server, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                                    "--appendonly", "no"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        import redis

        harness.wait_until(lambda: redis.Redis(port=port, socket_connect_timeout=1).ping(), 10, 0.1, "redis")
        return process

    redis_process = start_redis()
    server = harness.DaphneServer(test_database_url, env={"REDIS_URL": f"redis://127.0.0.1:{port}/0"})
    try:
        server.wait_ready()
        organization = OrganizationFactory()
        site = Site(server, member(organization, Role.EDITOR))
        robot, credential = registered_robot(organization)
        ws, _ = agent(server, credential)
        connection_id = site.connect_robot(robot)

        redis_process.terminate()
        redis_process.wait(10)
        redis_process = start_redis()

        response = site.command(connection_id, "set_mode", {"mode": "teleop"})
        assert response.status_code == 201, response.text
        command_id = response.json()["id"]
        received = []
        deadline = time.monotonic() + 12
        while time.monotonic() < deadline:
            try:
                if ws is None:  # what a real agent does: reconnect, with a pause
                    time.sleep(0.5)
                    ws, _ = agent(server, credential)
                message = recv_json(ws, timeout=max(0.1, deadline - time.monotonic()))
            except TimeoutError:
                break
            except ConnectionClosed:
                ws = None
                continue
            if message.get("type") == "command":
                received.append(message["command"]["id"])
        assert received == [command_id]
        assert RobotCommand.objects.get(pk=command_id).status != "pending"
    finally:
        server.stop()
        redis_process.terminate()
        redis_process.wait(10)

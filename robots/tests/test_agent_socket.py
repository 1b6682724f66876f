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
from robots.models import Robot, RobotCommand
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
_agents_opened: list[tuple] = []  # (server, robot id) of each agent socket the helpers opened


@pytest.fixture(autouse=True)
def _close_sockets(transactional_db):
    """Sockets opened by the helpers below close when the test ends, whatever happens; and before
    the database is flushed, a server that is still running has finished with the robots that left
    (its disconnect writes would otherwise race the flush)."""
    yield
    _open_sockets.close()
    agents = [robot_id for server, robot_id in _agents_opened if server.process.poll() is None]
    _agents_opened.clear()
    with contextlib.suppress(TimeoutError):
        harness.wait_until(lambda: not Robot.objects.filter(pk__in=agents, status__in=["online", "busy"]).exists(),
                           5, 0.05, "the robots to go offline")


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
    _agents_opened.append((server, welcome["robot"]["id"]))
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


# --- telemetry: coalesced per tick, batches, and what never waits behind it ---------------------
def state(seq: int, value: float = 0.0, **joints) -> str:
    return json.dumps({"type": "state", "seq": seq, "joints": {"elbow": value, **joints}})


def status_updates(ws, robot_id, until, timeout=10):
    """The robot's `robot_status_update` events until one matches `until`."""
    updates = []
    recv_until(ws, lambda e: e["type"] == "robot_status_update" and e["data"]["robot_id"] == robot_id
               and (updates.append(e) or until(e)), timeout)
    return updates


def test_telemetry_in_batches_for_the_clients_that_ask(setup):
    server, site, robot, credential = setup
    other, other_credential = registered_robot(robot.organization, name="Other arm")
    separate = site.events()
    batched = open_socket(f"{server.ws_url}/ws/v1/connect/?token={site.token}&telemetry=batch")
    assert recv_json(batched)["type"] == "hello"
    ws, _ = agent(server, credential)
    other_ws, _ = agent(server, other_credential)
    for seq in range(3):
        ws.send(state(seq, 0.1 * seq))
        other_ws.send(state(seq, -0.1 * seq))
        time.sleep(0.25)  # past a tick each time
    batches = []
    deadline = time.monotonic() + 10
    seen = {}
    while set(seen) != {robot.pk, other.pk} or seen[robot.pk] != 0.2 or seen[other.pk] != -0.2:
        event = recv_json(batched, max(0.1, deadline - time.monotonic()))
        assert event["type"] in ("robot_status_batch", "robot_connected"), event
        if event["type"] == "robot_status_batch":
            assert set(event) == {"type", "id", "at", "data"} and list(event["data"]) == ["robots"]
            batches.append(event)
            for data in event["data"]["robots"]:
                assert set(data) == {"robot_id", "status", "state", "at"}
                seen[data["robot_id"]] = data["state"]["joints"]["elbow"]
    # The same data objects reach the default socket, one event per robot and state.
    updates = status_updates(separate, robot.pk, lambda e: e["data"]["state"]["joints"]["elbow"] == 0.2)
    assert updates[-1]["data"]["state"] == {"joints": {"elbow": 0.2}, "battery": None, "mode": ""}
    assert any(d == updates[-1]["data"] for b in batches for d in b["data"]["robots"])
    # One frame per tick for both robots (a tick may fall between a pair's two states).
    assert len(batches) <= 6 and any(len(b["data"]["robots"]) == 2 for b in batches)


def test_states_within_a_tick_are_coalesced_to_the_newest(setup):
    server, site, robot, credential = setup
    events = site.events()
    ws, _ = agent(server, credential)
    for seq in range(50):  # back to back: well within one tick (a tick may still fall inside)
        ws.send(state(seq, seq / 100))
    updates = status_updates(events, robot.pk, lambda e: e["data"]["state"]["joints"]["elbow"] == 0.49)
    assert len(updates) <= 2, [u["data"]["state"] for u in updates]
    with pytest.raises(TimeoutError):
        recv_until(events, lambda e: e["type"] == "robot_status_update", timeout=0.5)


def test_every_state_is_published_when_the_agent_reports_at_the_publish_rate(setup):
    """2 s at exactly ROBOT_STATE_PUBLISH_HZ: not one state is lost to the timing of the ticks."""
    server, site, robot, credential = setup
    events = site.events()
    ws, _ = agent(server, credential)
    count = int(2 * settings.ROBOT_STATE_PUBLISH_HZ)
    period = 1.0 / settings.ROBOT_STATE_PUBLISH_HZ
    start = time.monotonic()
    for seq in range(count):
        time.sleep(max(0.0, start + seq * period - time.monotonic()))
        ws.send(state(seq, seq / 1000))
    updates = status_updates(events, robot.pk, lambda e: e["data"]["state"]["joints"]["elbow"] == (count - 1) / 1000)
    assert [round(u["data"]["state"]["joints"]["elbow"] * 1000) for u in updates] == list(range(count))


def test_a_flood_of_state_does_not_delay_a_commands_answers(setup):
    server, site, robot, credential = setup
    events = site.events()
    ws, _ = agent(server, credential)
    connection_id = site.connect_robot(robot)
    command_id = site.command(connection_id, "set_mode", {"mode": "idle"}).json()["id"]
    assert recv_json(ws)["command"]["id"] == command_id
    for seq in range(2000):
        ws.send(state(seq, seq / 10000))
    started = time.monotonic()
    ws.send(json.dumps({"type": "ack", "command_id": command_id}))
    ws.send(json.dumps({"type": "result", "command_id": command_id, "status": "completed", "result": None}))
    recv_until(events, lambda e: e["type"] == "command_completed" and e["data"]["command_id"] == command_id)
    assert time.monotonic() - started < 1.0


def _rss_bytes(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def test_a_client_that_stops_reading_loses_only_telemetry(transactional_db, test_database_url):
    """20 robots stream big states at 20 Hz to a client that reads nothing for 8 s: the server's
    memory stays flat (telemetry for that socket is skipped while its backlog is over the bound),
    and when the client reads again the command result it missed is right behind a short backlog."""
    import socket
    import sys
    import threading

    if not sys.platform.startswith("linux"):
        pytest.skip("reads the server's memory from /proc")
    server = harness.DaphneServer(test_database_url, env={"ROBOT_STATE_PUBLISH_HZ": "20"})
    sockets = contextlib.ExitStack()
    try:
        server.wait_ready()
        organization = OrganizationFactory()
        site = Site(server, member(organization, Role.EDITOR))
        robots = [registered_robot(organization, name=f"Arm {i}") for i in range(20)]
        agents = [sockets.enter_context(connect(f"{server.ws_url}/ws/v1/robots/agent/",
                                                additional_headers={"Authorization": f"Bearer {credential}"}))
                  for _, credential in robots]
        for ws in agents:
            assert recv_json(ws)["type"] == "welcome"
        # A small kernel receive buffer, and a client library that stops reading the socket once
        # it holds two frames nobody has asked for.
        raw = socket.socket()
        raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        raw.connect(("127.0.0.1", server.port))
        slow = sockets.enter_context(connect(f"{server.ws_url}/ws/v1/connect/?token={site.token}", sock=raw,
                                             max_queue=2))
        assert recv_json(slow)["type"] == "hello"

        joints = {f"a_joint_with_quite_a_long_name_to_make_state_big_{i:03d}": 0.125 for i in range(100)}
        stop = threading.Event()

        def stream():
            seq = 0
            next_at = time.monotonic()
            while not stop.is_set():
                for ws in agents:
                    ws.send(json.dumps({"type": "state", "seq": seq, "joints": joints}))
                seq += 1
                next_at += 0.05
                time.sleep(max(0.0, next_at - time.monotonic()))

        streamer = threading.Thread(target=stream, daemon=True)
        streamer.start()
        try:
            time.sleep(2)
            before = _rss_bytes(server.process.pid)
            time.sleep(8)
            after = _rss_bytes(server.process.pid)
        finally:
            stop.set()
            streamer.join(10)
        # Unbounded, the server would hold ~20 robots x 20 Hz x 5 kB x 8 s = 16 MB for this client.
        assert after - before < 4 * 1024 * 1024, (before, after)

        robot = robots[0][0]
        connection_id = site.connect_robot(robot)
        command_id = site.command(connection_id, "set_mode", {"mode": "idle"}).json()["id"]
        assert recv_until(agents[0], lambda m: m["type"] == "command")["command"]["id"] == command_id
        agents[0].send(json.dumps({"type": "result", "command_id": command_id, "status": "completed"}))
        time.sleep(0.5)
        received = 0
        deadline = time.monotonic() + 20
        while True:
            text = slow.recv(timeout=max(0.1, deadline - time.monotonic()))
            event = json.loads(text)
            if event["type"] == "command_completed" and event["data"]["command_id"] == command_id:
                break
            received += len(text)
        # What was queued for it: the bounded backlog and the kernel's socket buffers (the
        # server's send buffer grows to a few MB, see tcp_wmem), not 8 s of state (~20 MB).
        assert received < 8 * 1024 * 1024, received
    finally:
        sockets.close()
        server.stop()

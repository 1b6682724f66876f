"""The simulated robot (pure) and its agent, run in-process against a tiny scripted socket server
that plays the platform's side of docs/robot-protocol.md. No database, no Django server."""

import asyncio
import contextlib
import json
import signal
import socket
import sys
from pathlib import Path

import pytest
from websockets.asyncio.server import serve
from websockets.exceptions import ConnectionClosed

from robots.agent import (
    BATTERY_IDLE_DRAIN_PER_S,
    EMERGENCY_STOPPED,
    ESTOP,
    SHUTTING_DOWN,
    STOPPED,
    JointSpec,
    RobotError,
    SimulatedRobot,
    reconnect_delay,
    run_agent,
)

REPO_ROOT = Path(__file__).resolve().parents[2]
CREDENTIAL = "k3y1d.s3cret-part"
# j2 names no max_velocity: the agent's default of 1.0 rad/s applies.
JOINTS = [
    {"name": "j1", "min": -1.0, "max": 1.0, "max_velocity": 2.0},
    {"name": "j2", "min": 0.0, "max": 2.0},
]


def welcome(pending: int = 0) -> dict:
    return {"type": "welcome", "pending": pending, "robot": {
        "id": 7, "name": "Test arm", "serial": "SN-7", "model": {"slug": "test-arm", "kind": "arm", "joints": JOINTS},
    }}


def command(command_id: int, kind: str, **params) -> dict:
    return {"type": "command", "command": {
        "id": command_id, "type": kind, "params": params, "priority": 0 if kind == "emergency_stop" else 10,
        "deadline": "2030-01-01T00:00:00+00:00",
    }}


def is_result(command_id: int):
    return lambda message: message["type"] == "result" and message["command_id"] == command_id


def is_progress(command_id: int):
    return lambda message: message["type"] == "progress" and message["command_id"] == command_id


def is_state(message: dict) -> bool:
    return message["type"] == "state"


def about(command_id: int, messages: list[dict]) -> list[dict]:
    return [message for message in messages if message.get("command_id") == command_id]


# --- SimulatedRobot ---------------------------------------------------------------------------
def test_motion_is_velocity_limited_and_reaches_the_target():
    robot = SimulatedRobot(JOINTS)
    robot.set_targets({"j1": 1.0, "j2": 1.5})
    previous = dict(robot.positions)
    for _ in range(10):
        robot.step(0.05)
        assert abs(robot.positions["j1"] - previous["j1"]) <= 2.0 * 0.05 + 1e-9
        assert abs(robot.positions["j2"] - previous["j2"]) <= 1.0 * 0.05 + 1e-9  # default max_velocity
        previous = dict(robot.positions)
    assert robot.positions == pytest.approx({"j1": 1.0, "j2": 0.5})  # j1 arrived, j2 still on its way
    assert not robot.at_target()
    robot.step(1.0)
    assert robot.positions == {"j1": 1.0, "j2": 1.5}  # exactly, not overshooting
    assert robot.at_target() and robot.remaining_distance() == 0


def test_speed_scale_multiplies_joint_velocities():
    robot = SimulatedRobot(JOINTS, speed_scale=3.0)
    robot.set_targets({"j2": 2.0})
    robot.step(0.5)
    assert robot.positions["j2"] == pytest.approx(1.5)


def test_targets_are_clamped_to_the_joint_limits():
    robot = SimulatedRobot(JOINTS)
    assert robot.set_targets({"j1": 5.0, "j2": -3.0}) == {"j1": 1.0, "j2": 0.0}
    robot.step(10.0)
    assert robot.positions == {"j1": 1.0, "j2": 0.0}


def test_joints_start_inside_their_limits_and_keep_positions_on_reconfigure():
    robot = SimulatedRobot([{"name": "lift", "min": 0.5, "max": 1.0}])
    assert robot.positions == {"lift": 0.5}
    robot.set_targets({"lift": 0.9})
    robot.step(1.0)
    robot.configure([{"name": "lift", "min": 0.0, "max": 0.8}, {"name": "grip", "min": -1.0, "max": 1.0}])
    assert robot.positions == {"lift": 0.8, "grip": 0.0}
    assert robot.at_target()


def test_duration_makes_joints_arrive_together_unless_their_limits_forbid_it():
    robot = SimulatedRobot(JOINTS)
    robot.set_targets({"j1": 1.0, "j2": 0.5}, duration=1.0)
    robot.step(0.5)
    assert robot.positions == pytest.approx({"j1": 0.5, "j2": 0.25})
    robot.step(0.5)
    assert robot.positions == pytest.approx({"j1": 1.0, "j2": 0.5})
    robot.set_targets({"j2": 2.0}, duration=0.1)  # would need 15 rad/s; j2 can do 1
    robot.step(0.5)
    assert robot.positions["j2"] == pytest.approx(1.0)


def test_unknown_joints_and_bad_positions_are_refused():
    robot = SimulatedRobot(JOINTS)
    with pytest.raises(RobotError, match="unknown joint"):
        robot.set_targets({"elbow": 0.1})
    with pytest.raises(RobotError, match="finite"):
        robot.set_targets({"j1": float("nan")})
    with pytest.raises(ValueError):
        JointSpec.from_dict({"name": "j", "min": 1.0, "max": -1.0})


def test_stop_halts_where_the_robot_is():
    robot = SimulatedRobot(JOINTS)
    robot.set_targets({"j2": 2.0})
    robot.step(0.3)
    robot.stop()
    robot.step(1.0)
    assert robot.positions["j2"] == pytest.approx(0.3)
    assert robot.at_target() and robot.mode == "idle"


def test_emergency_stop_halts_sets_estop_and_refuses_motion_until_a_mode_is_set():
    robot = SimulatedRobot(JOINTS)
    robot.set_targets({"j1": 1.0})
    robot.step(0.1)
    robot.emergency_stop()
    robot.step(1.0)
    assert robot.mode == ESTOP
    assert robot.positions["j1"] == pytest.approx(0.2)
    with pytest.raises(RobotError, match="emergency stop"):
        robot.set_targets({"j1": 0.0})
    with pytest.raises(RobotError, match="unknown mode"):
        robot.set_mode("flying")
    robot.set_mode("idle")
    robot.set_targets({"j1": 0.0})
    robot.step(1.0)
    assert robot.positions["j1"] == 0.0


def test_battery_drains_slowly_and_faster_when_moving():
    idle, moving = SimulatedRobot(JOINTS), SimulatedRobot(JOINTS, speed_scale=0.001)
    moving.set_targets({"j2": 2.0})
    for _ in range(100):
        idle.step(1.0)
        moving.step(1.0)
    assert idle.battery == pytest.approx(1.0 - 100 * BATTERY_IDLE_DRAIN_PER_S)
    assert 0.9 < moving.battery < idle.battery < 1.0
    assert idle.snapshot() == {"joints": {"j1": 0.0, "j2": 0.0}, "battery": round(idle.battery, 5), "mode": "idle"}


class FixedRandom:
    def __init__(self, value: float):
        self.value = value

    def random(self) -> float:
        return self.value


def test_reconnect_delay_doubles_from_half_a_second_to_ten_with_jitter():
    top = [reconnect_delay(attempt, rng=FixedRandom(1.0)) for attempt in range(8)]
    assert top == [0.5, 1.0, 2.0, 4.0, 8.0, 10.0, 10.0, 10.0]
    bottom = [reconnect_delay(attempt, rng=FixedRandom(0.0)) for attempt in range(8)]
    assert bottom == [delay / 2 for delay in top]
    assert reconnect_delay(10_000, rng=FixedRandom(0.5)) == 7.5


# --- Agent against a scripted server ----------------------------------------------------------
class Peer:
    """The server's end of one agent connection; records everything the agent sends."""

    def __init__(self, ws, received: list[dict]):
        self.ws = ws
        self.received = received

    async def send(self, message: dict) -> None:
        await self.ws.send(json.dumps(message))

    async def expect(self, predicate, timeout: float = 3.0) -> dict:
        async with asyncio.timeout(timeout):
            while True:
                message = json.loads(await self.ws.recv())
                self.received.append(message)
                if predicate(message):
                    return message


class FakePlatform:
    """Runs `script(peer, index)` for each agent connection, then records until the agent leaves."""

    def __init__(self, script, connections: int):
        self.script = script
        self.expected_connections = connections
        self.received: list[list[dict]] = []
        self.authorization: list[str | None] = []
        self.close_codes: list[int | None] = []
        self.scripts_done = 0
        self.finished = asyncio.Event()
        self.error: BaseException | None = None

    async def handler(self, ws) -> None:
        received: list[dict] = []
        self.received.append(received)
        self.authorization.append(ws.request.headers.get("Authorization"))
        try:
            await self.script(Peer(ws, received), len(self.received) - 1)
        except BaseException as exc:
            self.error = exc
            self.finished.set()
            raise
        self.scripts_done += 1
        if self.scripts_done >= self.expected_connections:
            self.finished.set()
        with contextlib.suppress(ConnectionClosed):
            async for raw in ws:
                received.append(json.loads(raw))
        self.close_codes.append(ws.close_code)


async def run_scenario(script, *, connections: int = 1, speed_scale: float = 1.0, state_hz: float = 20.0,
                       port: int = 0, timeout: float = 5.0) -> FakePlatform:
    platform = FakePlatform(script, connections)
    async with serve(platform.handler, "127.0.0.1", port) as server:
        url = f"ws://127.0.0.1:{server.sockets[0].getsockname()[1]}/ws/v1/robots/agent/"
        stop = asyncio.Event()
        agent = asyncio.create_task(run_agent(url, CREDENTIAL, state_hz=state_hz, speed_scale=speed_scale,
                                              stop_event=stop))
        finished = asyncio.create_task(platform.finished.wait())
        try:
            await asyncio.wait([agent, finished], timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stop.set()
            finished.cancel()
            await asyncio.wait_for(agent, 3.0)
    if platform.error is not None:
        raise platform.error
    assert platform.finished.is_set(), "the script did not finish in time"
    return platform


def test_agent_acks_reports_progress_completes_a_move_and_streams_state():
    async def script(peer, index):
        await peer.send(welcome())
        await peer.expect(is_state)  # state flows before any command
        await peer.send({"type": "ping", "id": 5})
        await peer.expect(lambda message: message == {"type": "pong", "id": 5})
        await peer.ws.send("{not json")  # ignored; the connection stays up
        await peer.send(command(12, "move_joints", positions={"j1": 0.8, "j2": 1.5}))
        await peer.expect(is_result(12))
        await peer.expect(lambda message: is_state(message) and message["joints"]["j2"] == 1.5)

    platform = asyncio.run(run_scenario(script, speed_scale=2.0))  # j2 needs 0.75 s

    assert platform.authorization == [f"Bearer {CREDENTIAL}"]
    received = platform.received[0]
    lifecycle = about(12, received)
    assert lifecycle[0] == {"type": "ack", "command_id": 12}
    progress = [message["progress"] for message in lifecycle if message["type"] == "progress"]
    assert len(progress) >= 2 and progress[-1] == 1.0  # at least one on the way, then 1.0
    assert progress == sorted(progress) and all(0.0 <= value <= 1.0 for value in progress)
    assert len(progress) <= 0.75 * 5 + 2  # at most ~5 a second
    assert lifecycle[-1] == {"type": "result", "command_id": 12, "status": "completed",
                             "result": {"positions": {"j1": 0.8, "j2": 1.5}}, "error": ""}
    states = [message for message in received if is_state(message)]
    assert [state["seq"] for state in states] == list(range(len(states)))
    assert set(states[0]) == {"type", "seq", "joints", "battery", "mode"}
    assert states[0]["joints"] == {"j1": 0.0, "j2": 0.0} and states[0]["mode"] == "idle"
    middle = [state["joints"]["j2"] for state in states if 0.0 < state["joints"]["j2"] < 1.5]
    assert middle == sorted(middle) and middle  # seen moving, velocity-limited
    assert platform.close_codes == [1000]


def test_stop_during_a_move_fails_it_with_stopped_and_halts():
    async def script(peer, index):
        await peer.send(welcome())
        await peer.send(command(12, "move_joints", positions={"j2": 2.0}))  # 2 s at 1 rad/s
        await peer.expect(is_progress(12))
        await peer.send(command(13, "stop"))
        await peer.expect(is_result(13))  # the stop answers first, then the move it cancelled
        await peer.expect(is_result(12))
        for _ in range(3):
            await peer.expect(is_state)

    platform = asyncio.run(run_scenario(script))

    received = platform.received[0]
    failed = about(12, received)[-1]
    assert failed["status"] == "failed" and failed["error"] == STOPPED
    halted_at = failed["result"]["positions"]["j2"]
    assert 0.0 < halted_at < 2.0
    assert about(13, received) == [
        {"type": "ack", "command_id": 13},
        {"type": "result", "command_id": 13, "status": "completed", "result": {"cancelled": [12]}, "error": ""},
    ]
    last_states = [message for message in received if is_state(message)][-3:]
    assert [state["joints"]["j2"] for state in last_states] == [halted_at] * 3


def test_emergency_stop_during_a_move_cancels_everything_and_locks_motion_until_a_mode_is_set():
    async def script(peer, index):
        await peer.send(welcome())
        await peer.send(command(12, "move_joints", positions={"j2": 2.0}))
        await peer.send(command(13, "move_joints", positions={"j1": -1.0}))  # waits behind 12
        await peer.expect(is_progress(12))
        await peer.send(command(14, "emergency_stop"))
        for command_id in (14, 12, 13):
            await peer.expect(is_result(command_id))
        await peer.expect(lambda message: is_state(message) and message["mode"] == ESTOP)
        await peer.send(command(15, "move_joints", positions={"j1": 0.5}))
        await peer.expect(is_result(15))
        await peer.send(command(16, "set_mode", mode="teleop"))
        await peer.expect(is_result(16))
        await peer.send(command(17, "move_joints", positions={"j1": 0.1}))
        await peer.expect(is_result(17))

    platform = asyncio.run(run_scenario(script))

    received = platform.received[0]
    estop = about(14, received)
    assert estop[0] == {"type": "ack", "command_id": 14}
    assert estop[-1]["status"] == "completed"
    assert estop[-1]["result"] == {"mode": ESTOP, "cancelled": [12, 13]}
    for command_id in (12, 13):
        assert about(command_id, received)[-1]["status"] == "failed"
        assert about(command_id, received)[-1]["error"] == EMERGENCY_STOPPED
    # The estop was answered while 12 was still moving, not after it would have finished.
    assert received.index(estop[-1]) < received.index(about(12, received)[-1])
    refused = about(15, received)[-1]
    assert refused["status"] == "failed" and "emergency stop" in refused["error"]
    assert about(16, received)[-1]["result"] == {"mode": "teleop"}
    assert about(17, received)[-1]["status"] == "completed"


def test_agent_reconnects_restarts_seq_and_answers_a_resent_command_without_redoing_it():
    async def script(peer, index):
        await peer.send(welcome())
        if index == 0:
            await peer.send(command(12, "move_joints", positions={"j1": 0.2}))
            await peer.expect(is_result(12))
            for _ in range(3):
                await peer.expect(is_state)
            await peer.ws.close(1011, "server restarting")
        else:
            await peer.send(command(12, "move_joints", positions={"j1": 0.2}))
            await peer.expect(is_result(12))
            for _ in range(2):
                await peer.expect(is_state)

    platform = asyncio.run(run_scenario(script, connections=2, speed_scale=5.0))

    first, second = platform.received
    assert [m["seq"] for m in second if is_state(m)] == list(range(len([m for m in second if is_state(m)])))
    assert [m["seq"] for m in first if is_state(m)][-1] >= 2
    redone = about(12, second)
    assert [message["type"] for message in redone] == ["ack", "result"]  # no progress: not moved again
    assert redone[-1] == about(12, first)[-1]
    assert platform.close_codes == [1011, 1000]


def test_agent_keeps_retrying_until_the_server_is_reachable():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]

    async def scenario():
        stop = asyncio.Event()
        url = f"ws://127.0.0.1:{port}/ws/v1/robots/agent/"
        agent = asyncio.create_task(run_agent(url, CREDENTIAL, state_hz=20.0, stop_event=stop))
        await asyncio.sleep(0.8)  # two refused attempts at least (0.25-0.5 s, then 0.5-1 s)
        assert not agent.done()
        connected = asyncio.Event()

        async def handler(ws):
            await ws.send(json.dumps(welcome()))
            await ws.recv()
            connected.set()
            with contextlib.suppress(ConnectionClosed):
                await ws.wait_closed()

        async with serve(handler, "127.0.0.1", port):
            await asyncio.wait_for(connected.wait(), 3.0)
            stop.set()
            await asyncio.wait_for(agent, 3.0)

    asyncio.run(scenario())


def test_stopping_the_agent_fails_the_running_command_and_closes_normally():
    async def script(peer, index):
        await peer.send(welcome())
        await peer.send(command(12, "play_skill", skill_id=3))  # no trajectory: a 2 s skill
        await peer.expect(is_progress(12))

    platform = asyncio.run(run_scenario(script))

    assert about(12, platform.received[0])[-1]["error"] == SHUTTING_DOWN
    assert platform.close_codes == [1000]


def test_play_skill_follows_its_trajectory():
    trajectory = [{"t": 0.0, "positions": {"j1": 0.2}}, {"t": 0.5, "positions": {"j1": 0.4}},
                  {"t": 1.0, "positions": {"j1": -0.2, "j2": 0.5}}]

    async def script(peer, index):
        await peer.send(welcome())
        await peer.send(command(12, "replay_episode", episode_id=5, trajectory=trajectory))
        await peer.expect(is_result(12))

    platform = asyncio.run(run_scenario(script, speed_scale=4.0))

    result = about(12, platform.received[0])[-1]
    assert result["status"] == "completed"
    assert result["result"] == {"episode_id": 5, "waypoints": 3, "positions": {"j1": -0.2, "j2": 0.5}}


# --- the command line -------------------------------------------------------------------------
async def _agent_process(url: str, credential: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "robots.agent", "--url", url, "--credential", credential, "--state-hz", "20",
        cwd=REPO_ROOT, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )


def test_a_rejected_credential_exits_with_status_2_and_says_why():
    async def scenario():
        async def handler(ws):
            await ws.close(4401, "invalid credential")

        async with serve(handler, "127.0.0.1", 0) as server:
            url = f"ws://127.0.0.1:{server.sockets[0].getsockname()[1]}/ws/v1/robots/agent/"
            process = await _agent_process(url, "badkey.wrong-secret")
            _, stderr = await asyncio.wait_for(process.communicate(), 10.0)
            return process.returncode, stderr.decode()

    returncode, stderr = asyncio.run(scenario())
    assert returncode == 2
    assert "4401" in stderr and "credential" in stderr
    assert "wrong-secret" not in stderr  # only the key id is ever logged


def test_sigterm_stops_the_agent_cleanly():
    async def scenario():
        closed_with = []
        streaming = asyncio.Event()

        async def handler(ws):
            await ws.send(json.dumps(welcome()))
            with contextlib.suppress(ConnectionClosed):
                async for raw in ws:
                    if json.loads(raw)["type"] == "state":
                        streaming.set()
            closed_with.append(ws.close_code)

        async with serve(handler, "127.0.0.1", 0) as server:
            url = f"ws://127.0.0.1:{server.sockets[0].getsockname()[1]}/ws/v1/robots/agent/"
            process = await _agent_process(url, CREDENTIAL)
            try:
                await asyncio.wait_for(streaming.wait(), 10.0)
                process.send_signal(signal.SIGTERM)
                await asyncio.wait_for(process.communicate(), 5.0)
            finally:
                if process.returncode is None:
                    process.kill()
            await asyncio.sleep(0.1)
            return process.returncode, closed_with

    returncode, closed_with = asyncio.run(scenario())
    assert returncode == 0
    assert closed_with == [1000]


def test_the_agent_module_imports_no_django():
    check = ("import sys, robots.agent\n"
             "loaded = sorted(m for m in sys.modules if m.split('.')[0] in {'django', 'rest_framework', 'channels'})\n"
             "sys.exit(f'imported {loaded}' if loaded else 0)")
    completed = asyncio.run(_run(sys.executable, "-c", check))
    assert completed == (0, b"")


async def _run(*argv: str) -> tuple[int, bytes]:
    process = await asyncio.create_subprocess_exec(*argv, cwd=REPO_ROOT, stderr=asyncio.subprocess.PIPE)
    _, stderr = await asyncio.wait_for(process.communicate(), 20.0)
    return process.returncode, stderr

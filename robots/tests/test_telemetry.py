"""Telemetry coalescing, the events' encoding, the conditional command updates and the slow-client
probe, in-process (no server)."""

import asyncio
import functools
import json

import pytest
from rest_framework.exceptions import NotFound

from core import consumers as core_consumers
from core.events import Outbox, telemetry_message
from robots import services, telemetry
from robots.models import RobotCommand
from robots.tests.factories import registered_robot


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


@pytest.fixture
def clock(monkeypatch, settings):
    settings.ROBOT_STATE_PUBLISH_HZ = 10
    clock = Clock()
    monkeypatch.setattr(telemetry.time, "monotonic", clock)
    return clock


def data(robot_id: int, value: float) -> dict:
    return {"robot_id": robot_id, "status": "online", "state": {"joints": {"elbow": value}}, "at": "t"}


class TestCoalescing:
    def test_states_within_a_tick_become_one_update_with_the_newest(self, clock):
        publisher = telemetry.TelemetryPublisher()
        for value in (0.1, 0.2, 0.3):
            publisher.put(1, 7, data(7, value))
            clock.now += 0.01
        publisher.put(1, 8, data(8, 0.9))
        publisher.put(2, 9, data(9, 0.5))
        assert publisher.take() == {1: [data(7, 0.3), data(8, 0.9)], 2: [data(9, 0.5)]}
        assert publisher.take() == {}

    def test_a_burst_is_thinned_to_the_newest(self, clock):
        publisher = telemetry.TelemetryPublisher()
        for i in range(100):  # 1 kHz for a tenth of a second
            publisher.put(1, 7, data(7, i))
            clock.now += 0.001
        assert publisher.take() == {1: [data(7, 99)]}

    def test_states_at_the_publish_rate_are_never_merged_by_jitter(self, clock):
        """Two states a (jittered) period apart that land in one tick are both published, oldest
        first; only ever two per tick, so a faster robot is still thinned."""
        publisher = telemetry.TelemetryPublisher()
        publisher.put(1, 7, data(7, 1))
        clock.now += 0.095
        publisher.put(1, 7, data(7, 2))
        assert publisher.take() == {1: [data(7, 1), data(7, 2)]}
        for value in (3, 4, 5):
            publisher.put(1, 7, data(7, value))
            clock.now += 0.06
        assert publisher.take() == {1: [data(7, 4), data(7, 5)]}

    def test_a_robot_that_left_is_forgotten(self, clock):
        publisher = telemetry.TelemetryPublisher()
        publisher.put(1, 7, data(7, 1))
        publisher.put(1, 8, data(8, 1))
        publisher.discard(1, 7)
        assert publisher.take() == {1: [data(8, 1)]}

    def test_the_ticker_sends_one_message_per_organisation_and_tick(self, settings):
        settings.ROBOT_STATE_PUBLISH_HZ = 10
        sent = []

        class Layer:
            async def group_send(self, group, message):
                sent.append((group, message))

        async def scenario():
            publisher = telemetry.TelemetryPublisher()
            for robot_id in range(1, 51):
                publisher.put(3, robot_id, data(robot_id, 0.0))
            publisher.put(4, 99, data(99, 0.0))
            await asyncio.sleep(0.25)
            publisher._task.cancel()

        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(telemetry, "get_channel_layer", Layer)
            asyncio.run(scenario())
        assert sorted(group for group, _ in sent) == ["org.3", "org.4"]
        [message] = [m for group, m in sent if group == "org.3"]
        assert message["type"] == "user.telemetry" and len(message["frames"]) == 50


def test_a_tick_is_encoded_once_as_frames_and_as_a_batch():
    items = [data(7, 0.25), data(8, -1.5)]
    message = telemetry_message("robot_status_update", "robot_status_batch", "robots", items)
    frames = [json.loads(frame) for frame in message["frames"]]
    assert [frame["data"] for frame in frames] == items
    assert all(frame["type"] == "robot_status_update" and set(frame) == {"type", "id", "at", "data"}
               for frame in frames)
    batch = json.loads(message["batch"])
    assert set(batch) == {"type", "id", "at", "data"}
    assert batch["type"] == "robot_status_batch" and batch["data"] == {"robots": items}
    ids = [frame["id"] for frame in frames] + [batch["id"]]
    assert len(set(ids)) == 3 and batch["at"] == frames[0]["at"]


# --- the conditional command updates ------------------------------------------------------------
@pytest.fixture
def sent_command(db, editor, organization):
    robot, _ = registered_robot(organization, status="online")
    connection = services.open_connection(user=editor, organization=organization, robot=robot)
    command = services.send_command(actor=editor, connection=connection, type="stop", params={})
    services.mark_sent(robot=robot, command_id=command.pk)
    return robot, command


def test_ack_progress_and_result_are_single_conditional_updates(sent_command, django_assert_num_queries,
                                                                django_capture_on_commit_callbacks):
    robot, command = sent_command
    outbox = Outbox()
    with django_capture_on_commit_callbacks(execute=True):
        with django_assert_num_queries(1):
            assert services.acknowledge_command(robot=robot, command_id=command.pk, outbox=outbox) is True
        with django_assert_num_queries(2):  # nothing changed: was it this robot's command at all?
            assert services.acknowledge_command(robot=robot, command_id=command.pk, outbox=outbox) is False
        with django_assert_num_queries(1):
            assert services.report_progress(robot=robot, command_id=command.pk, progress=0.5, outbox=outbox)
        with django_assert_num_queries(1):
            assert services.finish_command(robot=robot, command_id=command.pk, status="completed",
                                           result={"ok": [1, 2]}, outbox=outbox)
    assert not services.finish_command(robot=robot, command_id=command.pk, status="failed", error="late")
    command.refresh_from_db()
    assert command.status == "completed" and command.result == {"ok": [1, 2]} and command.progress == 1.0
    assert command.sent_at and command.acknowledged_at and command.completed_at and command.error == ""
    base = {"command_id": command.pk, "robot_id": robot.pk, "type": "stop"}
    assert [(group, event["type"], event["data"]) for group, event in outbox.messages] == [
        (f"org.{robot.organization_id}", "command_update", {**base, "status": "acknowledged", "progress": 0.0}),
        (f"org.{robot.organization_id}", "command_update", {**base, "status": "acknowledged", "progress": 0.5}),
        (f"org.{robot.organization_id}", "command_completed", {**base, "status": "completed",
                                                               "result": {"ok": [1, 2]}}),
    ]


def test_a_failed_result_keeps_its_progress_and_a_null_result(sent_command):
    robot, command = sent_command
    services.report_progress(robot=robot, command_id=command.pk, progress=0.25)
    assert services.finish_command(robot=robot, command_id=command.pk, status="failed", error="x" * 600)
    command.refresh_from_db()
    assert command.status == "failed" and command.result is None and command.progress == 0.25
    assert command.error == "x" * 500 and command.acknowledged_at is None
    assert RobotCommand.objects.filter(pk=command.pk, result__isnull=True).exists()


def test_answers_about_unknown_or_foreign_commands_are_not_found(sent_command, organization):
    robot, command = sent_command
    other, _ = registered_robot(organization, name="Other")
    for robot_, command_id in ((other, command.pk), (robot, command.pk + 1000), (robot, 2**70)):
        with pytest.raises(NotFound):
            services.acknowledge_command(robot=robot_, command_id=command_id)
    assert RobotCommand.objects.get(pk=command.pk).status == "sent"


def test_a_result_after_the_timeout_changes_nothing(sent_command):
    robot, command = sent_command
    RobotCommand.objects.filter(pk=command.pk).update(status="timed_out")
    assert services.finish_command(robot=robot, command_id=command.pk, status="completed") is False
    assert services.acknowledge_command(robot=robot, command_id=command.pk) is False
    assert RobotCommand.objects.get(pk=command.pk).status == "timed_out"


def test_a_command_post_reads_its_robot_once(client_for, editor, organization, django_assert_num_queries):
    from django.db import connection as db
    from django.test.utils import CaptureQueriesContext

    robot, _ = registered_robot(organization, status="online")
    connection = services.open_connection(user=editor, organization=organization, robot=robot)
    client = client_for(editor, organization)
    client.post("/api/v1/robots/commands", {"connection_id": connection.pk, "type": "stop"}, format="json")
    with CaptureQueriesContext(db) as queries:
        response = client.post("/api/v1/robots/commands", {"connection_id": connection.pk, "type": "set_mode",
                                                           "params": {"mode": "idle"}}, format="json")
    assert response.status_code == 201, response.content
    robot_reads = [q["sql"] for q in queries if 'FROM "robots_robot"' in q["sql"] or 'JOIN "robots_robot"' in q["sql"]]
    assert len(robot_reads) == 1, robot_reads
    organization_reads = [q["sql"] for q in queries if q["sql"].startswith("SELECT")
                          and 'FROM "accounts_organization"' in q["sql"]]
    assert organization_reads == [], organization_reads


# --- the slow-client probe ----------------------------------------------------------------------
class FakeTransport:
    def __init__(self):
        self.dataBuffer, self.offset, self._tempDataLen = b"x" * 100, 40, 25


class FakeProtocol:
    def __init__(self, transport):
        self.transport = transport


class FakeServer:
    async def handle_reply(self, protocol, message):
        pass


class SessionWrapper:
    def __init__(self, send):
        self.real_send = send

    async def send(self, message):
        await self.real_send(message)


def test_the_unsent_bytes_of_daphnes_transport_are_found_through_middleware():
    transport = FakeTransport()
    send = functools.partial(FakeServer().handle_reply, FakeProtocol(transport))
    assert core_consumers._transport_of(send) is transport
    assert core_consumers._transport_of(SessionWrapper(send).send) is transport
    tls = FakeProtocol(FakeProtocol(transport))  # TLS wraps the TCP transport
    assert core_consumers._transport_of(functools.partial(FakeServer().handle_reply, tls)) is transport
    assert core_consumers.unsent_bytes(transport) == 85
    assert core_consumers._transport_of(SessionWrapper(lambda message: None).send) is None
    assert core_consumers.unsent_bytes(object()) == 0

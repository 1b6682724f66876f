"""The socket layer on a real daphne server with a real WebSocket client."""

import asyncio
import json

import pytest
from django.conf import settings
from django.test import Client
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect

from accounts.services import issue_tokens
from accounts.tests.factories import UserFactory
from core.events import publish_user_event

pytestmark = [pytest.mark.live, pytest.mark.slow]


def recv_json(ws, timeout=10):
    return json.loads(ws.recv(timeout=timeout))


def close_code(ws, timeout=10) -> int:
    with pytest.raises(ConnectionClosed) as closed:
        ws.recv(timeout=timeout)
    return closed.value.rcvd.code


@pytest.fixture
def user(transactional_db):
    return UserFactory()


@pytest.fixture
def socket_url(daphne_server):
    return f"{daphne_server.ws_url}/ws/v1/connect/"


def test_socket_without_a_token_is_closed_4401(socket_url, transactional_db):
    with connect(socket_url) as ws:
        assert close_code(ws) == 4401


def test_socket_with_a_bad_token_is_closed_4401(socket_url, transactional_db):
    with connect(f"{socket_url}?token=not-a-jwt") as ws:
        assert close_code(ws) == 4401


def test_socket_with_a_refresh_token_instead_of_access_is_4401(socket_url, user):
    with connect(f"{socket_url}?token={issue_tokens(user)['refresh']}") as ws:
        assert close_code(ws) == 4401


def test_socket_with_a_token_is_accepted_and_validates_messages(socket_url, user):
    with connect(f"{socket_url}?token={issue_tokens(user)['access']}") as ws:
        assert recv_json(ws) == {"type": "hello", "data": {"user_id": user.pk, "organizations": []}}
        ws.send(json.dumps({"type": "ping", "id": 7}))
        assert recv_json(ws) == {"type": "pong", "id": 7}
        ws.send("{not json")
        assert recv_json(ws)["code"] == "invalid_json"
        ws.send(json.dumps([1, 2, 3]))
        assert recv_json(ws)["code"] == "invalid_message"
        ws.send(json.dumps({"type": "launch_rockets"}))
        error = recv_json(ws)
        assert error["type"] == "error" and error["code"] == "unknown_type"
        assert "launch_rockets" in error["message"]
        ws.send(json.dumps({"type": "ping", "pad": "x" * (1024 * 1024 + 10)}))
        assert recv_json(ws)["code"] == "message_too_large"
        ws.send(b"\x00\x01")
        assert recv_json(ws)["code"] == "unsupported"
        # After every bad message the socket is still open and answering.
        ws.send(json.dumps({"type": "ping"}))
        assert recv_json(ws)["type"] == "pong"


def test_session_cookie_authenticates_a_browser_socket_from_our_origin(socket_url, daphne_server, user):
    client = Client()
    client.force_login(user)
    cookie = f"sessionid={client.cookies['sessionid'].value}"
    with connect(socket_url, additional_headers={"Cookie": cookie}, origin=daphne_server.url) as ws:
        assert recv_json(ws)["data"]["user_id"] == user.pk


def test_a_foreign_origin_is_refused_at_the_handshake(socket_url, user):
    url = f"{socket_url}?token={issue_tokens(user)['access']}"
    with pytest.raises((InvalidStatus, ConnectionClosed)), connect(url, origin="https://evil.example") as ws:
        ws.recv(timeout=5)


@pytest.mark.redis
def test_events_published_by_another_process_reach_only_their_user(socket_url, user, redis_url):
    other = UserFactory()
    with connect(f"{socket_url}?token={issue_tokens(user)['access']}") as mine, \
            connect(f"{socket_url}?token={issue_tokens(other)['access']}") as theirs:
        recv_json(mine), recv_json(theirs)
        [event] = publish_user_event([user.pk], "robot_connected", {"robot_id": 3, "status": "online"})
        received = recv_json(mine)
        assert received == event
        assert set(received) == {"type", "id", "at", "data"}
        with pytest.raises(TimeoutError):
            theirs.recv(timeout=1)


@pytest.mark.django_db(transaction=True)
def test_a_reconnecting_client_resumes_from_its_last_event_id():
    """In-process (the event log is Redis with REDIS_URL, else this process's memory)."""
    from asgiref.sync import async_to_sync, sync_to_async
    from channels.testing import WebsocketCommunicator

    from config.asgi import application

    user = UserFactory()
    token = issue_tokens(user)["access"]
    publish = sync_to_async(publish_user_event)

    async def scenario():
        first = WebsocketCommunicator(application, f"/ws/v1/connect/?token={token}")
        assert (await first.connect())[0]
        assert (await first.receive_json_from())["type"] == "hello"
        [seen] = await publish([user.pk], "command_completed", {"command_id": 1})
        assert (await first.receive_json_from(timeout=5))["id"] == seen["id"]
        await first.disconnect()

        # While the client is away: two results and a telemetry update (never replayed).
        [missed_1] = await publish([user.pk], "command_failed", {"command_id": 2})
        await publish([user.pk], "robot_status_update", {"robot_id": 1})
        [missed_2] = await publish([user.pk], "command_completed", {"command_id": 3})

        again = WebsocketCommunicator(application, f"/ws/v1/connect/?token={token}&last_event_id={seen['id']}")
        assert (await again.connect())[0]
        assert (await again.receive_json_from())["type"] == "hello"
        replayed = [await again.receive_json_from(timeout=5) for _ in range(2)]
        assert replayed == [missed_1, missed_2]
        assert await again.receive_json_from(timeout=5) == {"type": "resumed", "count": 2}
        # The same by message, and a bad id is an error that leaves the socket open.
        await again.send_json_to({"type": "resume", "last_event_id": missed_1["id"]})
        assert (await again.receive_json_from(timeout=5))["id"] == missed_2["id"]
        assert (await again.receive_json_from(timeout=5))["count"] == 1
        await again.send_json_to({"type": "resume", "last_event_id": "yesterday"})
        assert (await again.receive_json_from(timeout=5))["code"] == "invalid_message"
        await again.send_json_to({"type": "ping"})
        assert (await again.receive_json_from(timeout=5))["type"] == "pong"
        await again.disconnect()

    async_to_sync(scenario)()


@pytest.mark.django_db(transaction=True)
def test_event_sockets_rejoin_their_groups_before_the_channel_layer_forgets_them(monkeypatch):
    """The channel layer drops group members after its group_expiry (so the sockets of a server
    that died do not linger); a live socket re-joins its groups well within it."""
    from asgiref.sync import async_to_sync
    from channels.layers import get_channel_layer
    from channels.testing import WebsocketCommunicator

    from config.asgi import application
    from core import consumers

    assert settings.CHANNEL_LAYERS["default"]["CONFIG"]["group_expiry"] > 2 * consumers.GROUP_REFRESH_SECONDS
    layer = get_channel_layer()
    joins = []
    group_add = layer.group_add

    async def counting_group_add(group, channel):
        joins.append(group)
        await group_add(group, channel)

    monkeypatch.setattr(layer, "group_add", counting_group_add)
    monkeypatch.setattr(consumers, "GROUP_REFRESH_SECONDS", 0.05)
    user = UserFactory()
    token = issue_tokens(user)["access"]

    async def scenario():
        socket = WebsocketCommunicator(application, f"/ws/v1/connect/?token={token}")
        assert (await socket.connect())[0]
        assert (await socket.receive_json_from())["type"] == "hello"
        await asyncio.sleep(0.4)
        await socket.disconnect()

    async_to_sync(scenario)()
    assert joins.count(f"user.{user.pk}") >= 3

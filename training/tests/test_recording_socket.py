"""Live recording on a real daphne server with a real WebSocket client: camera frames of a real hand
in, landmarks out, episodes stored; bad input answered with the socket left open."""

import base64
import contextlib
import json
import time

import av
import numpy as np
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from accounts.models import Role
from accounts.services import issue_tokens
from accounts.tests.factories import OrganizationFactory, member
from training.models import Episode, GestureData
from training.selectors import episode_frames

from .factories import hand_photo, jpeg, training_session

pytestmark = [pytest.mark.live, pytest.mark.slow]


def recv(ws, timeout=20):
    return json.loads(ws.recv(timeout=timeout))


def recv_type(ws, wanted, timeout=20):
    deadline = time.monotonic() + timeout
    while True:
        message = recv(ws, max(deadline - time.monotonic(), 0.1))
        if message["type"] == wanted:
            return message
        if message["type"] == "error" and wanted != "error":
            raise AssertionError(message)


@pytest.fixture
def sockets():
    with contextlib.ExitStack() as stack:
        yield lambda url: stack.enter_context(connect(url, max_size=2**24))


@pytest.fixture(scope="module")
def hand_rgb():
    photo = hand_photo()
    if photo is None:
        pytest.fail("ultralytics' assets are missing: make test installs requirements/dev-nodeps.txt")
    return photo


@pytest.fixture(scope="module")
def hand_jpeg(hand_rgb):
    return jpeg(hand_rgb)


def record_url(server, session, user) -> str:
    return f"{server.ws_url}/ws/v1/training/sessions/{session.pk}/record/?token={issue_tokens(user)['access']}"


def test_refusals_at_connect(daphne_server, transactional_db):
    organization = OrganizationFactory()
    session = training_session(organization)
    viewer = member(organization, Role.VIEWER)
    stranger = member(OrganizationFactory(), Role.OWNER)
    cases = [(f"{daphne_server.ws_url}/ws/v1/training/sessions/{session.pk}/record/", 4401),
             (record_url(daphne_server, session, viewer), 4403),
             (record_url(daphne_server, session, stranger), 4404)]
    for url, code in cases:
        with connect(url) as ws, pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=10)
        assert closed.value.rcvd.code == code, url


def test_live_recording_stores_what_mediapipe_sees(daphne_server, transactional_db, sockets, hand_jpeg, hand_rgb):
    organization = OrganizationFactory()
    editor = member(organization, Role.EDITOR)
    session = training_session(organization, owner=editor)
    ws = sockets(record_url(daphne_server, session, editor))
    ready = recv(ws)
    assert ready["type"] == "ready" and ready["data"]["fps"] == 30

    # Bad input first: each answered, the socket stays open.
    ws.send(json.dumps({"type": "frame", "image": "!!! not base64"}))
    assert recv(ws)["code"] == "invalid_image"
    ws.send(json.dumps({"type": "frame", "image": base64.b64encode(b"plain text, no picture").decode()}))
    error = recv_type(ws, "error")
    assert error["code"] == "invalid_image" and "Invalid image data" in error["message"]
    ws.send(json.dumps({"type": "frame", "image": ""}))
    assert recv(ws)["message"] == "No image provided."
    ws.send("{broken")
    assert recv(ws)["code"] == "invalid_json"
    ws.send(json.dumps({"type": "stop_episode"}))
    assert recv(ws)["code"] == "no_episode"

    # A preview frame (no episode): landmarks come back, nothing is stored.
    ws.send(json.dumps({"type": "frame", "image": base64.b64encode(hand_jpeg).decode(), "t": 0.0}))
    preview = recv_type(ws, "landmarks")
    seen = [hand for hand in ("left", "right") if preview["hands"][hand]]
    assert seen, preview
    assert len(preview["hands"][seen[0]]["landmarks"]) == 21 and preview["frame"] is None

    ws.send(json.dumps({"type": "start_episode"}))
    assert recv_type(ws, "episode_started")["data"]["episode"] == 0
    for k in range(6):  # one at a time, with the client's capture clock
        ws.send(json.dumps({"type": "frame", "image": "data:image/jpeg;base64," +
                            base64.b64encode(hand_jpeg).decode(), "t": 10 + k / 30}))
        reply = recv_type(ws, "landmarks")
        assert reply["frame"] == k and reply["hands"][seen[0]] is not None
        assert reply["t"] == pytest.approx(k / 30, abs=1e-3)
    ws.send(json.dumps({"type": "label", "name": "open palm", "start_frame": 1, "end_frame": 4}))
    assert recv_type(ws, "labelled")["data"]["name"] == "open palm"
    ws.send(json.dumps({"type": "stop_episode"}))
    stopped = recv_type(ws, "episode_stopped")["data"]
    assert stopped["frames"] == 6
    assert recv_type(ws, "episode_video")["data"]["episode"] == 0  # the camera pictures, as an MP4

    episode = Episode.objects.get(session=session, index=0)
    assert episode.status == "closed" and episode.source == "live" and episode.frame_count == 6
    stored = episode_frames(episode)
    h = ("left", "right").index(seen[0])
    assert stored.present[:, h].all()
    assert np.allclose(stored.landmarks[0, h], preview["hands"][seen[0]]["landmarks"], atol=0.05)
    assert np.allclose(stored.timestamps, np.arange(6) / 30, atol=1e-3)
    assert GestureData.objects.get(episode=episode).end_frame == 4
    with episode.video.open("rb") as video, av.open(video) as container:
        pictures = [frame.to_ndarray(format="rgb24") for frame in container.decode(video=0)]
    assert len(pictures) == 6 and pictures[0].shape == (320, 320, 3)
    assert np.abs(pictures[3].astype(int) - hand_rgb.astype(int)).mean() < 12  # the frames that were sent

    ws.send(json.dumps({"type": "start_episode"}))  # binary frames, timed on arrival
    assert recv_type(ws, "episode_started")["data"]["episode"] == 1
    for k in range(3):
        ws.send(hand_jpeg)
        assert recv_type(ws, "landmarks")["frame"] == k
    ws.send(json.dumps({"type": "stop_episode"}))
    assert recv_type(ws, "episode_stopped")["data"]["frames"] == 3


def test_newest_frame_wins_when_frames_come_faster_than_the_model(daphne_server, transactional_db, sockets,
                                                                  hand_jpeg):
    organization = OrganizationFactory()
    editor = member(organization, Role.EDITOR)
    session = training_session(organization, owner=editor)
    ws = sockets(record_url(daphne_server, session, editor))
    recv(ws)
    ws.send(json.dumps({"type": "start_episode"}))
    recv_type(ws, "episode_started")
    burst = 40
    for _ in range(burst):
        ws.send(hand_jpeg)
    replies = []
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        reply = recv_type(ws, "landmarks")
        replies.append(reply)
        if reply["dropped"] + len(replies) >= burst:
            break
    assert replies[-1]["dropped"] + len(replies) == burst
    assert replies[-1]["dropped"] > 0 and len(replies) < burst  # skipped, not queued
    assert max(r["latency_ms"] for r in replies) < 5000
    ws.send(json.dumps({"type": "ping", "id": 7}))
    assert recv_type(ws, "pong")["id"] == 7
    ws.close()
    # The socket closing ends the take and keeps what was processed.
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        episode = Episode.objects.get(session=session)
        if episode.status == "closed":
            break
        time.sleep(0.1)
    assert episode.status == "closed" and episode.frame_count == len(replies)

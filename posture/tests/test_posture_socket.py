"""The live posture socket on a real daphne server with a real WebSocket client and real pictures."""

import base64
import io
import json
import time

import numpy as np
import pytest
from PIL import Image
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from accounts.services import issue_tokens
from accounts.tests.factories import UserFactory

pytestmark = [pytest.mark.live, pytest.mark.slow]


def jpeg(rgb: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def astronaut() -> bytes:
    from skimage import data

    return jpeg(data.astronaut())


def recv(ws, timeout=20):
    return json.loads(ws.recv(timeout=timeout))


def url(server, user, model="mediapipe") -> str:
    return f"{server.ws_url}/ws/v1/posture/{model}/?token={issue_tokens(user)['access']}"


def test_refusals_at_connect(daphne_server, transactional_db):
    with connect(f"{daphne_server.ws_url}/ws/v1/posture/mediapipe/") as ws, pytest.raises(ConnectionClosed) as closed:
        ws.recv(timeout=10)
    assert closed.value.rcvd.code == 4401
    with connect(url(daphne_server, UserFactory(), model="cx")) as ws:
        error = recv(ws)
        assert error["code"] == "model_unavailable" and "no pose model named 'cx'" in error["message"]
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=10)
    assert closed.value.rcvd.code == 4404


def test_posture_of_a_person_and_errors_that_keep_the_socket_open(daphne_server, transactional_db, astronaut):
    with connect(url(daphne_server, UserFactory()), max_size=2**24) as ws:
        ready = recv(ws)
        assert ready["type"] == "ready" and ready["data"]["model"] == "mediapipe" and len(ready["data"]["keypoints"]) == 17
        ws.send(json.dumps({"image": ""}))
        assert recv(ws)["message"] == "No image provided"
        ws.send(json.dumps({"image": "%%% not base64"}))
        assert recv(ws)["message"].startswith("Invalid image data")
        ws.send(json.dumps({"image": base64.b64encode(b"GIF89a but not really").decode()}))
        assert recv(ws)["message"].startswith("Invalid image data")
        ws.send(json.dumps({"image": base64.b64encode(jpeg(np.full((240, 320, 3), 90, np.uint8))).decode()}))
        assert recv(ws)["message"] == "No person detected"
        ws.send(json.dumps({"image": "x" * (2 * 1024 * 1024)}))  # above WS_MAX_MESSAGE_BYTES
        assert recv(ws)["code"] == "message_too_large"
        ws.send(json.dumps({"image": "data:image/jpeg;base64," + base64.b64encode(astronaut).decode()}))
        result = recv(ws)
        assert result["type"] == "posture" and len(result["keypoints"]) == 17 and result["model"] == "mediapipe"
        assert 0 <= result["posture_score"] <= 100 and isinstance(result["issues"], list)
        assert result["latency_ms"] >= result["inference_ms"] > 0
        ws.send(json.dumps({"type": "ping", "id": 3}))
        assert recv(ws) == {"type": "pong", "id": 3}


def test_newest_picture_wins(daphne_server, transactional_db, astronaut):
    with connect(url(daphne_server, UserFactory()), max_size=2**24) as ws:
        recv(ws)
        burst = 30
        for _ in range(burst):
            ws.send(astronaut)  # binary messages: the picture itself
        replies, deadline = [], time.monotonic() + 30
        while time.monotonic() < deadline:
            replies.append(recv(ws))
            if replies[-1]["dropped"] + len(replies) >= burst:
                break
        assert all(r["type"] == "posture" for r in replies)
        assert replies[-1]["dropped"] + len(replies) == burst and len(replies) < burst
        assert max(r["latency_ms"] for r in replies) < 5000  # no backlog builds up

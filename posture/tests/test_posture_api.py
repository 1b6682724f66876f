"""Pose models and the posture of a real picture (skimage's astronaut, public domain), and the ways
a picture is refused."""

import base64
import io

import numpy as np
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from accounts.tests.factories import UserFactory
from posture.estimators import forget_loaded

pytestmark = pytest.mark.django_db


def png(rgb: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.fixture(scope="module")
def astronaut() -> np.ndarray:
    from skimage import data

    return data.astronaut()


@pytest.fixture
def configured_models(settings):
    settings.POSE_MODELS = {"mediapipe": {"backend": "mediapipe"},
                            "cx": {"backend": "mmpose", "config": "configs/wholebody.py", "checkpoint": "cx.pth",
                                   "device": "cuda"},
                            "broken": {"backend": "openpose"}}
    forget_loaded()
    yield settings
    forget_loaded()


def test_models_report_availability_honestly(client_for, configured_models):
    body = client_for(UserFactory()).get("/api/v1/posture/models").json()
    models = {m["name"]: m for m in body["models"]}
    assert body["default"] == "mediapipe"
    assert models["mediapipe"]["available"] and models["mediapipe"]["device"] == "cpu"
    # without mmpose: "mmpose is not installed"; with it (make test installs it): the missing config
    assert not models["cx"]["available"] and ("mmpose is not installed" in models["cx"]["reason"]
                                              or "configs/wholebody.py does not exist" in models["cx"]["reason"])
    assert not models["broken"]["available"] and "unknown backend" in models["broken"]["reason"]


def test_posture_of_a_real_person(client_for, astronaut):
    client = client_for(UserFactory())
    upload = SimpleUploadedFile("astronaut.png", png(astronaut), content_type="image/png")
    response = client.post("/api/v1/posture/analyze", {"image": upload}, format="multipart")
    assert response.status_code == 200, response.content
    body = response.json()
    assert len(body["keypoints"]) == 17 and body["model"] == "mediapipe" and body["latency_ms"] > 0
    nose, left_shoulder, right_shoulder = body["keypoints"][0], body["keypoints"][5], body["keypoints"][6]
    height, width = astronaut.shape[:2]
    assert 0 <= nose[0] <= width and 0 <= nose[1] <= height
    assert nose[1] < left_shoulder[1] and nose[1] < right_shoulder[1]  # the head is above the shoulders
    assert 0 <= body["posture_score"] <= 100
    assert body["posture_score"] == pytest.approx(100 - sum(issue["penalty"] for issue in body["issues"]), abs=0.5)
    as_json = client.post("/api/v1/posture/analyze", {"image": base64.b64encode(png(astronaut)).decode()},
                          format="json").json()
    assert as_json["keypoints"] == body["keypoints"]


def test_refusals(client_for, settings):
    client = client_for(UserFactory())
    nobody = np.full((240, 320, 3), 127, dtype=np.uint8)
    response = client.post("/api/v1/posture/analyze", {"image": base64.b64encode(png(nobody)).decode()},
                           format="json")
    assert response.status_code == 422 and response.json()["error"]["message"] == "No person detected"
    bad = client.post("/api/v1/posture/analyze", {"image": "not base64 at all!"}, format="json")
    assert bad.status_code == 400 and "Invalid image data" in bad.json()["error"]["message"]
    truncated = base64.b64encode(png(nobody)[:200]).decode()
    assert "Invalid image data" in client.post("/api/v1/posture/analyze", {"image": truncated},
                                               format="json").json()["error"]["message"]
    empty = client.post("/api/v1/posture/analyze", {"image": ""}, format="json")
    assert empty.status_code == 400 and "No image provided" in empty.json()["error"]["message"]
    assert client.post("/api/v1/posture/analyze", {}, format="json").status_code == 400
    settings.POSTURE_MAX_IMAGE_BYTES = 1024 * 1024
    huge = base64.b64encode(b"\xff" * (2 * 1024 * 1024)).decode()
    assert client.post("/api/v1/posture/analyze", {"image": huge}, format="json").status_code == 413
    unknown = client.post("/api/v1/posture/analyze?model=nope", {"image": base64.b64encode(png(nobody)).decode()},
                          format="json")
    assert unknown.status_code == 503 and unknown.json()["error"]["code"] == "model_unavailable"

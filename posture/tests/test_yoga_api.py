"""The yoga API on real pictures (skimage's public-domain photos) through the configured pose model:
the catalogue, analysis against a pose, recognition, batches, and refusals."""

import base64
import io

import numpy as np
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from accounts.tests.factories import UserFactory
from posture.models import YogaPose

pytestmark = pytest.mark.django_db


def png(rgb: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.fixture(scope="module")
def photos():
    from skimage import data

    return {"cameraman": png(np.stack([data.camera()] * 3, axis=-1)), "astronaut": png(data.astronaut())}


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def test_catalogue_has_the_eleven_poses_with_targets(client_for):
    client = client_for(UserFactory())
    poses = client.get("/api/v1/yoga/poses").json()
    assert [p["name"] for p in poses] == sorted(["Chair", "Mountain", "Tree", "Downward Dog", "Goddess",
                                                 "Lord of the Dance", "Low Lunge", "Side Plank", "Staff",
                                                 "T-Pose", "Warrior II"])
    warrior = client.get("/api/v1/yoga/poses/warrior_ii").json()
    assert warrior["asymmetric"] and warrior["side_refers_to"]
    assert {"target", "tolerance", "weight", "range"} <= set(warrior["targets"]["left_knee"])
    assert warrior["instructions"] and warrior["common_mistakes"]
    missing = client.get("/api/v1/yoga/poses/flying-carpet")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "unknown_pose"


def test_staff_edits_of_the_targets_change_the_scoring(client_for, photos):
    client = client_for(UserFactory())
    before = client.post("/api/v1/yoga/analyze/mountain", {"image": b64(photos["cameraman"])}, format="json").json()
    pose = YogaPose.objects.get(slug="mountain")
    pose.targets = {joint: [before["deviations"][joint]["measured"], 5.0]
                    for joint in pose.targets if before["deviations"][joint]["measured"] is not None}
    pose.full_clean()
    pose.save()
    after = client.post("/api/v1/yoga/analyze/mountain", {"image": b64(photos["cameraman"])}, format="json").json()
    assert after["accuracy"] == pytest.approx(100.0, abs=0.5)
    assert after["accuracy"] > before["accuracy"]


def test_analysis_of_a_real_picture_against_a_pose(client_for, photos):
    upload = SimpleUploadedFile("cameraman.png", photos["cameraman"], content_type="image/png")
    response = client_for(UserFactory()).post("/api/v1/yoga/analyze/Mountain", {"image": upload},
                                              format="multipart")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["pose"] == "Mountain" and 0 <= body["accuracy"] <= 100 and body["model"] == "mediapipe"
    assert len(body["keypoints"]) == 17 and body["joints_measured"] >= 5
    assert body["feedback"] and len(body["improvements"]) <= 3
    measured = {joint: d for joint, d in body["deviations"].items() if d["measured"] is not None}
    assert len(measured) == body["joints_measured"]
    for deviation in measured.values():
        assert deviation["difference"] == pytest.approx(deviation["measured"] - deviation["target"])
    unseen = [joint for joint, d in body["deviations"].items() if d["measured"] is None]
    assert all(d["difference"] is None for joint, d in body["deviations"].items() if joint in unseen)


def test_recognition_and_batch(client_for, photos):
    client = client_for(UserFactory())
    recognised = client.post("/api/v1/yoga/analyze", {"image": b64(photos["cameraman"])}, format="json").json()
    assert recognised["pose"] in {p.name for p in YogaPose.objects.all()}
    assert 0 <= recognised["confidence"] <= 1 and len(recognised["candidates"]) == 3
    batch = client.post("/api/v1/yoga/batch-analyze", {"images": [b64(photos["cameraman"]), "not an image!",
                                                                  b64(photos["astronaut"])], "pose": "chair"},
                        format="json")
    assert batch.status_code == 200, batch.content
    results = batch.json()["results"]
    assert [r["index"] for r in results] == [0, 1, 2]
    assert results[0]["pose"] == "Chair"
    assert results[1]["error"]["code"] == "invalid_image"
    assert results[2]["error"]["code"] == "not_enough_keypoints"  # a portrait: the legs are not in it
    assert batch.json()["images_per_second"] > 0


def test_refusals(client_for, photos):
    client = client_for(UserFactory())
    unknown = client.post("/api/v1/yoga/analyze/flying-carpet", {"image": b64(photos["cameraman"])}, format="json")
    assert unknown.status_code == 404
    portrait = client.post("/api/v1/yoga/analyze/tree", {"image": b64(photos["astronaut"])}, format="json")
    assert portrait.status_code == 422 and portrait.json()["error"]["code"] == "not_enough_keypoints"
    nobody = client.post("/api/v1/yoga/analyze", {"image": b64(png(np.zeros((200, 200, 3), dtype=np.uint8)))},
                         format="json")
    assert nobody.status_code == 422 and nobody.json()["error"]["message"] == "No person detected"
    assert client.post("/api/v1/yoga/batch-analyze", {"images": []}, format="json").status_code == 400
    too_many = client.post("/api/v1/yoga/batch-analyze", {"images": ["x"] * 33}, format="json")
    assert too_many.status_code == 400


def test_admin_edits_the_catalogue_and_refuses_bad_targets(client, staff_user):
    from accounts.models import AuditLog

    client.force_login(staff_user)
    pose = YogaPose.objects.get(slug="staff")
    url = f"/admin/posture/yogapose/{pose.pk}/change/"
    assert client.get("/admin/posture/yogapose/").status_code == 200
    assert client.get(url).status_code == 200
    form = {"name": pose.name, "slug": pose.slug, "sanskrit": pose.sanskrit, "difficulty": pose.difficulty,
            "is_active": "on", "side_refers_to": "", "description": pose.description,
            "instructions": '["Sit tall."]', "common_mistakes": "[]", "benefits": "[]"}
    bad = client.post(url, {**form, "targets": '{"left_knee": [400, 10]}'})
    assert bad.status_code == 200 and b"Targets are" in bad.content
    good = client.post(url, {**form, "targets": '{"left_knee": [175, 8], "right_knee": [175, 8]}'})
    assert good.status_code == 302
    pose.refresh_from_db()
    assert pose.targets["left_knee"] == [175, 8] and pose.instructions == ["Sit tall."]
    assert AuditLog.objects.filter(object_type="posture.yogapose", action="update").exists()
    assert client.get("/admin/posture/practicesession/").status_code == 200

"""Video uploads: MediaPipe Hands over a real video of a real hand, and the ways a video is refused."""

import numpy as np
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from core.events import event_log, events_since, org_group
from training.hands import HandTracker
from training.models import Episode, FrameChunk
from training.selectors import episode_frames
from training.video import iter_video_frames

from .factories import hand_photo, training_session, write_video

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

SESSIONS = "/api/v1/training/sessions"


@pytest.fixture(scope="module")
def photo():
    image = hand_photo()
    if image is None:
        pytest.fail("ultralytics' assets are missing: make test installs requirements/dev-nodeps.txt")
    return image


def hand_video(tmp_path, photo, frames=20, fps=30):
    """A real hand drifting across the picture, then (last quarter) an empty wall."""
    pictures = []
    for i in range(frames):
        canvas = np.full((360, 480, 3), 200, dtype=np.uint8)
        if i < frames * 3 // 4:
            x = 40 + 3 * i
            canvas[20:340, x:x + 320] = photo
        pictures.append(canvas)
    return write_video(tmp_path / "hand.mp4", pictures, fps=fps)


def upload(client, session, path, name="take.mp4"):
    return client.post(f"{SESSIONS}/{session.pk}/video",
                       {"video": SimpleUploadedFile(name, path.read_bytes(), content_type="video/mp4")},
                       format="multipart")


def test_uploaded_video_becomes_an_episode_with_the_hands_mediapipe_finds(client_for, organization, editor,
                                                                          tmp_path, photo):
    session = training_session(organization, owner=editor, fps=30)
    path = hand_video(tmp_path, photo)
    before = event_log().next_id()
    response = upload(client_for(editor), session, path)
    assert response.status_code == 202, response.content
    assert response.json()["source"] == "video"
    episode = Episode.objects.get(session=session)
    assert episode.status == "closed", episode.error  # eager Celery: processed on commit
    assert episode.frame_count == 20

    # The same frames through MediaPipe directly give the same landmarks.
    _, frames = iter_video_frames(path.open("rb"))
    with HandTracker(tracking=True) as tracker:
        expected = [tracker.detect(rgb) for _, rgb in frames]
    stored = episode_frames(episode)
    assert np.allclose(stored.timestamps, np.arange(20) / 30)
    for i, hands in enumerate(expected):
        for h, hand in enumerate(("left", "right")):
            assert bool(stored.present[i, h]) == (hands[hand] is not None), (i, hand)
            if hands[hand] is not None:
                assert np.allclose(stored.landmarks[i, h], hands[hand]["landmarks"], atol=1e-5)
    assert stored.present[:15].any(axis=1).all() and not stored.present[16:].any()

    session.refresh_from_db()
    assert session.frame_count == 20 and 0.7 <= session.hands_present_ratio <= 0.8
    events = [e for e in events_since([org_group(organization.pk)], before) if e["type"] == "training_progress"]
    assert events[-1]["data"]["status"] == "closed" and events[-1]["data"]["frames"] == 20


def test_a_faster_video_is_resampled_to_the_session_rate(client_for, organization, editor, tmp_path, photo):
    session = training_session(organization, owner=editor, fps=15)
    upload(client_for(editor), session, hand_video(tmp_path, photo, frames=20, fps=30))
    episode = Episode.objects.get(session=session)
    assert episode.status == "closed" and episode.frame_count == 10
    assert np.allclose(episode_frames(episode).timestamps, np.arange(10) / 15)


def test_a_file_that_is_not_a_video_is_400_and_stores_nothing(client_for, organization, editor):
    session = training_session(organization, owner=editor)
    for name, content in (("notes.mp4", b"these are not moving pictures" * 100), ("empty.mp4", b"")):
        response = client_for(editor).post(f"{SESSIONS}/{session.pk}/video",
                                           {"video": SimpleUploadedFile(name, content)}, format="multipart")
        assert response.status_code == 400, response.content
        assert "video" in response.json()["error"]["fields"]
    missing = client_for(editor).post(f"{SESSIONS}/{session.pk}/video", {}, format="multipart")
    assert missing.status_code == 400
    assert not Episode.objects.filter(session=session).exists()


def test_a_video_without_hands_fails_its_episode_with_a_reason(client_for, organization, editor, tmp_path):
    session = training_session(organization, owner=editor)
    rng = np.random.default_rng(3)
    path = write_video(tmp_path / "wall.mp4", [rng.integers(90, 110, (240, 320, 3), dtype=np.uint8)
                                                for _ in range(10)])
    assert upload(client_for(editor), session, path).status_code == 202
    episode = Episode.objects.get(session=session)
    assert episode.status == "failed" and episode.error == "No hands were detected in the video."
    assert not FrameChunk.objects.filter(episode=episode).exists()
    session.refresh_from_db()
    assert session.frame_count == 0
    detail = client_for(editor).get(f"{SESSIONS}/{session.pk}").json()
    assert detail["episodes"][0]["error"] == "No hands were detected in the video."


def test_export_with_the_camera_video(client_for, organization, editor, tmp_path, photo):
    import io
    import json
    import zipfile

    import av

    session = training_session(organization, owner=editor, fps=30, robot_model="hand")
    upload(client_for(editor), session, hand_video(tmp_path, photo, frames=16))
    client = client_for(editor)
    response = client.post(f"{SESSIONS}/{session.pk}/export/lerobot", {"include_video": True}, format="json")
    assert response.status_code == 202, response.content
    body = response.json()
    assert body["status"] == "completed", body
    download = client.get(body["download_url"])
    archive = zipfile.ZipFile(io.BytesIO(b"".join(download.streaming_content)))
    names = archive.namelist()
    info = json.loads(archive.read(next(n for n in names if n.endswith("meta/info.json"))))
    camera = info["features"]["observation.images.camera"]
    assert camera["dtype"] == "video" and camera["shape"] == [360, 480, 3]
    mp4 = next(n for n in names if n.endswith(".mp4") and "observation.images.camera" in n)
    with av.open(io.BytesIO(archive.read(mp4))) as container:
        pictures = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    assert len(pictures) == 16 and pictures[0].shape == (360, 480, 3)
    # The same export without video is another export (both exist side by side).
    plain = client.post(f"{SESSIONS}/{session.pk}/export/lerobot", {}, format="json").json()
    assert plain["export_id"] != body["export_id"]


def test_video_export_needs_camera_pictures_for_every_episode(client_for, organization, editor):
    from .factories import recorded_session

    session = recorded_session(organization, owner=editor, episodes=(10,))
    response = client_for(editor).post(f"{SESSIONS}/{session.pk}/export/lerobot", {"include_video": True},
                                       format="json")
    assert response.status_code == 400
    assert "episode(s) 0" in response.json()["error"]["fields"]["include_video"][0]


def test_a_video_over_the_size_limit_is_413_and_stores_nothing(client_for, organization, editor, tmp_path, photo,
                                                               settings):
    session = training_session(organization, owner=editor)
    path = hand_video(tmp_path, photo, frames=4)
    settings.TRAINING_VIDEO_MAX_BYTES = path.stat().st_size - 1
    response = upload(client_for(editor), session, path)
    assert response.status_code == 413 and response.json()["error"]["code"] == "payload_too_large"
    assert not Episode.objects.filter(session=session).exists()

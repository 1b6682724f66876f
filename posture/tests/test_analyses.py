"""Posture analyses of videos (uploaded or at a URL) through the API, run by the Celery task (eager
here, on commit): a score series and a summary of a real person, and every way a video is refused."""

import http.server
import threading
from functools import partial

import numpy as np
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from accounts.models import AuditLog
from accounts.tests.factories import UserFactory
from core.events import event_log, events_since, user_group
from posture.models import PostureAnalysis
from training.tests.factories import write_video

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

ANALYSES = "/api/v1/posture/analyses"


@pytest.fixture(scope="module")
def person_video(tmp_path_factory):
    from skimage import data

    frames = [np.roll(data.astronaut()[:480, :480], shift=2 * k, axis=1) for k in range(12)]
    return write_video(tmp_path_factory.mktemp("videos") / "astronaut.mp4", frames, fps=6)


@pytest.fixture
def served(tmp_path):
    """A directory served over HTTP on loopback (a real URL for `video_url`)."""
    handler = partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield tmp_path, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def upload(client, path, **fields):
    return client.post(ANALYSES, {"video": SimpleUploadedFile(path.name, path.read_bytes()), **fields},
                       format="multipart")


def test_an_uploaded_video_of_a_person(client_for, person_video):
    user = UserFactory()
    before = event_log().next_id()
    response = upload(client_for(user), person_video, text="Desk posture, morning", sample_fps=3)
    assert response.status_code == 202, response.content
    analysis = PostureAnalysis.objects.get(pk=response.json()["id"])
    assert analysis.status == "completed", analysis.error
    assert len(analysis.series) == 6  # 2 s of video at 3 samples a second
    assert [point["t"] for point in analysis.series] == pytest.approx([k / 3 for k in range(6)], abs=1e-3)
    scores = [point["score"] for point in analysis.series]
    assert all(0 <= score <= 100 for score in scores)
    assert analysis.summary["frames_with_person"] == 6
    assert analysis.summary["mean_score"] == pytest.approx(sum(scores) / 6, abs=0.1)
    body = client_for(user).get(f"{ANALYSES}/{analysis.pk}").json()
    assert body["series"] == analysis.series and body["text"] == "Desk posture, morning"
    listed = client_for(user).get(ANALYSES).json()
    assert listed["count"] == 1 and "series" not in listed["results"][0]
    events = [e for e in events_since([user_group(user.pk)], before) if e["type"] == "analysis_progress"]
    assert events[-1]["data"]["status"] == "completed"


def test_a_video_at_a_url(client_for, person_video, served):
    directory, base = served
    (directory / "clip.mp4").write_bytes(person_video.read_bytes())
    client = client_for(UserFactory())
    response = client.post(ANALYSES, {"video_url": f"{base}/clip.mp4", "sample_fps": 1}, format="json")
    assert response.status_code == 202, response.content
    assert PostureAnalysis.objects.get(pk=response.json()["id"]).status == "completed"
    missing = client.post(ANALYSES, {"video_url": f"{base}/nothing.mp4"}, format="json").json()
    failed = PostureAnalysis.objects.get(pk=missing["id"])
    assert failed.status == "failed" and "HTTP 404" in failed.error


def test_refusals(client_for, tmp_path):
    client = client_for(UserFactory())
    not_video = tmp_path / "notes.mp4"
    not_video.write_bytes(b"not moving pictures" * 50)
    response = upload(client, not_video)
    assert response.status_code == 400 and "video" in response.json()["error"]["fields"]
    assert client.post(ANALYSES, {"text": "nothing"}, format="json").status_code == 400
    assert client.post(ANALYSES, {"video_url": "ftp://example.com/a.mp4"}, format="json").status_code == 400
    assert client.post(ANALYSES, {"video_url": "http://127.0.0.1:9/a.mp4", "sample_fps": 0}, format="json").status_code == 400
    assert not PostureAnalysis.objects.exists()
    wall = write_video(tmp_path / "wall.mp4", [np.full((240, 320, 3), 120, np.uint8)] * 6, fps=6)
    nobody = upload(client, wall).json()
    analysis = PostureAnalysis.objects.get(pk=nobody["id"])
    assert analysis.status == "failed" and analysis.error == "No person detected in the video."


def test_another_persons_analysis_is_404_and_delete_is_audited(client_for, person_video):
    owner, other = UserFactory(), UserFactory()
    analysis_id = upload(client_for(owner), person_video, sample_fps=1).json()["id"]
    assert client_for(other).get(f"{ANALYSES}/{analysis_id}").status_code == 404
    assert client_for(other).delete(f"{ANALYSES}/{analysis_id}").status_code == 404
    assert client_for(other).get(ANALYSES).json()["count"] == 0
    assert client_for(owner).delete(f"{ANALYSES}/{analysis_id}").status_code == 204
    assert not PostureAnalysis.objects.filter(pk=analysis_id).exists()
    assert AuditLog.objects.filter(object_type="posture.postureanalysis", action="delete").exists()


def test_a_video_over_the_size_limit_is_413_and_stores_nothing(client_for, person_video, settings):
    settings.POSTURE_MAX_VIDEO_BYTES = person_video.stat().st_size - 1
    response = upload(client_for(UserFactory()), person_video)
    assert response.status_code == 413 and response.json()["error"]["code"] == "payload_too_large"
    assert not PostureAnalysis.objects.exists()

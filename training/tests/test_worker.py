"""Exports and video extraction on real Celery worker processes over Redis, including a worker killed
in the middle of an export."""

import os
import signal
import time

import numpy as np
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from accounts.services import issue_tokens
from tests import harness
from training import services
from training.models import DatasetExport, Episode

from .factories import hand_photo, recorded_session, synthetic_batch, training_session, write_video

pytestmark = [pytest.mark.celery, pytest.mark.redis, pytest.mark.slow]


def wait_for(predicate, timeout=60, interval=0.1, what="the condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out waiting for {what}")


def client(user) -> APIClient:
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {issue_tokens(user)['access']}")
    return api


def test_export_runs_on_the_worker(use_celery_worker):
    session = recorded_session(episodes=(40, 40))
    response = client(session.owner).post(f"/api/v1/training/sessions/{session.pk}/export/lerobot", {},
                                          format="json")
    assert response.status_code == 202 and response.json()["status"] in ("queued", "running", "completed")
    export = wait_for(lambda: DatasetExport.objects.filter(pk=response.json()["export_id"],
                                                           status="completed").first(), what="the export")
    assert export.frame_count == 80 and export.archive_size > 0


def test_a_killed_worker_leaves_no_dataset_and_the_redelivered_job_makes_one(
        transactional_db, test_database_url, redis_url, settings, tmp_path):
    from config.celery import app

    work = tmp_path / "work"
    # A short visibility timeout: Redis hands an unacknowledged job to another worker after it.
    env = {"CELERY_VISIBILITY_TIMEOUT": "3", "CELERY_UNACKED_RESTORE_INTERVAL": "1",
           "TRAINING_EXPORT_WORK_DIR": str(work)}
    session = training_session(robot_model="hand")
    for _ in range(60):  # big enough to be caught half way (~60,000 frames)
        services.ingest_frames(actor=session.owner, session=session,
                               batch=synthetic_batch(1000, fps=session.fps), end_episode=True)
    first = harness.CeleryWorker(test_database_url, settings.CELERY_BROKER_URL or redis_url, env=env)
    saved = (app.conf.task_always_eager, app.conf.task_default_queue, app.conf.broker_transport_options)
    app.conf.task_always_eager, app.conf.task_default_queue = False, first.queue
    app.conf.broker_transport_options = {**saved[2], "visibility_timeout": 3}
    second = None
    try:
        first.wait_ready(app)
        export, created = services.request_export(actor=session.owner, session=session)
        assert created
        wait_for(lambda: DatasetExport.objects.filter(pk=export.pk, status="running", progress__gt=0.05).exists(),
                 what="the export to be half way")
        os.kill(first.process.pid, signal.SIGKILL)
        first.process.wait(10)
        export.refresh_from_db()
        assert export.status == "running" and not export.archive
        assert list(work.iterdir())  # a half-written dataset, never published

        second = harness.CeleryWorker(test_database_url, settings.CELERY_BROKER_URL or redis_url, env=env,
                                      queue=first.queue)
        second.wait_ready(app)
        export = wait_for(lambda: DatasetExport.objects.filter(pk=export.pk, status="completed").first(),
                          timeout=90, what="the redelivered export")
        assert export.attempts == 2 and export.frame_count == 60_000 and export.episode_count == 60
        assert list(work.iterdir()) == []
        assert DatasetExport.objects.filter(session=session).count() == 1
    finally:
        app.conf.task_always_eager, app.conf.task_default_queue, app.conf.broker_transport_options = saved
        if first.process.poll() is None:
            first.stop()
        if second is not None:
            second.stop()


def test_video_extraction_on_the_worker(use_celery_worker, tmp_path):
    session = training_session()
    photo = hand_photo()
    frames = []
    for i in range(8):
        canvas = np.full((360, 480, 3), 200, dtype=np.uint8)
        canvas[20:340, 40 + 4 * i:360 + 4 * i] = photo
        frames.append(canvas)
    path = write_video(tmp_path / "hand.mp4", frames)
    response = client(session.owner).post(f"/api/v1/training/sessions/{session.pk}/video",
                                          {"video": SimpleUploadedFile("hand.mp4", path.read_bytes())},
                                          format="multipart")
    assert response.status_code == 202 and response.json()["status"] == "processing"
    episode = wait_for(lambda: Episode.objects.filter(session=session, status="closed").first(),
                       what="the video's landmarks")
    assert episode.frame_count == 8 and episode.hands_present_frames == 8

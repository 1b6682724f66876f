"""LeRobot exports through the API: the dataset's invariants, reuse, empty sessions, a crash half way,
the download (local and S3), and progress events."""

import io
import json
import zipfile

import numpy as np
import pyarrow.parquet as pq
import pytest

from accounts.models import AuditLog
from core.events import event_log, events_since, org_group
from training import exporting, lerobot, services
from training.models import DatasetExport, TrainingSession
from training.retarget import hand_spec_from_joints, retarget

from .factories import recorded_session, synthetic_batch, training_session

# Committed for real: the export job starts on commit (eager here; on a real worker in test_worker.py).
pytestmark = pytest.mark.django_db(transaction=True)

SESSIONS = "/api/v1/training/sessions"


def export_url(session) -> str:
    return f"{SESSIONS}/{session.pk}/export/lerobot"


def download(client, body) -> zipfile.ZipFile:
    response = client.get(body["download_url"])
    assert response.status_code == 200, response.content
    content = b"".join(response.streaming_content) if response.streaming else response.content
    return zipfile.ZipFile(io.BytesIO(content))


def table(path) -> dict:
    """A parquet file's columns as numpy arrays (vector columns as 2-D arrays), without pandas."""
    read = pq.read_table(path)
    columns = {}
    for name in read.column_names:
        column = read.column(name).combine_chunks()
        if hasattr(column, "flatten") and hasattr(column.type, "list_size"):
            columns[name] = np.asarray(column.flatten()).reshape(len(column), -1)
        else:
            columns[name] = np.asarray(column.to_pylist(), dtype=object if column.type == "string" else None)
    return columns


def unpack(archive: zipfile.ZipFile, tmp_path):
    archive.extractall(tmp_path)
    (root,) = [p for p in tmp_path.iterdir() if p.is_dir()]
    return root


class TestExport:
    def test_export_builds_a_valid_dataset(self, client_for, organization, editor, tmp_path):
        session = recorded_session(organization, owner=editor, episodes=(30, 45, 12), fps=30)
        client = client_for(editor)
        response = client.post(export_url(session), {}, format="json")
        assert response.status_code == 202, response.content
        body = response.json()  # eager Celery in tests: already finished
        assert body["status"] == "completed" and body["progress"] == 1.0
        assert body["frame_count"] == 87 and body["episode_count"] == 3
        root = unpack(download(client, body), tmp_path)

        info = json.loads((root / "meta/info.json").read_text())
        assert {"codebase_version", "robot_type", "total_episodes", "total_frames", "total_tasks", "chunks_size",
                "data_files_size_in_mb", "video_files_size_in_mb", "fps", "splits", "data_path", "video_path",
                "features"} <= set(info)
        assert info["codebase_version"] == "v3.0" and info["fps"] == 30
        assert info["total_frames"] == 87 and info["total_episodes"] == 3 and info["total_tasks"] == 1
        assert info["robot_type"] == "generic-dexterous-hand"
        state, action = info["features"]["observation.state"], info["features"]["action"]
        assert state["shape"] == [128] and len(state["names"]) == 128 and state["names"][-2:] == [
            "left_present", "right_present"]
        assert action["shape"] == [22] and action["names"][0] == "wrist_flexion"

        data = table(root / "data/chunk-000/file-000.parquet")
        assert list(data["index"]) == list(range(87))
        assert list(np.unique(data["episode_index"])) == [0, 1, 2]
        frame_index = data["frame_index"]
        assert list(frame_index[:30]) == list(range(30)) and list(frame_index[30:75]) == list(range(45))
        assert np.allclose(data["timestamp"], frame_index / 30, atol=1e-6)
        states, actions = data["observation.state"], data["action"]
        assert states.shape == (87, 128) and actions.shape == (87, 22)
        assert np.isfinite(states).all() and np.isfinite(actions).all()
        sent = synthetic_batch(30)
        assert np.allclose(states[:30, 63:126], sent.landmarks[:, 1].reshape(30, 63))
        assert (states[:, :63] == 0).all() and (states[:, 126] == 0).all() and (states[:, 127] == 1).all()
        spec = hand_spec_from_joints("generic-dexterous-hand", session.robot_model.joints)
        assert np.allclose(actions[:30], retarget(sent.landmarks[:, 1], spec), atol=1e-6)

        stats = json.loads((root / "meta/stats.json").read_text())
        assert np.allclose(stats["observation.state"]["mean"], states.mean(axis=0), atol=1e-5)
        assert np.allclose(stats["action"]["max"], actions.max(axis=0), atol=1e-6)
        assert stats["action"]["count"] == [87]
        episodes = table(root / "meta/episodes/chunk-000/file-000.parquet")
        assert list(episodes["length"]) == [30, 45, 12]
        assert list(episodes["dataset_from_index"]) == [0, 30, 75]
        assert list(episodes["dataset_to_index"]) == [30, 75, 87]
        tasks = table(root / "meta/tasks.parquet")
        assert list(tasks["task"]) == ["Pinch the cube"] and list(tasks["task_index"]) == [0]

        session.refresh_from_db()
        assert session.status == TrainingSession.Status.EXPORTED
        assert AuditLog.objects.filter(object_type="training.datasetexport", action="create").count() == 1

    def test_unchanged_session_reuses_the_export_and_a_change_makes_a_new_one(self, client_for, organization,
                                                                            editor):
        session = recorded_session(organization, owner=editor, episodes=(10,))
        client = client_for(editor)
        first = client.post(export_url(session), {}, format="json").json()
        again = client.post(export_url(session), {}, format="json")
        assert again.status_code == 200 and again.json()["export_id"] == first["export_id"]
        assert DatasetExport.objects.count() == 1
        assert client.get(export_url(session)).json()["export_id"] == first["export_id"]
        client.patch(f"{SESSIONS}/{session.pk}", {"task": "Pinch the blue cube"}, format="json")
        changed = client.post(export_url(session), {}, format="json")
        assert changed.status_code == 202 and changed.json()["export_id"] != first["export_id"]

    def test_a_recording_session_is_completed_by_its_export(self, client_for, organization, editor):
        session = training_session(organization, owner=editor, robot_model=None)
        client = client_for(editor)
        client.post(f"{SESSIONS}/{session.pk}/gestures", {"frames": synthetic_batch(8).to_json()}, format="json")
        body = client.post(export_url(session), {}, format="json").json()
        assert body["status"] == "completed"
        session.refresh_from_db()
        assert session.status == "exported" and not session.episodes.filter(status="open").exists()
        info = DatasetExport.objects.get().info
        assert "action" not in info["features"] and info["robot_type"] == "human_hand"

    def test_empty_session_is_400_with_a_reason(self, client_for, organization, editor):
        session = training_session(organization, owner=editor)
        response = client_for(editor).post(export_url(session), {}, format="json")
        assert response.status_code == 400
        assert response.json()["error"]["code"] == "empty_session"
        assert "no frames" in response.json()["error"]["message"]
        assert client_for(editor).get(export_url(session)).status_code == 404
        assert not DatasetExport.objects.exists()

    def test_viewer_cannot_export_but_can_read(self, client_for, organization, viewer, editor):
        session = recorded_session(organization, owner=editor, episodes=(5,))
        assert client_for(viewer).post(export_url(session), {}, format="json").status_code == 403
        client_for(editor).post(export_url(session), {}, format="json")
        body = client_for(viewer).get(export_url(session)).json()
        assert body["status"] == "completed" and body["download_url"]

    def test_progress_events_reach_the_organisation(self, client_for, organization, editor):
        session = recorded_session(organization, owner=editor, episodes=(10, 10))
        before = event_log().next_id()
        client_for(editor).post(export_url(session), {}, format="json")
        events = [e for e in events_since([org_group(organization.pk)], before) if e["type"] == "export_progress"]
        assert events[0]["data"]["status"] == "running"
        assert [e["data"]["progress"] for e in events] == sorted(e["data"]["progress"] for e in events)
        assert events[-1]["data"]["status"] == "completed" and events[-1]["data"]["frames"] == 20
        assert {e["data"]["stage"] for e in events} >= {"writing", "packing", "publishing", "done"}

    def test_a_crash_half_way_leaves_nothing_and_the_rerun_finishes(self, client_for, organization, editor,
                                                                    monkeypatch, settings, tmp_path):
        settings.TRAINING_EXPORT_WORK_DIR = tmp_path / "work"
        settings.MEDIA_ROOT = tmp_path / "media"
        session = recorded_session(organization, owner=editor, episodes=(10, 10, 10))
        real_add = lerobot.LeRobotWriter.add_episode
        calls = {"n": 0}

        def dying_add(self, **kwargs):
            calls["n"] += 1
            if calls["n"] == 2:
                raise KeyboardInterrupt("worker killed")  # not an Exception: nothing in the job catches it
            return real_add(self, **kwargs)

        monkeypatch.setattr(lerobot.LeRobotWriter, "add_episode", dying_add)
        with pytest.raises(KeyboardInterrupt):
            client_for(editor).post(export_url(session), {}, format="json")
        export = DatasetExport.objects.get()
        assert export.status == "running" and not export.archive
        assert not (tmp_path / "media").exists() or not any(p.is_file() for p in (tmp_path / "media").rglob("*"))
        leftovers = list((tmp_path / "work").iterdir())
        assert leftovers  # the killed attempt's work directory, removed by the rerun

        monkeypatch.setattr(lerobot.LeRobotWriter, "add_episode", real_add)
        exporting.run_dataset_export(export_id=export.pk)  # the redelivered job
        export.refresh_from_db()
        assert export.status == "completed" and export.attempts == 2 and export.frame_count == 30
        assert list((tmp_path / "work").iterdir()) == []
        assert DatasetExport.objects.count() == 1

    def test_a_failing_export_is_marked_failed_and_can_be_retried(self, client_for, organization, editor,
                                                                  monkeypatch):
        session = recorded_session(organization, owner=editor, episodes=(5,))
        def broken_finish(self):
            raise OSError("disk full")

        real_finish = lerobot.LeRobotWriter.finish
        monkeypatch.setattr(lerobot.LeRobotWriter, "finish", broken_finish)
        body = client_for(editor).post(export_url(session), {}, format="json").json()
        assert body["status"] == "failed" and "disk full" in body["error"]
        monkeypatch.setattr(lerobot.LeRobotWriter, "finish", real_finish)
        retry = client_for(editor).post(export_url(session), {}, format="json")
        assert retry.status_code == 202 and retry.json()["status"] == "completed"

    def test_download_of_another_organizations_export_is_404(self, client_for, organization, other_organization,
                                                              editor, owner):
        foreign = recorded_session(other_organization, episodes=(5,))
        export, _ = services.request_export(actor=foreign.owner, session=foreign)
        assert client_for(owner).get(f"/api/v1/training/exports/{export.pk}/download").status_code == 404
        assert client_for(owner).get(f"/api/v1/training/exports/{export.pk}").status_code == 404


@pytest.mark.s3
@pytest.mark.slow
def test_export_to_s3_hands_out_a_signed_url(s3_storage, client_for, organization, editor):
    session = recorded_session(organization, owner=editor, episodes=(12,))
    body = client_for(editor).post(export_url(session), {}, format="json").json()
    assert body["status"] == "completed"
    export = DatasetExport.objects.get()
    listed = s3_storage.list_objects_v2(Bucket=s3_storage.bucket)["Contents"]
    assert [o["Key"] for o in listed] == [export.archive.name]
    response = client_for(editor).get(body["download_url"])
    assert response.status_code == 302 and "X-Amz-Signature" in response["Location"]
    import httpx

    archive = zipfile.ZipFile(io.BytesIO(httpx.get(response["Location"]).content))
    assert any(name.endswith("meta/info.json") for name in archive.namelist())

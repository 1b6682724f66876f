"""The training API through HTTP: sessions, frame batches (JSON and binary), labels, read-back."""

import json

import numpy as np
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import AuditLog, Role
from accounts.tests.factories import member
from tests.api_cases import OrgScopedAPICases
from training.frames import BINARY_CONTENT_TYPE, FRAME_VALUES, FrameBatch, encode_binary_frames
from training.models import Episode, FrameChunk, GestureData, TrainingSession

from .factories import frames_json, recorded_session, synthetic_batch, training_session

pytestmark = pytest.mark.django_db

SESSIONS = "/api/v1/training/sessions"


def gestures_url(session) -> str:
    return f"{SESSIONS}/{session.pk}/gestures"


def post_frames(client, session, batch=None, **body):
    payload = {"episode": None, "frames": frames_json(batch if batch is not None else synthetic_batch(10)), **body}
    return client.post(gestures_url(session), json.dumps(payload), content_type="application/json")


class TestSessionsAPI(OrgScopedAPICases):
    list_url = SESSIONS
    audit_object_type = "training.trainingsession"

    def make_object(self, organization):
        return training_session(organization)

    def detail_url(self, obj) -> str:
        return f"{SESSIONS}/{obj.pk}"

    def create_payload(self, organization) -> dict:
        return {"name": "Waves", "task": "Wave hello", "robot_model": "generic-dexterous-hand"}


class TestSessions:
    def test_create_returns_the_session_with_empty_stats(self, client_for, editor):
        response = client_for(editor).post(SESSIONS, {"name": "Pinch", "task": "Pinch the cube", "fps": 25,
                                                      "robot_model": "generic-dexterous-hand"}, format="json")
        assert response.status_code == 201, response.content
        body = response.json()
        assert body["fps"] == 25 and body["status"] == "recording"
        assert body["robot_model"]["slug"] == "generic-dexterous-hand" and body["robot_model"]["dof"] == 22
        assert body["stats"] == {"episodes": 0, "frames": 0, "duration": 0.0, "hands_present_ratio": 0.0,
                                 "mean_confidence": 0.0}
        assert body["owner"]["id"] == editor.pk and body["episodes"] == []

    @pytest.mark.parametrize("payload, field", [
        ({"task": "x"}, "name"),
        ({"name": "a", "task": "b", "fps": 0}, "fps"),
        ({"name": "a", "task": "b", "fps": "fast"}, "fps"),
        ({"name": "a", "task": "b", "robot_model": "no-such-robot"}, "robot_model"),
        ({"name": "a", "task": "b", "colour": "red"}, "colour"),
        ({"name": "a" * 201, "task": "b"}, "name"),
    ])
    def test_bad_create_payloads_are_400_with_the_field(self, client_for, editor, payload, field):
        response = client_for(editor).post(SESSIONS, payload, format="json")
        assert response.status_code == 400
        assert field in response.json()["error"]["fields"]

    def test_a_robot_that_is_not_a_hand_cannot_be_the_target(self, client_for, editor):
        response = client_for(editor).post(SESSIONS, {"name": "a", "task": "b", "robot_model": "ur5e"}, format="json")
        assert response.status_code == 400
        assert "cannot be driven by a human hand" in response.json()["error"]["fields"]["robot_model"][0]

    def test_list_filters(self, client_for, organization, editor, viewer):
        mine = training_session(organization, owner=editor, name="Mine")
        recorded_session(organization, name="Done", owner=member(organization, Role.EDITOR))
        TrainingSession.objects.filter(name="Done").update(status="completed")
        client = client_for(viewer)
        assert {s["name"] for s in client.get(SESSIONS).json()["results"]} == {"Mine", "Done"}
        assert [s["name"] for s in client.get(SESSIONS, {"status": "completed"}).json()["results"]] == ["Done"]
        assert [s["id"] for s in client_for(editor).get(SESSIONS, {"owner": "me"}).json()["results"]] == [mine.pk]
        assert [s["name"] for s in client.get(SESSIONS, {"robot_model": "generic-dexterous-hand"}).json()["results"]] \
            == ["Done"]
        assert client.get(SESSIONS, {"status": "sleeping"}).status_code == 400
        assert client.get(SESSIONS, {"created_after": "not-a-date"}).status_code == 400

    def test_detail_has_episodes_gestures_and_stats(self, client_for, organization, viewer):
        session = recorded_session(organization, episodes=(30,))
        episode = session.episodes.get()
        GestureData.objects.create(episode=episode, name="pinch", start_frame=3, end_frame=9)
        body = client_for(viewer).get(f"{SESSIONS}/{session.pk}").json()
        assert body["stats"]["frames"] == 30 and body["stats"]["episodes"] == 1
        assert body["stats"]["duration"] == pytest.approx(29 / 30)
        assert body["stats"]["hands_present_ratio"] == 1.0
        assert body["stats"]["mean_confidence"] == pytest.approx(0.9)
        assert body["episodes"][0]["gestures"][0]["name"] == "pinch"

    def test_detail_query_count_does_not_grow_with_episodes(self, client_for, organization, viewer):
        session = recorded_session(organization, episodes=(5,))
        client = client_for(viewer)
        client.get(f"{SESSIONS}/{session.pk}")
        with CaptureQueriesContext(connection) as few:
            client.get(f"{SESSIONS}/{session.pk}")
        for _ in range(5):
            post_frames(client_for(session.owner), session, synthetic_batch(5), gestures=[
                {"name": "wave", "start_frame": 0, "end_frame": 4}])
        with CaptureQueriesContext(connection) as many:
            assert len(client.get(f"{SESSIONS}/{session.pk}").json()["episodes"]) == 6
        assert len(many) == len(few)

    def test_viewer_cannot_change_or_record(self, client_for, organization, viewer):
        session = training_session(organization)
        client = client_for(viewer)
        assert client.patch(f"{SESSIONS}/{session.pk}", {"name": "x"}, format="json").status_code == 403
        assert post_frames(client, session).status_code == 403
        assert client.delete(f"{SESSIONS}/{session.pk}").status_code == 403

    def test_another_organizations_session_is_404_everywhere(self, client_for, other_organization, owner):
        foreign = recorded_session(other_organization)
        client = client_for(owner)
        for url in (f"{SESSIONS}/{foreign.pk}", f"{SESSIONS}/{foreign.pk}/export/lerobot",
                    f"{SESSIONS}/{foreign.pk}/episodes/0/frames"):
            assert client.get(url).status_code == 404, url
        assert post_frames(client, foreign).status_code == 404
        assert client.post(f"{SESSIONS}/{foreign.pk}/export/lerobot", {}, format="json").status_code == 404
        assert FrameChunk.objects.filter(episode__session=foreign).count() == 2

    def test_patch_edits_and_completes_with_audit(self, client_for, organization, editor):
        session = recorded_session(organization, owner=editor, episodes=(10,))
        version = session.data_version
        client = client_for(editor)
        response = client.patch(f"{SESSIONS}/{session.pk}", {"task": "Pinch the red cube"}, format="json")
        assert response.status_code == 200 and response.json()["task"] == "Pinch the red cube"
        assert response.json()["data_version"] == version + 1
        row = AuditLog.objects.filter(object_type="training.trainingsession", action="update").first()
        assert row.before == {"task": "Pinch the cube", "data_version": version}
        assert client.patch(f"{SESSIONS}/{session.pk}", {"fps": 60}, format="json").status_code == 409
        done = client.patch(f"{SESSIONS}/{session.pk}", {"status": "completed"}, format="json")
        assert done.json()["status"] == "completed" and done.json()["completed_at"]
        again = client.patch(f"{SESSIONS}/{session.pk}", {"status": "recording"}, format="json")
        assert again.status_code == 400

    def test_only_owner_or_admin_deletes(self, client_for, organization, admin_user):
        session = training_session(organization)
        other_editor = member(organization, Role.EDITOR)
        assert client_for(other_editor).delete(f"{SESSIONS}/{session.pk}").status_code == 403
        assert client_for(admin_user).delete(f"{SESSIONS}/{session.pk}").status_code == 204
        assert not TrainingSession.objects.filter(pk=session.pk).exists()
        assert AuditLog.objects.filter(object_type="training.trainingsession", action="delete").exists()


class TestFrameBatches:
    def test_json_batch_starts_an_episode_and_appends(self, client_for, organization, editor):
        session = training_session(organization, owner=editor)
        client = client_for(editor)
        first = post_frames(client, session, synthetic_batch(20), gestures=[
            {"name": "pinch", "start_frame": 2, "end_frame": 8, "confidence": 0.8}])
        assert first.status_code == 201, first.content
        assert first.json() == {"episode": 0, "first_frame": 0, "frames_added": 20, "episode_frames": 20,
                                "episode_status": "open", "gestures_added": 1, "session_frames": 20}
        second = post_frames(client, session, synthetic_batch(15, start=20 / 30), episode=0, end_episode=True)
        assert second.json()["first_frame"] == 20 and second.json()["episode_status"] == "closed"
        third = post_frames(client, session, synthetic_batch(5))
        assert third.json()["episode"] == 1
        episode = Episode.objects.get(session=session, index=0)
        assert episode.frame_count == 35 and episode.chunk_count == 2
        frames = client.get(f"{SESSIONS}/{session.pk}/episodes/0/frames", {"start": 18, "count": 4}).json()
        sent = FrameBatch.concatenate([synthetic_batch(20), synthetic_batch(15, start=20 / 30)])
        assert [f["t"] for f in frames["frames"]] == pytest.approx(list(sent.timestamps[18:22]))
        for k in range(4):  # across the two chunks
            assert np.allclose(frames["frames"][k]["hands"]["right"]["landmarks"], sent.landmarks[18 + k, 1])
        assert frames["frames"][0]["hands"]["left"] is None
        assert AuditLog.objects.filter(object_type="training.trainingsession", action="update").count() == 3

    def test_binary_batch_equals_json(self, client_for, organization, editor):
        session = training_session(organization, owner=editor)
        batch = synthetic_batch(50, left=True, gap_every=7)
        response = client_for(editor).post(f"{gestures_url(session)}?end_episode=true", encode_binary_frames(batch),
                                           content_type=BINARY_CONTENT_TYPE)
        assert response.status_code == 201, response.content
        assert response.json()["frames_added"] == 50 and response.json()["episode_status"] == "closed"
        chunk = FrameChunk.objects.get(episode__session=session)
        stored = FrameBatch.unpack(chunk.timestamps, chunk.values)
        assert np.array_equal(stored.values, batch.values) and np.array_equal(stored.timestamps, batch.timestamps)
        session.refresh_from_db()
        assert session.hands_present_frames == 50  # the left hand stays when the right drops out
        assert session.confidence_count == int(batch.present.sum())

    def _bad(self, client, session, frames, **body):
        payload = {"episode": None, "frames": frames, **body}
        response = client.post(gestures_url(session), json.dumps(payload), content_type="application/json")
        assert response.status_code == 400, response.content
        return response.json()["error"]

    def test_bad_batches_are_refused_whole_with_the_place(self, client_for, organization, editor):
        session = training_session(organization, owner=editor)
        client = client_for(editor)
        good = frames_json(synthetic_batch(5))

        short = json.loads(json.dumps(good))
        short[3]["hands"]["right"]["landmarks"] = short[3]["hands"]["right"]["landmarks"][:20]
        error = self._bad(client, session, short)
        assert "frames[3].hands.right.landmarks" in error["fields"] and "21 landmarks, got 20" in error["message"]

        backwards = json.loads(json.dumps(good))
        backwards[2]["t"] = backwards[1]["t"]
        assert "frames[2].t" in self._bad(client, session, backwards)["fields"]

        out_of_range = json.loads(json.dumps(good))
        out_of_range[1]["hands"]["right"]["landmarks"][0][0] = 7.5
        assert "frames[1].hands.right.landmarks" in self._bad(client, session, out_of_range)["fields"]

        wrong_type = json.loads(json.dumps(good))
        wrong_type[0]["hands"]["right"]["landmarks"][4] = ["a", 0.1, 0.2]
        assert "landmark 4 must hold numbers" in self._bad(client, session, wrong_type)["message"]

        assert "frames[0].hands" in self._bad(client, session, [{"t": 0, "hands": {"middle": None}}])["fields"]
        assert "frames[0]" in self._bad(client, session, [{"t": 0, "hands": {}, "extra": 1}])["fields"]
        assert "frames" in self._bad(client, session, [])["fields"]
        assert "gestures" in self._bad(client, session, good, gestures=[
            {"name": "x", "start_frame": 3, "end_frame": 9}])["fields"]
        assert "episode" in self._bad(client, session, good, episode=7)["fields"]
        assert "end_episode" in self._bad(client, session, good, end_episode="maybe")["fields"]
        assert "colour" in self._bad(client, session, good, colour=1)["fields"]
        assert not FrameChunk.objects.filter(episode__session=session).exists()
        assert not Episode.objects.filter(session=session).exists()

    def test_nan_and_infinity_are_refused(self, client_for, organization, editor):
        session = training_session(organization, owner=editor)
        client = client_for(editor)
        body = json.dumps({"frames": frames_json(synthetic_batch(3))}).replace("0.97", "NaN", 1)
        response = client.post(gestures_url(session), body, content_type="application/json")
        assert response.status_code == 400, response.content
        batch = synthetic_batch(3)
        batch.values[1, 70] = np.inf
        response = client.post(gestures_url(session), encode_binary_frames(batch), content_type=BINARY_CONTENT_TYPE)
        assert response.status_code == 400 and "finite" in response.json()["error"]["message"]
        assert not FrameChunk.objects.exists()

    def test_malformed_bodies(self, client_for, organization, editor):
        session = training_session(organization, owner=editor)
        client = client_for(editor)
        assert client.post(gestures_url(session), "{not json", content_type="application/json").status_code == 400
        assert client.post(gestures_url(session), "[1, 2]", content_type="application/json").status_code == 400
        assert client.post(gestures_url(session), b"PAPF", content_type=BINARY_CONTENT_TYPE).status_code == 400
        truncated = encode_binary_frames(synthetic_batch(4))[:-8]
        response = client.post(gestures_url(session), truncated, content_type=BINARY_CONTENT_TYPE)
        assert response.status_code == 400 and "exactly" in response.json()["error"]["message"]
        assert client.post(gestures_url(session), "x", content_type="text/plain").status_code == 415

    def test_batch_too_large(self, client_for, organization, editor, settings):
        settings.TRAINING_MAX_BATCH_FRAMES = 100
        session = training_session(organization, owner=editor)
        response = post_frames(client_for(editor), session, synthetic_batch(101))
        assert response.status_code == 400 and "at most 100 frames" in response.json()["error"]["message"]
        header = encode_binary_frames(synthetic_batch(1))[:12]
        huge = header[:8] + (10**6).to_bytes(4, "little")
        response = client_for(editor).post(gestures_url(session), huge, content_type=BINARY_CONTENT_TYPE)
        assert response.status_code == 400

    def test_frames_for_a_completed_session_are_409(self, client_for, organization, editor):
        session = recorded_session(organization, owner=editor)
        TrainingSession.objects.filter(pk=session.pk).update(status="completed")
        response = post_frames(client_for(editor), session)
        assert response.status_code == 409 and response.json()["error"]["code"] == "session_not_recording"

    def test_appending_to_a_closed_episode_or_before_its_last_frame(self, client_for, organization, editor):
        session = recorded_session(organization, owner=editor, episodes=(10,))
        client = client_for(editor)
        assert post_frames(client, session, episode=0).status_code == 409
        post_frames(client, session, synthetic_batch(10))
        response = post_frames(client, session, synthetic_batch(3, start=0.1), episode=1)
        assert response.status_code == 400 and "later than the episode's last frame" in response.json()["error"]["message"]

    def test_label_endpoint_and_timeline(self, client_for, organization, editor):
        session = recorded_session(organization, owner=editor, episodes=(40,))
        client = client_for(editor)
        url = f"{SESSIONS}/{session.pk}/episodes/0/labels"
        response = client.post(url, {"name": "fist", "start_frame": 10, "end_frame": 30}, format="json")
        assert response.status_code == 201 and response.json()["gestures"][0]["name"] == "fist"
        assert client.post(url, {"name": "fist", "start_frame": 30, "end_frame": 50}, format="json").status_code == 400
        timeline = client.get(f"{SESSIONS}/{session.pk}/episodes/0/timeline").json()
        assert timeline["frames"] == 40 and len(timeline["t"]) == 40
        assert set(timeline["right_present"]) == {1} and set(timeline["left_present"]) == {0}
        assert client.get(f"{SESSIONS}/{session.pk}/episodes/9/timeline").status_code == 404


def test_frame_layout_round_trip():
    batch = synthetic_batch(12, left=True, gap_every=4)
    assert batch.values.shape == (12, FRAME_VALUES)
    assert FrameBatch.unpack(*batch.pack()).values.tobytes() == batch.values.tobytes()
    assert batch.summary()["hands_present_frames"] == 12
    assert batch.summary()["confidence_count"] == 12 + 9


def test_exports_list_is_scoped_filtered_and_constant_in_queries(client_for, organization, other_organization,
                                                                  viewer):
    from training import services

    def export_of(org):
        session = recorded_session(org, episodes=(3,))
        return services.request_export(actor=session.owner, session=session)[0]

    mine = export_of(organization)
    export_of(other_organization)
    client = client_for(viewer)
    client.get("/api/v1/training/exports")
    with CaptureQueriesContext(connection) as few:
        body = client.get("/api/v1/training/exports").json()
    assert [e["export_id"] for e in body["results"]] == [mine.pk]
    assert body["results"][0]["status"] == "queued" and body["results"][0]["download_url"] is None
    for _ in range(4):
        export_of(organization)
    with CaptureQueriesContext(connection) as many:
        assert client.get("/api/v1/training/exports").json()["count"] == 5
    assert len(many) == len(few)
    assert client.get("/api/v1/training/exports", {"session": mine.session_id}).json()["count"] == 1
    assert client.get(f"/api/v1/training/exports/{mine.pk}/download").status_code == 409

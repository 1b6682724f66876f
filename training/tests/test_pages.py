"""The training pages and the training part of the operator console, through the Django test client."""

import json

import numpy as np
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from accounts.models import AuditLog
from robots.tests.factories import robot_model
from training import services
from training.models import DatasetExport, Episode, TrainingSession

from .factories import recorded_session, training_session, write_video

pytestmark = pytest.mark.django_db


def signed_in(client, user):
    client.force_login(user)
    return client


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def json_script(body: str, element_id: str) -> dict:
    opening = f'<script id="{element_id}" type="application/json">'
    start = body.index(opening) + len(opening)
    return json.loads(body[start:body.index("</script>", start)])


class TestSessionList:
    def test_shows_only_my_organizations_sessions(self, client, owner, organization, other_organization):
        mine = recorded_session(organization, name="Our pinches", episodes=(12,))
        training_session(other_organization, name="Their waves")
        response = signed_in(client, owner).get(reverse("training:list"))
        body = response.content.decode()
        assert response.status_code == 200
        assert [session.pk for session in response.context["sessions"]] == [mine.pk]
        assert "Our pinches" in body and "Their waves" not in body
        assert reverse("training:detail", args=[mine.pk]) in body
        assert 'class="badge badge--session-recording"' in body and ">12<" in body
        assert 'data-testid="nav-training" aria-current="page"' in body

    def test_filters_by_status(self, client, owner, organization):
        training_session(organization, name="Still recording")
        done = training_session(organization, name="All done")
        TrainingSession.objects.filter(pk=done.pk).update(status=TrainingSession.Status.COMPLETED)
        response = signed_in(client, owner).get(reverse("training:list"), {"status": "completed"})
        assert [session.name for session in response.context["sessions"]] == ["All done"]
        # An unknown status is ignored rather than an error.
        assert len(client.get(reverse("training:list"), {"status": "sleeping"}).context["sessions"]) == 2

    def test_anonymous_is_sent_to_sign_in(self, client):
        response = client.get(reverse("training:list"))
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("accounts:login"))

    def test_empty_organization_shows_the_empty_state_and_the_form(self, client, owner):
        body = signed_in(client, owner).get(reverse("training:list")).content.decode()
        assert 'data-testid="sessions-empty"' in body
        assert 'id="new-session-form"' in body
        # Only robot hands can be driven by a recorded hand.
        assert '<option value="generic-dexterous-hand">Generic Dexterous Hand</option>' in body
        assert 'value="ur5e"' not in body


class TestNewSession:
    def test_creates_the_session_through_the_service_and_redirects(self, client, editor, organization):
        response = signed_in(client, editor).post(reverse("training:new"), {
            "name": "Pinch demos", "task": "Pinch the red cube", "robot_model": "generic-dexterous-hand",
            "action_hand": "left", "fps": "25",
        })
        session = TrainingSession.objects.get(organization=organization)
        assert response.status_code == 302
        assert response["Location"] == reverse("training:detail", args=[session.pk])
        assert (session.name, session.task, session.owner, session.fps, session.action_hand, session.robot_model.slug) \
            == ("Pinch demos", "Pinch the red cube", editor, 25, "left", "generic-dexterous-hand")
        assert AuditLog.objects.filter(action=AuditLog.Action.CREATE, object_type="training.trainingsession",
                                       object_id=str(session.pk)).exists()
        assert "Pinch demos is ready to record." in messages_of(client.get(response["Location"]))

    def test_a_missing_name_is_a_form_error(self, client, editor, organization):
        response = signed_in(client, editor).post(reverse("training:new"), {"name": "", "task": "x", "fps": "30",
                                                                           "action_hand": "right"})
        assert response.status_code == 200
        assert response.context["new_session_form"].errors["name"]
        assert not TrainingSession.objects.filter(organization=organization).exists()

    def test_viewer_sees_no_form_and_cannot_post(self, client, viewer, organization):
        signed_in(client, viewer)
        assert 'id="new-session-form"' not in client.get(reverse("training:list")).content.decode()
        response = client.post(reverse("training:new"), {"name": "Sneaky", "task": "x", "fps": "30",
                                                         "action_hand": "right"}, follow=True)
        assert response.redirect_chain[0] == (reverse("training:list"), 302)
        assert "Starting training sessions needs the editor role or higher." in messages_of(response)
        assert not TrainingSession.objects.filter(organization=organization).exists()


class TestSessionDetail:
    def test_renders_episodes_gestures_and_stats(self, client, owner, organization):
        session = recorded_session(organization, episodes=(30, 45))
        episode = session.episodes.get(index=1)
        services.label_gesture(actor=session.owner, episode=episode, name="pinch", start_frame=5, end_frame=20)
        response = signed_in(client, owner).get(reverse("training:detail", args=[session.pk]))
        body = response.content.decode()
        assert response.status_code == 200
        assert [e.index for e in response.context["episodes"]] == [0, 1]
        assert 'data-stat="episodes">2<' in body and 'data-stat="frames">75<' in body
        assert 'data-stat="gestures">1<' in body and 'data-stat="hands-present">100%<' in body
        assert 'data-stat="confidence">90%<' in body  # the synthetic hands' confidence is 0.9
        assert body.count('data-testid="timeline-chart"') == 3  # two episodes and the template
        assert 'id="episode-1"' in body and 'data-frames="45"' in body
        assert 'data-start-frame="5" data-end-frame="20"' in body and "pinch" in body
        assert "Retargeted to Generic Dexterous Hand from the right hand" in body
        for testid in ("record-link", "export-button", "video-form", "export-progress"):
            assert f'data-testid="{testid}"' in body
        config = json_script(body, "training-session-config")
        assert config == {"sessionId": session.pk, "organizationId": organization.pk, "status": "recording",
                          "apiRoot": "/api/v1/training/", "eventsSocketPath": "/ws/v1/connect/", "canEdit": True,
                          "export": None}
        assert "js/training-session.js" in body

    def test_another_organizations_session_is_404(self, client, owner, other_organization):
        theirs = recorded_session(other_organization, episodes=(5,))
        signed_in(client, owner)
        for name in ("training:detail", "training:record"):
            assert client.get(reverse(name, args=[theirs.pk])).status_code == 404
        assert client.post(reverse("training:export", args=[theirs.pk])).status_code == 404
        assert not DatasetExport.objects.exists()

    def test_viewer_sees_no_record_or_export_controls(self, client, viewer, organization):
        session = recorded_session(organization, episodes=(10,))
        signed_in(client, viewer)
        body = client.get(reverse("training:detail", args=[session.pk])).content.decode()
        assert 'data-testid="timeline-chart"' in body and 'data-testid="viewer-notice"' in body
        for testid in ("record-link", "export-button", "video-form"):
            assert f'data-testid="{testid}"' not in body
        assert json_script(body, "training-session-config")["canEdit"] is False
        record = client.get(reverse("training:record", args=[session.pk]), follow=True)
        assert record.redirect_chain[0] == (reverse("training:detail", args=[session.pk]), 302)
        assert "Recording needs the editor role or higher." in messages_of(record)
        exported = client.post(reverse("training:export", args=[session.pk]), follow=True)
        assert "This needs the editor role or higher." in messages_of(exported)
        assert not DatasetExport.objects.exists()

    def test_a_finished_export_shows_its_download(self, client, editor, organization,
                                                  django_capture_on_commit_callbacks):
        session = recorded_session(organization, episodes=(20,))
        with django_capture_on_commit_callbacks(execute=True):
            export, _ = services.request_export(actor=editor, session=session)
        export.refresh_from_db()
        assert export.status == DatasetExport.Status.COMPLETED
        body = signed_in(client, editor).get(reverse("training:detail", args=[session.pk])).content.decode()
        assert f'href="/api/v1/training/exports/{export.pk}/download"' in body
        assert 'value="100"' in body and 'badge--export-completed' in body and "1 episode," in body
        assert 'class="badge badge--session-exported"' in body
        # Exporting ended the recording: no more recording from this page.
        assert 'data-testid="record-link"' not in body and 'data-testid="recording-closed"' in body

    def test_the_export_form_works_without_javascript(self, client, editor, organization):
        session = recorded_session(organization, episodes=(20,))
        response = signed_in(client, editor).post(reverse("training:export", args=[session.pk]), follow=True)
        export = DatasetExport.objects.get(session=session)
        assert (export.requested_by, export.data_version) == (editor, session.data_version)
        assert "The LeRobot export was requested: queued." in messages_of(response)
        # An empty session cannot be exported: the service's reason is shown.
        empty = training_session(organization, owner=editor)
        response = client.post(reverse("training:export", args=[empty.pk]), follow=True)
        assert any("no frames to export" in message for message in messages_of(response))

    def test_the_upload_form_works_without_javascript(self, client, editor, organization, tmp_path):
        session = training_session(organization, owner=editor)
        video = write_video(tmp_path / "take.mp4", [np.full((64, 64, 3), 128, dtype=np.uint8)] * 3)
        signed_in(client, editor)
        response = client.post(reverse("training:upload-video", args=[session.pk]), {
            "video": SimpleUploadedFile("take.mp4", video.read_bytes(), content_type="video/mp4")}, follow=True)
        episode = Episode.objects.get(session=session)
        assert (episode.source, episode.status) == ("video", "processing")  # extracted after commit
        assert "Video uploaded as episode 0; hands are being extracted." in messages_of(response)
        bad = client.post(reverse("training:upload-video", args=[session.pk]), {
            "video": SimpleUploadedFile("notes.mp4", b"not a video", content_type="video/mp4")}, follow=True)
        assert len(messages_of(bad)) == 1 and Episode.objects.filter(session=session).count() == 1


class TestRecordPage:
    def test_renders_the_camera_overlay_and_controls(self, client, editor, organization):
        session = training_session(organization, owner=editor, fps=24)
        body = signed_in(client, editor).get(reverse("training:record", args=[session.pk])).content.decode()
        assert json_script(body, "training-record-config") == {
            "sessionId": session.pk, "socketPath": f"/ws/v1/training/sessions/{session.pk}/record/", "fps": 24,
            "accepting": True}
        for testid in ("landmark-overlay", "start-episode", "stop-episode", "frames-recorded", "latency", "dropped",
                       "label-form", "camera-button"):
            assert f'data-testid="{testid}"' in body
        assert 'data-testid="not-recording"' not in body and "js/training-record.js" in body

    def test_a_completed_session_says_it_takes_no_frames(self, client, editor, organization):
        session = training_session(organization, owner=editor)
        services.update_session(actor=editor, session=session, status="completed")
        body = signed_in(client, editor).get(reverse("training:record", args=[session.pk])).content.decode()
        assert 'data-testid="not-recording"' in body
        assert json_script(body, "training-record-config")["accepting"] is False


def test_dashboard_counts_my_sessions(client, owner, organization, other_organization):
    training_session(organization)
    training_session(organization, name="Second")
    training_session(other_organization)
    body = signed_in(client, owner).get(reverse("core:dashboard")).content.decode()
    assert '<span class="stat__value" data-stat="training-sessions">2</span>' in body
    assert reverse("training:list") in body


class TestOperatorConsole:
    @pytest.fixture
    def operator(self, client, staff_user):
        return signed_in(client, staff_user)

    @pytest.mark.parametrize("model", ["trainingsession", "datasetexport", "gesturedata"])
    def test_changelists_render(self, operator, organization, model):
        session = recorded_session(organization, episodes=(10,))
        services.label_gesture(actor=session.owner, episode=session.episodes.get(), name="wave", start_frame=0,
                               end_frame=4)
        services.request_export(actor=session.owner, session=session)
        response = operator.get(f"/admin/training/{model}/")
        assert response.status_code == 200
        assert response.context["cl"].result_count == 1

    def test_session_change_page_shows_episodes_and_the_export(self, operator, organization):
        session = recorded_session(organization, episodes=(10, 15), name="Console demo")
        export, _ = services.request_export(actor=session.owner, session=session)
        body = operator.get(f"/admin/training/trainingsession/{session.pk}/change/").content.decode()
        assert "Console demo" in body and "Generic Dexterous Hand" in body
        assert 'id="episodes-0"' in body and 'id="episodes-1"' in body and 'id="episodes-2"' not in body
        assert "0.30 s" in body and "0.47 s" in body  # each episode's duration (frames at 30 fps)
        assert f'/admin/training/datasetexport/{export.pk}/change/' in body and "Queued" in body

    def test_the_export_action_creates_an_export(self, operator, organization, staff_user):
        session = recorded_session(organization, episodes=(10,))
        empty = training_session(organization, name="Nothing yet")
        response = operator.post("/admin/training/trainingsession/", {
            "action": "export_lerobot", "_selected_action": [session.pk, empty.pk]}, follow=True)
        export = DatasetExport.objects.get()
        assert (export.session, export.requested_by, export.status) == (session, staff_user, "queued")
        shown = messages_of(response)
        assert f"{session.name}: export #{export.pk} requested (queued)." in shown
        assert any(message.startswith("Nothing yet: This session has no frames") for message in shown)
        # Again: nothing changed, the same export is reused.
        again = operator.post("/admin/training/trainingsession/", {
            "action": "export_lerobot", "_selected_action": [session.pk]}, follow=True)
        assert DatasetExport.objects.count() == 1 and "it is reused" in messages_of(again)[0]

    def test_a_finished_export_downloads_from_the_console(self, operator, organization,
                                                          django_capture_on_commit_callbacks):
        session = recorded_session(organization, episodes=(10,))
        with django_capture_on_commit_callbacks(execute=True):
            export, _ = services.request_export(actor=session.owner, session=session)
        body = operator.get(f"/admin/training/datasetexport/{export.pk}/change/").content.decode()
        download = f"/admin/training/datasetexport/{export.pk}/download/"
        assert download in body and "100%" in body
        response = operator.get(download)
        assert response.status_code == 200 and response["Content-Type"] == "application/zip"
        assert b"".join(response.streaming_content)[:2] == b"PK"

    def test_renaming_is_audited_and_deleting_goes_through_the_service(self, operator, organization, staff_user):
        session = recorded_session(organization, episodes=(10,), name="Old name")
        services.request_export(actor=session.owner, session=session)
        response = operator.post(f"/admin/training/trainingsession/{session.pk}/change/", {
            "name": "New name", "episodes-TOTAL_FORMS": "1", "episodes-INITIAL_FORMS": "1",
            "episodes-MIN_NUM_FORMS": "0", "episodes-MAX_NUM_FORMS": "1000",
            "episodes-0-id": str(session.episodes.get().pk), "episodes-0-session": str(session.pk)})
        assert response.status_code == 302, response.context["adminform"].errors if response.context else ""
        session.refresh_from_db()
        assert session.name == "New name"
        update = AuditLog.objects.filter(action=AuditLog.Action.UPDATE, actor=staff_user).latest("created_at")
        assert (update.before["name"], update.after["name"]) == ("Old name", "New name")
        confirm = operator.get(f"/admin/training/trainingsession/{session.pk}/delete/")
        assert not confirm.context["perms_lacking"]  # episodes and exports go with it
        operator.post(f"/admin/training/trainingsession/{session.pk}/delete/", {"post": "yes"})
        assert not TrainingSession.objects.filter(pk=session.pk).exists()
        assert AuditLog.objects.filter(action=AuditLog.Action.DELETE, object_type="training.trainingsession",
                                       actor=staff_user).exists()


def test_a_robot_arm_cannot_be_chosen_on_the_page(client, editor, organization):
    arm = robot_model("ur5e")
    response = signed_in(client, editor).post(reverse("training:new"), {
        "name": "Arm", "task": "x", "fps": "30", "action_hand": "right", "robot_model": arm.slug})
    assert response.context["new_session_form"].errors["robot_model"]
    assert not TrainingSession.objects.filter(organization=organization).exists()

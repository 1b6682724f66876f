"""Server-rendered training pages: the organisation's sessions (with a new-session form), a session's
episodes, gestures, charts and export, and the live recording page.

The pages read through training.selectors and write through training.services. The live parts run
in static/js/training-session.js (charts, export progress, video upload) and
static/js/training-record.js (camera → recording socket → landmark overlay) against the REST API,
the user event socket and the recording socket. The export and upload forms also work without
JavaScript: they post to the small views at the end of this module.
"""

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.cache import never_cache
from rest_framework.exceptions import APIException, NotFound

from accounts.forms import PageForm, service_error_message
from accounts.models import Role
from robots.models import RobotModel
from robots.selectors import catalogue

from . import selectors, services
from .models import DatasetExport, Episode, TrainingSession

SERVICE_ERRORS = (ValidationError, APIException)

SESSIONS_PER_PAGE = 50
API_ROOT = "/api/v1/training/"
EVENTS_SOCKET_PATH = "/ws/v1/connect/"
RECORD_SOCKET_PATH = "/ws/v1/training/sessions/{id}/record/"
# Where a video upload is refused before it is sent (the API checks it again).
VIDEO_ACCEPT = "video/*"


class NewSessionForm(PageForm):
    name = forms.CharField(max_length=200, widget=forms.TextInput(attrs={"id": "session-name", "autocomplete": "off"}))
    task = forms.CharField(
        max_length=500, help_text="What the demonstrations show; the dataset's task text.",
        widget=forms.TextInput(attrs={"id": "session-task", "autocomplete": "off",
                                      "placeholder": "e.g. Pick up the cube"}),
    )
    robot_model = forms.ModelChoiceField(
        queryset=catalogue().filter(kind=RobotModel.Kind.HAND), to_field_name="slug", required=False,
        empty_label="None (landmarks only)", label="Robot hand",
        widget=forms.Select(attrs={"id": "session-robot-model"}),
    )
    action_hand = forms.ChoiceField(
        choices=TrainingSession.Hand.choices, initial=TrainingSession.Hand.RIGHT, label="Driving hand",
        help_text="The person's hand the robot follows.", widget=forms.Select(attrs={"id": "session-action-hand"}),
    )
    fps = forms.IntegerField(
        min_value=1, max_value=240, initial=30, label="Frame rate (fps)",
        widget=forms.NumberInput(attrs={"id": "session-fps", "inputmode": "numeric"}),
    )


def _can_edit(membership) -> bool:
    return membership is not None and Role.at_least(membership.role, Role.EDITOR)


def _membership_or_404(request):
    membership = request.membership or None
    if membership is None:
        raise Http404("No organization.")
    return membership


def _session_or_404(membership, session_id: int, *, detail: bool = False) -> TrainingSession:
    try:
        return selectors.session_for(membership.organization, session_id, detail=detail)
    except NotFound as exc:
        raise Http404(str(exc.detail)) from exc


def display_labels() -> dict:
    """The labels the page scripts show for statuses and sources."""
    return {"sessionStatus": dict(TrainingSession.Status.choices), "episodeStatus": dict(Episode.Status.choices),
            "episodeSource": dict(Episode.Source.choices), "exportStatus": dict(DatasetExport.Status.choices)}


def percent(fraction: float | None) -> int:
    return round(min(max(float(fraction or 0.0), 0.0), 1.0) * 100)


def export_state(session: TrainingSession, export: DatasetExport | None) -> dict | None:
    """What the export panel shows of the session's latest export (None: never exported)."""
    if export is None:
        return None
    done = export.status == DatasetExport.Status.COMPLETED and bool(export.archive)
    return {
        "export": export,
        "percent": 100 if done else percent(export.progress),
        "download_url": reverse("api:training-export-download", args=[export.pk]) if done else None,
        "outdated": export.data_version != session.data_version,
    }


def _render_list(request, *, form=None):
    membership = request.membership or None
    context = {"current": membership}
    if membership is not None:
        can_create = _can_edit(membership)
        sessions = selectors.sessions_for(membership.organization)
        status = request.GET.get("status", "")
        if status in TrainingSession.Status.values:
            sessions = sessions.filter(status=status)
        else:
            status = ""
        page = Paginator(sessions, SESSIONS_PER_PAGE).get_page(request.GET.get("page"))
        context.update({
            "page": page,
            "sessions": page.object_list,
            "status_filter": status,
            "statuses": TrainingSession.Status.choices,
            "can_create": can_create,
            "new_session_form": form or (NewSessionForm() if can_create else None),
        })
    return render(request, "training/list.html", context)


@method_decorator(never_cache, name="dispatch")
class SessionListView(LoginRequiredMixin, View):
    """The current organisation's recording sessions; editors and above start new ones."""

    def get(self, request):
        return _render_list(request)


@method_decorator(never_cache, name="dispatch")
class NewSessionView(LoginRequiredMixin, View):
    http_method_names = ["post", "options"]

    def post(self, request):
        membership = request.membership or None
        if membership is None:
            messages.error(request, "You are not a member of any organization.")
            return redirect("core:dashboard")
        if not _can_edit(membership):
            messages.error(request, "Starting training sessions needs the editor role or higher.")
            return redirect("training:list")
        form = NewSessionForm(request.POST)
        if form.is_valid():
            try:
                session = services.create_session(actor=request.user, organization=membership.organization,
                                                  **form.cleaned_data)
            except SERVICE_ERRORS as exc:
                form.add_service_error(exc)
            else:
                messages.success(request, f"{session.name} is ready to record.")
                return redirect("training:detail", session_id=session.pk)
        return _render_list(request, form=form)


@method_decorator(never_cache, name="dispatch")
class SessionDetailView(LoginRequiredMixin, View):
    """One session: its numbers, episodes with their gestures and charts, video upload and export."""

    def get(self, request, session_id: int):
        membership = _membership_or_404(request)
        session = _session_or_404(membership, session_id, detail=True)
        can_edit = _can_edit(membership)
        episodes = list(session.episodes.all())
        latest = selectors.latest_export(session)
        config = {
            "sessionId": session.pk,
            "organizationId": membership.organization_id,
            "status": session.status,
            "apiRoot": API_ROOT,
            "eventsSocketPath": EVENTS_SOCKET_PATH,
            "canEdit": can_edit,
            "export": {"id": latest.pk, "status": latest.status} if latest else None,
        }
        context = {
            "current": membership,
            "session": session,
            "episodes": episodes,
            "gesture_count": sum(len(episode.gestures.all()) for episode in episodes),
            "hands_present_percent": percent(session.hands_present_ratio),
            "confidence_percent": percent(session.mean_confidence),
            "export": export_state(session, latest),
            "can_edit": can_edit,
            "can_record": can_edit and session.accepts_frames,
            "video_accept": VIDEO_ACCEPT,
            "session_config": config,
            "labels": display_labels(),
        }
        return render(request, "training/detail.html", context)


@method_decorator(never_cache, name="dispatch")
class RecordView(LoginRequiredMixin, View):
    """Live recording: the camera's frames go to the recording socket, landmarks come back."""

    def get(self, request, session_id: int):
        membership = _membership_or_404(request)
        session = _session_or_404(membership, session_id)
        if not _can_edit(membership):
            messages.error(request, "Recording needs the editor role or higher.")
            return redirect("training:detail", session_id=session.pk)
        config = {
            "sessionId": session.pk,
            "socketPath": RECORD_SOCKET_PATH.format(id=session.pk),
            "fps": session.fps,
            "accepting": session.accepts_frames,
        }
        context = {
            "current": membership,
            "session": session,
            "record_config": config,
        }
        return render(request, "training/record.html", context)


# --- the forms' no-JavaScript paths --------------------------------------------------------------
def _editable_session_or_redirect(request, session_id: int):
    membership = _membership_or_404(request)
    session = _session_or_404(membership, session_id)
    if not _can_edit(membership):
        messages.error(request, "This needs the editor role or higher.")
        return session, redirect("training:detail", session_id=session.pk)
    return session, None


@method_decorator(never_cache, name="dispatch")
class ExportView(LoginRequiredMixin, View):
    http_method_names = ["post", "options"]

    def post(self, request, session_id: int):
        session, refused = _editable_session_or_redirect(request, session_id)
        if refused:
            return refused
        try:
            export, created = services.request_export(actor=request.user, session=session)
        except SERVICE_ERRORS as exc:
            messages.error(request, service_error_message(exc))
        else:
            export.refresh_from_db()
            news = "was requested" if created else "of this version already exists"
            messages.success(request, f"The LeRobot export {news}: {export.get_status_display().lower()}.")
        return redirect(reverse("training:detail", args=[session.pk]) + "#export")


@method_decorator(never_cache, name="dispatch")
class UploadVideoView(LoginRequiredMixin, View):
    http_method_names = ["post", "options"]

    def post(self, request, session_id: int):
        session, refused = _editable_session_or_redirect(request, session_id)
        if refused:
            return refused
        video = request.FILES.get("video")
        if video is None:
            messages.error(request, "Choose a video file to upload.")
        elif video.size > settings.TRAINING_VIDEO_MAX_BYTES:
            messages.error(request, f"A video may be at most {settings.TRAINING_VIDEO_MAX_BYTES // (1024 * 1024)} MB.")
        else:
            try:
                episode = services.upload_video(actor=request.user, session=session, video=video)
            except SERVICE_ERRORS as exc:
                messages.error(request, service_error_message(exc))
            else:
                messages.success(request, f"Video uploaded as episode {episode.index}; hands are being extracted.")
        return redirect(reverse("training:detail", args=[session.pk]) + "#episodes")

"""Operator console for training: sessions (with their episodes and an export action), LeRobot
exports (status, progress, the archive) and gesture labels.

Sessions, episodes and frames are written by the services only, so everything that changes what
an export contains is read-only here; an operator may rename a session (audited) or delete it
(through the service, which also removes its files from storage)."""

from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.template.defaultfilters import filesizeformat
from django.urls import path, reverse
from django.utils.html import format_html
from rest_framework.exceptions import APIException

from accounts.admin import AuditedAdminMixin, ReadOnlyAdminMixin
from accounts.forms import service_error_message

from . import selectors, services
from .api import archive_response
from .models import DatasetExport, Episode, GestureData, TrainingSession

# Every error a service may raise: Django's ValidationError, Conflict/DomainError and DRF's exceptions.
SERVICE_ERRORS = (ValidationError, APIException)


def _percent(fraction: float) -> str:
    return f"{round(min(max(fraction or 0.0, 0.0), 1.0) * 100)}%"


class EpisodeInline(admin.TabularInline):
    model = Episode
    extra = 0
    can_delete = False
    show_change_link = False
    fields = ["index", "source", "status", "frame_count", "duration_seconds", "gesture_count", "error"]
    readonly_fields = fields
    ordering = ["index"]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("gestures")

    @admin.display(description="Duration")
    def duration_seconds(self, obj):
        return f"{obj.duration:.2f} s"

    @admin.display(description="Gestures")
    def gesture_count(self, obj):
        return len(obj.gestures.all())

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(TrainingSession)
class TrainingSessionAdmin(AuditedAdminMixin, admin.ModelAdmin):
    list_display = ["name", "organization", "owner", "status", "robot_model", "frame_count", "episode_count",
                    "created_at"]
    list_filter = ["status", "robot_model", "organization"]
    search_fields = ["name", "task", "owner__email"]
    list_select_related = ["organization", "owner", "robot_model"]
    date_hierarchy = "created_at"
    readonly_fields = ["organization", "owner", "task", "robot_model", "action_hand", "fps", "status", "data_version",
                       "episode_count", "frame_count", "duration_seconds", "hands_present", "confidence",
                       "latest_export", "created_at", "updated_at", "completed_at"]
    fieldsets = [
        (None, {"fields": ["name", "task", "organization", "owner", "status"]}),
        ("Recording", {"fields": ["robot_model", "action_hand", "fps"]}),
        ("Numbers", {"fields": ["episode_count", "frame_count", "duration_seconds", "hands_present", "confidence",
                                "data_version"]}),
        ("Export", {"fields": ["latest_export"]}),
        (None, {"fields": ["created_at", "updated_at", "completed_at"]}),
    ]
    inlines = [EpisodeInline]
    actions = ["export_lerobot"]

    def has_add_permission(self, request):
        # Sessions are started from the training pages or the API, by a member of the organisation.
        return False

    @admin.display(description="Duration")
    def duration_seconds(self, obj):
        return f"{obj.duration:.1f} s"

    @admin.display(description="Hands present")
    def hands_present(self, obj):
        return _percent(obj.hands_present_ratio) if obj.frame_count else "—"

    @admin.display(description="Mean confidence")
    def confidence(self, obj):
        return _percent(obj.mean_confidence) if obj.confidence_count else "—"

    @admin.display(description="Latest export")
    def latest_export(self, obj):
        export = selectors.latest_export(obj)
        if export is None:
            return "Not exported."
        link = reverse("admin:training_datasetexport_change", args=[export.pk])
        outdated = " (the session changed since)" if export.data_version != obj.data_version else ""
        return format_html('<a href="{}">Export #{}</a>: {}, {}{}', link, export.pk, export.get_status_display(),
                           _percent(export.progress), outdated)

    def get_deleted_objects(self, objs, request):
        # Episodes, frames, labels and exports go with their session: their read-only admins must not
        # block it (the service removes them and their files).
        to_delete, model_count, _perms_needed, protected = super().get_deleted_objects(objs, request)
        return to_delete, model_count, set(), protected

    def delete_model(self, request, obj):
        # The service audits the deletion and removes the session's videos and archives from storage.
        services.delete_session(actor=request.user, session=obj)

    @admin.action(description="Export as LeRobot dataset", permissions=["change"])
    def export_lerobot(self, request, queryset):
        for session in queryset:
            try:
                export, created = services.request_export(actor=request.user, session=session)
            except SERVICE_ERRORS as exc:
                self.message_user(request, f"{session}: {service_error_message(exc)}", messages.ERROR)
                continue
            export.refresh_from_db()
            if created:
                text = f"{session}: export #{export.pk} requested ({export.get_status_display().lower()})."
            else:
                text = (f"{session}: nothing changed since export #{export.pk} "
                        f"({export.get_status_display().lower()}); it is reused.")
            self.message_user(request, text, messages.SUCCESS)


@admin.register(DatasetExport)
class DatasetExportAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Read-only: exports are written by the export job; the archive downloads from here."""

    list_display = ["id", "session", "organization", "status", "progress_percent", "stage", "episode_count",
                    "frame_count", "archive_size_display", "requested_by", "created_at", "finished_at"]
    list_filter = ["status", "created_at"]
    search_fields = ["=id", "session__name", "requested_by__email", "error"]
    list_select_related = ["session", "organization", "requested_by"]
    date_hierarchy = "created_at"
    fields = ["session", "organization", "requested_by", "status", "progress_percent", "stage", "error", "attempts",
              "data_version", "include_video", "episode_count", "frame_count", "archive_link", "archive_size_display",
              "info", "created_at", "started_at", "finished_at"]
    readonly_fields = fields

    @admin.display(description="Progress", ordering="progress")
    def progress_percent(self, obj):
        return _percent(obj.progress)

    @admin.display(description="Archive size", ordering="archive_size")
    def archive_size_display(self, obj):
        return filesizeformat(obj.archive_size) if obj.archive else "—"

    @admin.display(description="Archive")
    def archive_link(self, obj):
        if not obj.archive:
            return "—"
        return format_html('<a href="{}" download>{}</a>', reverse("admin:training_datasetexport_download",
                                                                    args=[obj.pk]), obj.archive.name.rsplit("/", 1)[-1])

    def get_urls(self):
        download = self.admin_site.admin_view(self.download_view)
        return [path("<int:export_id>/download/", download, name="training_datasetexport_download"), *super().get_urls()]

    def download_view(self, request, export_id: int):
        export = DatasetExport.objects.filter(pk=export_id).first()
        if export is None or not self.has_view_permission(request, export) or not export.archive:
            raise Http404("No archive for this export.")
        return archive_response(export)


@admin.register(GestureData)
class GestureDataAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Read-only: labels are added through the API and the recording page."""

    list_display = ["name", "session", "episode_index", "start_frame", "end_frame", "confidence", "created_at"]
    list_filter = ["name", "created_at"]
    search_fields = ["name", "episode__session__name"]
    list_select_related = ["episode__session"]
    readonly_fields = [field.name for field in GestureData._meta.fields]

    @admin.display(description="Session", ordering="episode__session__name")
    def session(self, obj):
        return obj.episode.session

    @admin.display(description="Episode", ordering="episode__index")
    def episode_index(self, obj):
        return obj.episode.index

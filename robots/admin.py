"""Operator console for robots: the model catalogue, robots (credentials, emergency stop), user
connections and the (read-only) command trail."""

import math

from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.utils.html import format_html, format_html_join
from rest_framework.exceptions import APIException

from accounts.admin import AuditedAdminMixin, ReadOnlyAdminMixin
from accounts.forms import service_error_message

from . import services
from .models import Robot, RobotCommand, RobotConnection, RobotModel

# Every error a service may raise: Django's ValidationError, Conflict and DRF's exceptions.
SERVICE_ERRORS = (ValidationError, APIException)


@admin.register(RobotModel)
class RobotModelAdmin(AuditedAdminMixin, admin.ModelAdmin):
    list_display = ["name", "manufacturer", "kind", "dof", "created_at"]
    list_filter = ["kind", "manufacturer"]
    search_fields = ["name", "slug", "manufacturer"]
    prepopulated_fields = {"slug": ["name"]}
    readonly_fields = ["joints_table", "created_at"]
    fieldsets = [
        (None, {"fields": ["name", "slug", "manufacturer", "kind", "description", "capabilities"]}),
        ("Joints (radians)", {"fields": ["joints_table", "joints"]}),
        (None, {"fields": ["created_at"]}),
    ]

    @admin.display(description="DoF")
    def dof(self, obj):
        return obj.dof

    @admin.display(description="Joint limits")
    def joints_table(self, obj):
        if not obj.joints:
            return "—"
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}°…{}°</td><td>{}</td></tr>",
            (
                (joint.get("name"), joint.get("min"), joint.get("max"),
                 round(math.degrees(float(joint.get("min", 0)))), round(math.degrees(float(joint.get("max", 0)))),
                 joint.get("max_velocity", "—"))
                for joint in obj.joints
            ),
        )
        return format_html(
            "<table><thead><tr><th>Joint</th><th>Min (rad)</th><th>Max (rad)</th><th>Range</th>"
            "<th>Max velocity (rad/s)</th></tr></thead><tbody>{}</tbody></table>",
            rows,
        )


@admin.register(Robot)
class RobotAdmin(AuditedAdminMixin, admin.ModelAdmin):
    list_display = ["name", "serial", "organization", "model", "status", "last_seen_at", "created_at"]
    list_filter = ["status", "model", "organization"]
    search_fields = ["name", "serial", "key_id"]
    list_select_related = ["organization", "model"]
    autocomplete_fields = ["organization", "model"]
    readonly_fields = ["key_id", "credential_hash", "status", "last_seen_at", "last_state", "last_state_at",
                       "created_by", "created_at", "updated_at"]
    fieldsets = [
        (None, {"fields": ["name", "serial", "organization", "model"]}),
        ("Presence", {"fields": ["status", "last_seen_at", "last_state", "last_state_at"]}),
        ("Credential", {"fields": ["key_id", "credential_hash"]}),
        (None, {"fields": ["created_by", "created_at", "updated_at"]}),
    ]
    actions = ["regenerate_credentials", "send_emergency_stop"]

    def has_add_permission(self, request):
        # Robots are registered through the page or the API, which issue the credential and show it once.
        return False

    @admin.action(description="Regenerate credential (the old one stops working)", permissions=["change"])
    def regenerate_credentials(self, request, queryset):
        for robot in queryset:
            try:
                credential = services.regenerate_credential(actor=request.user, robot=robot)
            except SERVICE_ERRORS as exc:
                self.message_user(request, f"{robot}: {service_error_message(exc)}", messages.ERROR)
                continue
            # A secret, shown once: warning level so it stands out and is not mistaken for a routine notice.
            self.message_user(
                request,
                f"New credential for {robot} — copy it now, it is not shown again: {credential}",
                messages.WARNING,
            )

    @admin.action(description="Send emergency stop (queued for offline robots)", permissions=["change"])
    def send_emergency_stop(self, request, queryset):
        sent = 0
        for robot in queryset:
            try:
                services.send_command(actor=request.user, connection=None, robot=robot,
                                      type=RobotCommand.Type.EMERGENCY_STOP, params={}, queue=True)
            except SERVICE_ERRORS as exc:
                self.message_user(request, f"{robot}: {service_error_message(exc)}", messages.ERROR)
            else:
                sent += 1
        if sent:
            self.message_user(request, f"Emergency stop sent to {sent} robot(s).", messages.SUCCESS)


@admin.register(RobotConnection)
class RobotConnectionAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Read-only: connections are opened and closed by their users through the API."""

    list_display = ["user", "robot", "organization", "status", "created_at", "closed_at"]
    list_filter = ["status", "created_at"]
    search_fields = ["user__email", "robot__name", "robot__serial", "organization__name"]
    list_select_related = ["user", "robot", "organization"]
    date_hierarchy = "created_at"


@admin.register(RobotCommand)
class RobotCommandAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Read-only: the command trail is written by services and the robot's agent."""

    list_display = ["id", "type", "robot", "organization", "status", "progress_percent", "queued", "issued_by",
                    "created_at", "completed_at"]
    list_filter = ["status", "type", "queued", "created_at"]
    search_fields = ["=id", "robot__name", "robot__serial", "issued_by__email", "error"]
    list_select_related = ["robot", "organization", "issued_by"]
    date_hierarchy = "created_at"
    readonly_fields = [field.name for field in RobotCommand._meta.fields]

    @admin.display(description="Progress", ordering="progress")
    def progress_percent(self, obj):
        return f"{round(obj.progress * 100)}%"

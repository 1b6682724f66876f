"""Server-rendered robot pages: the organisation's robots (with registration) and a robot's console.

The pages read through robots.selectors and write through robots.services; the console's live
parts (connect, commands, state) run in static/js/robot-console.js against the REST API and the
user event socket.
"""

import shlex

from django import forms
from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.cache import never_cache
from rest_framework.exceptions import APIException, NotFound

from accounts.forms import PageForm
from accounts.models import Role

from . import selectors, services
from .models import Robot, RobotCommand

SERVICE_ERRORS = (ValidationError, APIException)

ROBOTS_PER_PAGE = 50
API_ROOT = "/api/v1/robots/"
EVENTS_SOCKET_PATH = "/ws/v1/connect/"
AGENT_SOCKET_PATH = "/ws/v1/robots/agent/"
MODES = services.MODES


class RegisterRobotForm(PageForm):
    name = forms.CharField(max_length=120, widget=forms.TextInput(attrs={"id": "robot-name", "autocomplete": "off"}))
    serial = forms.CharField(
        max_length=120, help_text="Unique in your organisation.",
        widget=forms.TextInput(attrs={"id": "robot-serial", "autocomplete": "off", "spellcheck": "false"}),
    )
    model = forms.ModelChoiceField(
        queryset=selectors.catalogue(), to_field_name="slug", empty_label="Choose a model…",
        widget=forms.Select(attrs={"id": "robot-model"}),
    )


def agent_command(request, credential: str) -> str:
    """The shell command that starts the agent of a robot with this credential against this site."""
    scheme = "wss" if request.is_secure() else "ws"
    url = f"{scheme}://{request.get_host()}{AGENT_SOCKET_PATH}"
    return f"python -m robots.agent --url {shlex.quote(url)} --credential {shlex.quote(credential)}"


def joint_rows(joints: list[dict], positions: dict) -> list[dict]:
    """Each joint with its limits and where its last reported position sits between them (percent)."""
    rows = []
    for joint in joints:
        low, high = float(joint["min"]), float(joint["max"])
        value = positions.get(joint["name"])
        percent = None
        if isinstance(value, int | float) and high > low:
            percent = round(min(max((value - low) / (high - low), 0.0), 1.0) * 100, 1)
        # Where the move_joints slider starts: the reported position, else 0 (or the nearer limit).
        target = value if percent is not None else min(max(0.0, low), high)
        rows.append({"name": joint["name"], "min": low, "max": high, "max_velocity": joint.get("max_velocity"),
                     "value": value if percent is not None else None, "percent": percent, "target": target})
    return rows


def display_labels() -> dict:
    """The labels the page script shows for robot statuses, command types and command statuses."""
    return {"status": dict(Robot.Status.choices), "command": dict(RobotCommand.Type.choices),
            "commandStatus": dict(RobotCommand.Status.choices)}


def _can_edit(membership) -> bool:
    return membership is not None and Role.at_least(membership.role, Role.EDITOR)


def _render_list(request, *, form=None, registered=None):
    membership = request.membership or None
    context = {"current": membership}
    if membership is not None:
        can_register = _can_edit(membership)
        page = Paginator(selectors.robots_for(membership.organization), ROBOTS_PER_PAGE).get_page(
            request.GET.get("page"))
        context.update({
            "page": page,
            "robots": page.object_list,
            "can_register": can_register,
            "register_form": form or (RegisterRobotForm() if can_register else None),
            "registered": registered,
            "events_socket_path": EVENTS_SOCKET_PATH,
            "labels": display_labels(),
        })
    return render(request, "robots/list.html", context)


@method_decorator(never_cache, name="dispatch")
class RobotListView(LoginRequiredMixin, View):
    """The current organisation's robots with live status; editors and above register new ones."""

    def get(self, request):
        return _render_list(request)


@method_decorator(never_cache, name="dispatch")
class RegisterRobotView(LoginRequiredMixin, View):
    http_method_names = ["post", "options"]

    def post(self, request):
        membership = request.membership or None
        if membership is None:
            messages.error(request, "You are not a member of any organization.")
            return redirect("core:dashboard")
        if not _can_edit(membership):
            messages.error(request, "Registering robots needs the editor role or higher.")
            return redirect("robots:list")
        form = RegisterRobotForm(request.POST)
        if form.is_valid():
            try:
                robot, credential = services.register_robot(
                    actor=request.user, organization=membership.organization, model=form.cleaned_data["model"],
                    name=form.cleaned_data["name"], serial=form.cleaned_data["serial"],
                )
            except SERVICE_ERRORS as exc:
                form.add_service_error(exc)
            else:
                messages.success(request, f"{robot.name} is registered.")
                # Rendered, not redirected: the credential exists nowhere else in clear text.
                registered = {"robot": robot, "credential": credential,
                              "agent_command": agent_command(request, credential)}
                return _render_list(request, registered=registered)
        return _render_list(request, form=form)


@method_decorator(never_cache, name="dispatch")
class RobotConsoleView(LoginRequiredMixin, View):
    """One robot: live state, connect/disconnect, commands and their log."""

    def get(self, request, robot_id: int):
        membership = request.membership or None
        if membership is None:
            raise Http404("No organization.")
        try:
            robot = selectors.robot_for(membership.organization, robot_id)
        except NotFound as exc:
            raise Http404(str(exc.detail)) from exc
        state = robot.last_state or {}
        joints = joint_rows(robot.model.joints, state.get("joints") or {})
        battery = state.get("battery")
        config = {
            "robotId": robot.pk,
            "organizationId": membership.organization_id,
            "status": robot.status,
            "apiRoot": API_ROOT,
            "eventsSocketPath": EVENTS_SOCKET_PATH,
            "joints": [{"name": j["name"], "min": j["min"], "max": j["max"]} for j in joints],
        }
        context = {
            "current": membership,
            "robot": robot,
            "joints": joints,
            "battery_percent": round(battery * 100) if isinstance(battery, int | float) else None,
            "mode": state.get("mode") or "",
            "modes": MODES,
            "can_command": _can_edit(membership),
            "console_config": config,
            "labels": display_labels(),
        }
        return render(request, "robots/console.html", context)

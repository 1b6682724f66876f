"""Server-rendered account pages: sign-in with MFA, registration, profile, passwords, members.

Each view checks the form, calls one service (or selector) and turns the service's errors into
form errors or flash messages, so a refused action never becomes a 500.
"""

import time

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login, logout, update_session_auth_hash
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render, resolve_url
from django.utils.decorators import method_decorator
from django.utils.http import url_has_allowed_host_and_scheme
from django.views import View
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from rest_framework.exceptions import APIException, PermissionDenied

from core.exceptions import AccountLocked, error_body

from . import mfa, selectors, services
from .forms import (
    InviteMemberForm,
    LoginForm,
    MemberActionForm,
    MfaCodeForm,
    MfaConfirmForm,
    MfaDisableForm,
    PasswordChangeForm,
    PasswordResetConfirmForm,
    PasswordResetRequestForm,
    ProfileForm,
    RegisterForm,
    SwitchOrganizationForm,
    service_error_message,
    service_errors,
)
from .models import Role, User
from .tenancy import SESSION_ORGANIZATION_KEY

# Users who come back from the MFA step or registration have no `backend` attribute yet.
MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"

# The signed-in-but-not-yet-verified state between the password and the MFA step.
MFA_PENDING_USER_KEY = "mfa_pending_user_id"
MFA_PENDING_AT_KEY = "mfa_pending_at"
MFA_PENDING_NEXT_KEY = "mfa_pending_next"
# Set when the user pressed "Set up" on the MFA page, so the QR code shows until confirmed.
MFA_SETUP_KEY = "mfa_setup_started"

# Every error a service may raise: Django's ValidationError, our domain errors and DRF's
# PermissionDenied / AuthenticationFailed / NotFound (all APIException subclasses).
SERVICE_ERRORS = (ValidationError, APIException)

sensitive_post = method_decorator(sensitive_post_parameters(), name="dispatch")
no_cache = method_decorator(never_cache, name="dispatch")


# --- helpers ----------------------------------------------------------------------------------
def _safe_next(request: HttpRequest, candidate: str | None) -> str:
    """`candidate` when it points back into this site, else ""."""
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return ""


def _sign_in(request: HttpRequest, user: User) -> None:
    """Start the session of a user who passed every factor, and record it."""
    login(request, user, backend=getattr(user, "backend", None) or MODEL_BACKEND)
    services.record_sign_in(user=user)


def _clear_pending_mfa(request: HttpRequest) -> None:
    for key in (MFA_PENDING_USER_KEY, MFA_PENDING_AT_KEY, MFA_PENDING_NEXT_KEY):
        request.session.pop(key, None)


def _lockout_message() -> str:
    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    return f"Too many failed attempts: this account is locked for {minutes} minutes. Try again later."


def _render_login(
    request: HttpRequest, form: LoginForm, next_url: str, status: int = 200, lockout_message: str = ""
) -> HttpResponse:
    context = {"form": form, "next": next_url, "lockout_message": lockout_message}
    return render(request, "accounts/login.html", context, status=status)


def lockout_response(request, original_response=None, credentials=None):
    """django-axes: what a locked-out sign-in gets (JSON for the API, the login page otherwise)."""
    if request.path.startswith("/api/"):
        return JsonResponse(
            error_body("account_locked", "Too many failed login attempts; the account is locked for a while."),
            status=429,
        )
    email = (credentials or {}).get("email") or request.POST.get("email", "")
    if hasattr(request, "session"):
        _clear_pending_mfa(request)
    form = LoginForm(initial={"email": email})
    next_url = _safe_next(request, request.POST.get("next"))
    return _render_login(request, form, next_url, status=429, lockout_message=_lockout_message())


# --- sign-in ----------------------------------------------------------------------------------
@sensitive_post
@no_cache
class LoginPageView(View):
    def get(self, request):
        next_url = _safe_next(request, request.GET.get("next"))
        if request.user.is_authenticated:
            return redirect(next_url or settings.LOGIN_REDIRECT_URL)
        return _render_login(request, LoginForm(), next_url)

    def post(self, request):
        form = LoginForm(request.POST)
        next_url = _safe_next(request, request.POST.get("next"))
        if not form.is_valid():
            return _render_login(request, form, next_url)
        try:
            user = services.authenticate_credentials(
                request=request, email=form.cleaned_data["email"], password=form.cleaned_data["password"]
            )
        except AccountLocked:
            return lockout_response(request, credentials={"email": form.cleaned_data["email"]})
        except SERVICE_ERRORS as exc:
            form.add_service_error(exc)
            return _render_login(request, form, next_url)
        if user.mfa_enabled:
            request.session[MFA_PENDING_USER_KEY] = user.pk
            request.session[MFA_PENDING_AT_KEY] = time.time()
            request.session[MFA_PENDING_NEXT_KEY] = next_url
            return redirect("accounts:login-mfa")
        _sign_in(request, user)
        return redirect(next_url or settings.LOGIN_REDIRECT_URL)


@sensitive_post
@no_cache
class MfaStepView(View):
    """The second factor: a TOTP code or a backup code, within MFA_TOKEN_MAX_AGE of the password."""

    def _pending_user(self, request) -> User | None:
        user_id = request.session.get(MFA_PENDING_USER_KEY)
        started = request.session.get(MFA_PENDING_AT_KEY) or 0
        if not user_id or time.time() - started > settings.MFA_TOKEN_MAX_AGE:
            return None
        return User.objects.filter(pk=user_id, is_active=True, mfa_enabled=True).first()

    def _restart(self, request):
        _clear_pending_mfa(request)
        messages.warning(request, "Your sign-in expired; enter your email and password again.")
        return redirect("accounts:login")

    def get(self, request):
        user = self._pending_user(request)
        if user is None:
            return self._restart(request)
        return render(request, "accounts/login_mfa.html", {"form": MfaCodeForm(), "pending_email": user.email})

    def post(self, request):
        user = self._pending_user(request)
        if user is None:
            return self._restart(request)
        form = MfaCodeForm(request.POST)
        if form.is_valid():
            if services.verify_second_factor(user=user, code=form.cleaned_data["code"]):
                next_url = _safe_next(request, request.session.get(MFA_PENDING_NEXT_KEY))
                _clear_pending_mfa(request)
                _sign_in(request, user)
                return redirect(next_url or settings.LOGIN_REDIRECT_URL)
            try:
                services.record_failed_second_factor(request=request, user=user)
            except AccountLocked:
                return lockout_response(request, credentials={"email": user.email})
            form.add_error("code", "The code is not valid. Check your authenticator app and try again.")
        return render(request, "accounts/login_mfa.html", {"form": form, "pending_email": user.email})


class LogoutPageView(View):
    http_method_names = ["post", "options"]

    def post(self, request):
        user = request.user
        if user.is_authenticated:
            services.record_sign_out(user=user)
        logout(request)
        messages.info(request, "You are signed out.")
        return redirect("accounts:login")


@sensitive_post
@no_cache
class RegisterPageView(View):
    def get(self, request):
        if request.user.is_authenticated:
            return redirect(settings.LOGIN_REDIRECT_URL)
        return render(request, "accounts/register.html", {"form": RegisterForm()})

    def post(self, request):
        form = RegisterForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                user = services.register_user(
                    email=data["email"], password=data["password"], full_name=data["full_name"],
                    sex=data["sex"], date_of_birth=data["date_of_birth"], timezone_name=data["timezone"],
                )
            except SERVICE_ERRORS as exc:
                form.add_service_error(exc)
            else:
                _sign_in(request, user)
                messages.success(request, f"Welcome, {user.get_short_name()}! Your workspace is ready.")
                return redirect(settings.LOGIN_REDIRECT_URL)
        return render(request, "accounts/register.html", {"form": form})


# --- profile and MFA --------------------------------------------------------------------------
class ProfileView(LoginRequiredMixin, View):
    def get(self, request):
        user = request.user
        form = ProfileForm(initial={
            "full_name": user.full_name, "sex": user.sex, "date_of_birth": user.date_of_birth, "timezone": user.timezone,
        })
        return render(request, "accounts/profile.html", {"form": form})

    def post(self, request):
        form = ProfileForm(request.POST)
        if form.is_valid():
            try:
                services.update_profile(user=request.user, **form.cleaned_data)
            except SERVICE_ERRORS as exc:
                request.user.refresh_from_db()  # the service set the rejected values on it
                form.add_service_error(exc)
            else:
                messages.success(request, "Your profile is saved.")
                return redirect("accounts:profile")
        return render(request, "accounts/profile.html", {"form": form})


@sensitive_post
@no_cache
class MfaEnrolView(LoginRequiredMixin, View):
    """Off → "Set up" → QR code and a code to confirm → backup codes once. On → disable form."""

    template_name = "accounts/mfa.html"

    def _render(self, request, **context):
        user = request.user
        setup = None
        if not user.mfa_enabled and user.mfa_secret and request.session.get(MFA_SETUP_KEY):
            uri = mfa.provisioning_uri(user.mfa_secret, user.email)
            setup = {"secret": user.mfa_secret, "qr_svg": mfa.qr_svg(uri), "uri": uri}
            context.setdefault("confirm_form", MfaConfirmForm())
        if user.mfa_enabled:
            context.setdefault("disable_form", MfaDisableForm())
        return render(request, self.template_name, {"setup": setup, **context})

    def get(self, request):
        return self._render(request)

    def post(self, request):
        action = request.POST.get("action")
        if action == "start":
            return self._start(request)
        if action == "confirm":
            return self._confirm(request)
        if action == "disable":
            return self._disable(request)
        messages.error(request, "Unknown action.")
        return redirect("accounts:mfa")

    def _start(self, request):
        try:
            services.start_mfa_setup(user=request.user)
        except SERVICE_ERRORS as exc:
            messages.error(request, service_error_message(exc))
        else:
            request.session[MFA_SETUP_KEY] = True
        return redirect("accounts:mfa")

    def _confirm(self, request):
        form = MfaConfirmForm(request.POST)
        if form.is_valid():
            try:
                codes = services.confirm_mfa_setup(user=request.user, code=form.cleaned_data["code"])
            except SERVICE_ERRORS as exc:
                form.add_service_error(exc)
            else:
                request.session.pop(MFA_SETUP_KEY, None)
                request.user.refresh_from_db()
                messages.success(request, "Two-factor authentication is on.")
                # Rendered, not redirected: the backup codes exist nowhere else in clear text.
                return self._render(request, backup_codes=codes)
        return self._render(request, confirm_form=form)

    def _disable(self, request):
        form = MfaDisableForm(request.POST)
        if form.is_valid():
            try:
                services.disable_mfa(user=request.user, password=form.cleaned_data["password"],
                                     code=form.cleaned_data["code"])
            except SERVICE_ERRORS as exc:
                form.add_service_error(exc)
            else:
                messages.success(request, "Two-factor authentication is off.")
                return redirect("accounts:mfa")
        return self._render(request, disable_form=form)


# --- passwords --------------------------------------------------------------------------------
@sensitive_post
class PasswordChangePageView(LoginRequiredMixin, View):
    def get(self, request):
        return render(request, "accounts/password_change.html", {"form": PasswordChangeForm()})

    def post(self, request):
        form = PasswordChangeForm(request.POST)
        if form.is_valid():
            try:
                services.change_password(user=request.user, old_password=form.cleaned_data["old_password"],
                                         new_password=form.cleaned_data["new_password"])
            except SERVICE_ERRORS as exc:
                form.add_service_error(exc)
            else:
                update_session_auth_hash(request, request.user)  # stay signed in on this browser
                messages.success(request, "Your password is changed; other sessions and API tokens are signed out.")
                return redirect("accounts:profile")
        return render(request, "accounts/password_change.html", {"form": form})


class PasswordResetRequestPageView(View):
    def get(self, request):
        return render(request, "accounts/password_reset.html", {"form": PasswordResetRequestForm()})

    def post(self, request):
        form = PasswordResetRequestForm(request.POST)
        if not form.is_valid():
            return render(request, "accounts/password_reset.html", {"form": form})
        # The same answer whether or not the address exists, so the page tells nobody who has an account.
        services.request_password_reset(email=form.cleaned_data["email"])
        return render(request, "accounts/password_reset.html", {"sent": True, "email": form.cleaned_data["email"]})


@sensitive_post
@no_cache
class PasswordResetConfirmPageView(View):
    def get(self, request, uidb64, token):
        return self._render(request, PasswordResetConfirmForm(), uidb64, token)

    def post(self, request, uidb64, token):
        form = PasswordResetConfirmForm(request.POST)
        link_invalid = False
        if form.is_valid():
            try:
                services.reset_password(uid=uidb64, token=token, new_password=form.cleaned_data["new_password"])
            except SERVICE_ERRORS as exc:
                link_invalid = "token" in service_errors(exc)
                form.add_service_error(exc)
            else:
                messages.success(request, "Your password is set. Sign in with it now.")
                return redirect("accounts:login")
        return self._render(request, form, uidb64, token, link_invalid=link_invalid)

    def _render(self, request, form, uidb64, token, link_invalid=False):
        context = {"form": form, "uidb64": uidb64, "token": token, "link_invalid": link_invalid}
        return render(request, "accounts/password_reset_confirm.html", context)


# --- organisation -----------------------------------------------------------------------------
class MembersView(LoginRequiredMixin, View):
    """The current organisation's members; admins and owners invite, change roles and remove."""

    template_name = "accounts/members.html"

    def _render(self, request, invite_form=None, status=200):
        membership = request.membership or None
        context = {"current": membership}
        if membership is not None:
            actor_role = membership.role
            can_manage = Role.at_least(actor_role, Role.ADMIN)
            grantable = [(value, label) for value, label in Role.choices
                         if actor_role == Role.OWNER or not Role.at_least(value, Role.ADMIN)]
            rows = [
                {
                    "membership": member,
                    "is_self": member.user_id == request.user.pk,
                    "manageable": can_manage and (actor_role == Role.OWNER or not Role.at_least(member.role, Role.ADMIN)),
                }
                for member in selectors.organization_members(membership.organization)
            ]
            context.update({
                "rows": rows,
                "can_manage": can_manage,
                "grantable_roles": grantable,
                "invite_form": invite_form or (InviteMemberForm() if can_manage else None),
            })
        return render(request, self.template_name, context, status=status)

    def get(self, request):
        return self._render(request)

    def post(self, request):
        membership = request.membership or None
        if membership is None:
            messages.error(request, "You are not a member of any organization.")
            return redirect("core:dashboard")
        action = request.POST.get("action")
        if action == "invite":
            return self._invite(request, membership)
        if action in ("change_role", "remove"):
            return self._change(request, membership, action)
        messages.error(request, "Unknown action.")
        return redirect("accounts:members")

    def _invite(self, request, actor):
        form = InviteMemberForm(request.POST)
        if form.is_valid():
            try:
                added = services.add_member(actor_membership=actor, **form.cleaned_data)
            except PermissionDenied as exc:  # no invite form to show it on: viewers and editors have none
                messages.error(request, service_error_message(exc))
                return redirect("accounts:members")
            except SERVICE_ERRORS as exc:
                form.add_service_error(exc)
            else:
                messages.success(request, f"{added.user.email} joined {actor.organization.name} as {added.get_role_display().lower()}.")
                return redirect("accounts:members")
        return self._render(request, invite_form=form)

    def _change(self, request, actor, action):
        form = MemberActionForm(request.POST)
        if not form.is_valid():
            messages.error(request, "Choose a member and a role.")
            return redirect("accounts:members")
        try:
            target = selectors.member_of(actor.organization, form.cleaned_data["user_id"])
            if action == "remove":
                services.remove_member(actor_membership=actor, membership=target)
            elif form.cleaned_data["role"]:
                services.change_member_role(actor_membership=actor, membership=target, role=form.cleaned_data["role"])
            else:
                raise ValidationError({"role": ["Choose a role."]})
        except SERVICE_ERRORS as exc:
            messages.error(request, service_error_message(exc))
            return redirect("accounts:members")
        if action == "remove" and target.user_id == request.user.pk:
            request.session.pop(SESSION_ORGANIZATION_KEY, None)
            messages.success(request, f"You left {actor.organization.name}.")
            return redirect("core:dashboard")
        if action == "remove":
            messages.success(request, f"{target.user.email} was removed from {actor.organization.name}.")
        else:
            messages.success(request, f"{target.user.email} is now {Role(form.cleaned_data['role']).label.lower()}.")
        return redirect("accounts:members")


class SwitchOrganizationView(LoginRequiredMixin, View):
    http_method_names = ["post", "options"]

    def post(self, request):
        form = SwitchOrganizationForm(request.POST)
        back = _safe_next(request, request.POST.get("next")) or _safe_next(request, request.META.get("HTTP_REFERER"))
        chosen = None
        if form.is_valid():
            memberships = selectors.user_with_memberships(request.user).memberships.all()
            chosen = next(
                (m for m in memberships
                 if m.organization_id == form.cleaned_data["organization_id"] and m.organization.is_active),
                None,
            )
        if chosen is None:
            messages.error(request, "You are not a member of that organization.")
        else:
            request.session[SESSION_ORGANIZATION_KEY] = chosen.organization_id
            messages.success(request, f"You are now working in {chosen.organization.name}.")
        return redirect(back or resolve_url(settings.LOGIN_REDIRECT_URL))

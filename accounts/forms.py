"""Forms of the account pages: they check the shape of the input; the services decide the rest."""

import functools
import zoneinfo

from django import forms
from django.core.exceptions import NON_FIELD_ERRORS
from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils import timezone
from rest_framework.exceptions import APIException

from .models import Role, User

SEX_CHOICES = [("", "Prefer not to say"), *User.Sex.choices]


@functools.cache
def timezone_choices() -> list[tuple[str, str]]:
    return [(name, name.replace("_", " ")) for name in sorted(zoneinfo.available_timezones())]


def service_errors(exc: Exception) -> dict[str | None, list[str]]:
    """The messages of a service exception by field name (None: about the whole form)."""
    if isinstance(exc, DjangoValidationError):
        if hasattr(exc, "error_dict"):
            return {(None if k == NON_FIELD_ERRORS else k): v for k, v in exc.message_dict.items()}
        return {None: exc.messages}
    if isinstance(exc, APIException):
        detail = exc.detail
        if isinstance(detail, dict):
            return {
                (None if key in ("non_field_errors", "detail") else key):
                [str(m) for m in value] if isinstance(value, list) else [str(value)]
                for key, value in detail.items()
            }
        if isinstance(detail, list):
            return {None: [str(m) for m in detail]}
        return {None: [str(detail)]}
    raise TypeError(f"Not a service error: {exc!r}")


def service_error_message(exc: Exception) -> str:
    """One sentence for a flash message."""
    return " ".join(message for messages in service_errors(exc).values() for message in messages)


class PageForm(forms.Form):
    """Ids equal to field names (stable for browser tests) and labels without a trailing colon."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", "%s")
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)

    def add_service_error(self, exc: Exception, field_map: dict[str, str] | None = None) -> None:
        """Show a service's ValidationError or API exception on the matching fields."""
        field_map = field_map or {}
        for field, messages in service_errors(exc).items():
            name = field_map.get(field, field) if field else None
            self.add_error(name if name in self.fields else None, messages)


def _password_input(autocomplete: str, **attrs) -> forms.PasswordInput:
    return forms.PasswordInput(attrs={"autocomplete": autocomplete, **attrs})


def _code_input(**attrs) -> forms.TextInput:
    return forms.TextInput(attrs={
        "autocomplete": "one-time-code", "inputmode": "text", "spellcheck": "false",
        "autocapitalize": "off", "maxlength": 32, **attrs,
    })


def _date_input(**attrs) -> forms.DateInput:
    return forms.DateInput(attrs={"type": "date", **attrs}, format="%Y-%m-%d")


def _check_date_of_birth(value):
    if value and value > timezone.localdate():
        raise forms.ValidationError("The date of birth cannot be in the future.")
    return value


class _NewPasswordMixin:
    """Two password fields that must agree; strength is checked by the service."""

    password_field = "new_password"
    confirm_field = "new_password_confirm"

    def clean(self):
        cleaned = super().clean()
        first, second = cleaned.get(self.password_field), cleaned.get(self.confirm_field)
        if first and second and first != second:
            self.add_error(self.confirm_field, "The two passwords do not match.")
        return cleaned


# --- sign-in ----------------------------------------------------------------------------------
class LoginForm(PageForm):
    email = forms.EmailField(widget=forms.EmailInput(attrs={"autocomplete": "email", "autofocus": True}))
    password = forms.CharField(strip=False, widget=_password_input("current-password"))


class MfaCodeForm(PageForm):
    code = forms.CharField(
        label="Authentication code",
        max_length=32,
        help_text="The 6-digit code from your authenticator app, or one of your backup codes.",
        widget=_code_input(id="mfa-code", autofocus=True),
    )


# --- registration and profile -----------------------------------------------------------------
class RegisterForm(_NewPasswordMixin, PageForm):
    password_field = "password"
    confirm_field = "password_confirm"

    email = forms.EmailField(widget=forms.EmailInput(attrs={"autocomplete": "email", "autofocus": True}))
    full_name = forms.CharField(max_length=150, widget=forms.TextInput(attrs={"autocomplete": "name"}))
    password = forms.CharField(
        strip=False,
        help_text="At least 10 characters; not a common password, not only digits.",
        widget=_password_input("new-password"),
    )
    password_confirm = forms.CharField(label="Confirm password", strip=False, widget=_password_input("new-password"))
    sex = forms.ChoiceField(choices=SEX_CHOICES, required=False)
    date_of_birth = forms.DateField(required=False, widget=_date_input(autocomplete="bday"))
    # Filled by static/js/app.js from the browser's clock; UTC without JavaScript.
    timezone = forms.CharField(required=False, widget=forms.HiddenInput(attrs={"data-detect-timezone": ""}))

    def clean_date_of_birth(self):
        return _check_date_of_birth(self.cleaned_data.get("date_of_birth"))

    def clean_timezone(self):
        value = self.cleaned_data.get("timezone") or ""
        return value if value in zoneinfo.available_timezones() else "UTC"


class ProfileForm(PageForm):
    full_name = forms.CharField(max_length=150, required=False, widget=forms.TextInput(attrs={"autocomplete": "name"}))
    sex = forms.ChoiceField(choices=SEX_CHOICES, required=False)
    date_of_birth = forms.DateField(required=False, widget=_date_input(autocomplete="bday"))
    timezone = forms.ChoiceField(label="Time zone", choices=timezone_choices)

    def clean_date_of_birth(self):
        return _check_date_of_birth(self.cleaned_data.get("date_of_birth"))


# --- MFA --------------------------------------------------------------------------------------
class MfaConfirmForm(PageForm):
    code = forms.CharField(
        label="Code from your authenticator app",
        max_length=6,
        min_length=6,
        widget=_code_input(id="mfa-code", inputmode="numeric", pattern="[0-9]{6}", maxlength=6),
    )


class MfaDisableForm(PageForm):
    password = forms.CharField(
        label="Current password", strip=False, widget=_password_input("current-password", id="disable-password")
    )
    code = forms.CharField(
        label="Authentication code or backup code", max_length=32, widget=_code_input(id="disable-code")
    )


# --- passwords --------------------------------------------------------------------------------
class PasswordChangeForm(_NewPasswordMixin, PageForm):
    old_password = forms.CharField(label="Current password", strip=False, widget=_password_input("current-password"))
    new_password = forms.CharField(
        strip=False, help_text="At least 10 characters; not a common password, not only digits.",
        widget=_password_input("new-password"),
    )
    new_password_confirm = forms.CharField(
        label="Confirm new password", strip=False, widget=_password_input("new-password")
    )


class PasswordResetRequestForm(PageForm):
    email = forms.EmailField(widget=forms.EmailInput(attrs={"autocomplete": "email", "autofocus": True}))


class PasswordResetConfirmForm(_NewPasswordMixin, PageForm):
    new_password = forms.CharField(
        strip=False, help_text="At least 10 characters; not a common password, not only digits.",
        widget=_password_input("new-password", autofocus=True),
    )
    new_password_confirm = forms.CharField(
        label="Confirm new password", strip=False, widget=_password_input("new-password")
    )


# --- organisation -----------------------------------------------------------------------------
class InviteMemberForm(PageForm):
    email = forms.EmailField(widget=forms.EmailInput(attrs={"id": "invite-email", "autocomplete": "off"}))
    role = forms.ChoiceField(choices=Role.choices, initial=Role.VIEWER, widget=forms.Select(attrs={"id": "invite-role"}))
    full_name = forms.CharField(
        label="Name (for a new user)", max_length=150, required=False,
        widget=forms.TextInput(attrs={"id": "invite-name", "autocomplete": "off"}),
    )


class MemberActionForm(forms.Form):
    """One row's change-role or remove button on the members page."""

    user_id = forms.IntegerField(min_value=1)
    role = forms.ChoiceField(choices=Role.choices, required=False)


class SwitchOrganizationForm(forms.Form):
    organization_id = forms.IntegerField(min_value=1)

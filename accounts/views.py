"""Server-rendered account pages (placeholder until the pages land)."""

from django.http import JsonResponse
from django.views import View

from core.exceptions import error_body


def lockout_response(request, original_response=None, credentials=None):
    """django-axes: what a locked-out sign-in gets (JSON for the API, a page otherwise)."""
    return JsonResponse(error_body("account_locked", "Too many failed login attempts; the account is locked for a while."), status=429)


class _Placeholder(View):
    pass


LoginPageView = MfaStepView = LogoutPageView = RegisterPageView = ProfileView = MfaEnrolView = _Placeholder
PasswordChangePageView = PasswordResetRequestPageView = PasswordResetConfirmPageView = _Placeholder
MembersView = SwitchOrganizationView = _Placeholder

from django.urls import path
from rest_framework.routers import SimpleRouter

from . import api, views

app_name = "accounts"

router = SimpleRouter(trailing_slash=True)
router.register("users", api.MemberViewSet, basename="member")
router.register("audit-log", api.AuditLogViewSet, basename="audit-log")

api_urlpatterns = [
    path("auth/register", api.RegisterView.as_view(), name="register"),
    path("auth/login", api.LoginView.as_view(), name="login"),
    path("auth/login/mfa", api.MfaLoginView.as_view(), name="login-mfa"),
    path("auth/refresh", api.RefreshView.as_view(), name="refresh"),
    path("auth/logout", api.LogoutView.as_view(), name="logout"),
    path("auth/me", api.MeView.as_view(), name="me"),
    path("auth/mfa/setup", api.MfaSetupView.as_view(), name="mfa-setup"),
    path("auth/mfa/verify", api.MfaVerifyView.as_view(), name="mfa-verify"),
    path("auth/mfa/disable", api.MfaDisableView.as_view(), name="mfa-disable"),
    path("auth/password/change", api.PasswordChangeView.as_view(), name="password-change"),
    path("auth/password/reset-request", api.PasswordResetRequestView.as_view(), name="password-reset-request"),
    path("auth/password/reset", api.PasswordResetView.as_view(), name="password-reset"),
    path("organizations/current", api.CurrentOrganizationView.as_view(), name="organization-current"),
    path("organizations/current/stats", api.CurrentOrganizationStatsView.as_view(), name="organization-stats"),
    path("organizations/current/usage", api.CurrentOrganizationUsageView.as_view(), name="organization-usage"),
    *router.urls,
]

urlpatterns = [
    path("login/", views.LoginPageView.as_view(), name="login"),
    path("login/mfa/", views.MfaStepView.as_view(), name="login-mfa"),
    path("logout/", views.LogoutPageView.as_view(), name="logout"),
    path("register/", views.RegisterPageView.as_view(), name="register"),
    path("profile/", views.ProfileView.as_view(), name="profile"),
    path("profile/mfa/", views.MfaEnrolView.as_view(), name="mfa"),
    path("profile/password/", views.PasswordChangePageView.as_view(), name="password-change"),
    path("password-reset/", views.PasswordResetRequestPageView.as_view(), name="password-reset"),
    path("password-reset/<uidb64>/<token>/", views.PasswordResetConfirmPageView.as_view(), name="password-reset-confirm"),
    path("organization/members/", views.MembersView.as_view(), name="members"),
    path("organization/switch/", views.SwitchOrganizationView.as_view(), name="switch-organization"),
]

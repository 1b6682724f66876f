"""The accounts API: thin views that validate, call a service or selector, and serialize."""

import django_filters
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework_simplejwt.exceptions import InvalidToken, TokenError
from rest_framework_simplejwt.serializers import TokenRefreshSerializer

from core.throttling import ScopedSettingsThrottle

from . import mfa, selectors, services
from .models import AuditLog, Membership, Role
from .permissions import HasOrganizationRole
from .serializers import (
    AuditLogSerializer,
    AuthResultSerializer,
    LoginSerializer,
    MemberInviteSerializer,
    MemberRoleSerializer,
    MemberSerializer,
    MfaChallengeSerializer,
    MfaCodeSerializer,
    MfaDisableSerializer,
    MfaLoginSerializer,
    MfaSetupSerializer,
    OrganizationSerializer,
    OrganizationUpdateSerializer,
    PasswordChangeSerializer,
    PasswordResetRequestSerializer,
    PasswordResetSerializer,
    ProfileUpdateSerializer,
    RefreshSerializer,
    RegisterSerializer,
    TokenPairSerializer,
    UserSerializer,
)


def _validated(serializer_class, request) -> dict:
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def _auth_result(user, tokens: dict) -> dict:
    user = selectors.user_with_memberships(user)
    return {"user": UserSerializer(user).data, "access": tokens["access"], "refresh": tokens["refresh"]}


class AuthView(APIView):
    """Unauthenticated auth endpoints: throttled per client address."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes = [ScopedSettingsThrottle]
    throttle_scope = "auth"

    def get_authenticate_header(self, request):
        # Without authenticators DRF would turn 401 into 403; a failed sign-in is a 401.
        return 'Bearer realm="api"'


@extend_schema(tags=["auth"])
class RegisterView(AuthView):
    @extend_schema(request=RegisterSerializer, responses={201: AuthResultSerializer})
    def post(self, request):
        data = _validated(RegisterSerializer, request)
        user = services.register_user(
            email=data["email"], password=data["password"], full_name=data["full_name"], sex=data["sex"],
            date_of_birth=data["date_of_birth"], timezone_name=data["timezone"],
        )
        tokens = services.complete_login(request=request, user=user)
        return Response(_auth_result(user, tokens), status=status.HTTP_201_CREATED)


@extend_schema(tags=["auth"])
class LoginView(AuthView):
    @extend_schema(request=LoginSerializer, responses={200: AuthResultSerializer, 202: MfaChallengeSerializer})
    def post(self, request):
        data = _validated(LoginSerializer, request)
        result = services.begin_login(request=request, email=data["email"], password=data["password"])
        if result.get("mfa_required"):
            return Response(result)
        return Response(_auth_result(result["user"], result))


@extend_schema(tags=["auth"])
class MfaLoginView(AuthView):
    throttle_scope = "auth_sensitive"

    @extend_schema(request=MfaLoginSerializer, responses={200: AuthResultSerializer})
    def post(self, request):
        data = _validated(MfaLoginSerializer, request)
        result = services.finish_mfa_login(request=request, mfa_token=data["mfa_token"], code=data["code"])
        return Response(_auth_result(result["user"], result))


@extend_schema(tags=["auth"])
class RefreshView(AuthView):
    @extend_schema(request=RefreshSerializer, responses={200: TokenPairSerializer})
    def post(self, request):
        data = _validated(RefreshSerializer, request)
        refresh = TokenRefreshSerializer(data=data)
        try:
            refresh.is_valid(raise_exception=True)
        except TokenError as exc:  # expired, forged or blacklisted: 401
            raise InvalidToken(exc.args[0]) from exc
        return Response(refresh.validated_data)


@extend_schema(tags=["auth"])
class LogoutView(APIView):
    @extend_schema(request=RefreshSerializer, responses={204: None})
    def post(self, request):
        data = _validated(RefreshSerializer, request)
        services.logout(user=request.user, refresh=data["refresh"])
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema(tags=["auth"])
class MeView(APIView):
    @extend_schema(responses=UserSerializer)
    def get(self, request):
        return Response(selectors.me_payload(request.user))

    @extend_schema(request=ProfileUpdateSerializer, responses=UserSerializer)
    def patch(self, request):
        data = _validated(ProfileUpdateSerializer, request)
        user = services.update_profile(user=request.user, **data)
        return Response(selectors.me_payload(user))


@extend_schema(tags=["auth"])
class MfaSetupView(APIView):
    @extend_schema(request=None, responses=MfaSetupSerializer)
    def post(self, request):
        enrolment = services.start_mfa_setup(user=request.user)
        return Response({**enrolment, "qr_svg": mfa.qr_svg(enrolment["otpauth_uri"])})


@extend_schema(tags=["auth"])
class MfaVerifyView(APIView):
    throttle_classes = [ScopedSettingsThrottle]
    throttle_scope = "auth_sensitive"

    @extend_schema(request=MfaCodeSerializer, responses=inline_serializer(
        "MfaEnabled", {"mfa_enabled": serializers.BooleanField(), "backup_codes": serializers.ListField()}))
    def post(self, request):
        data = _validated(MfaCodeSerializer, request)
        codes = services.confirm_mfa_setup(user=request.user, code=data["code"])
        return Response({"mfa_enabled": True, "backup_codes": codes})


@extend_schema(tags=["auth"])
class MfaDisableView(APIView):
    throttle_classes = [ScopedSettingsThrottle]
    throttle_scope = "auth_sensitive"

    @extend_schema(request=MfaDisableSerializer, responses={204: None})
    def post(self, request):
        data = _validated(MfaDisableSerializer, request)
        services.disable_mfa(user=request.user, password=data["password"], code=data["code"])
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema(tags=["auth"])
class PasswordChangeView(APIView):
    throttle_classes = [ScopedSettingsThrottle]
    throttle_scope = "auth_sensitive"

    @extend_schema(request=PasswordChangeSerializer, responses=TokenPairSerializer)
    def post(self, request):
        data = _validated(PasswordChangeSerializer, request)
        tokens = services.change_password(
            user=request.user, old_password=data["old_password"], new_password=data["new_password"]
        )
        return Response(tokens)


@extend_schema(tags=["auth"])
class PasswordResetRequestView(AuthView):
    throttle_scope = "auth_sensitive"

    @extend_schema(request=PasswordResetRequestSerializer, responses={202: OpenApiResponse(description="Sent if the account exists")})
    def post(self, request):
        data = _validated(PasswordResetRequestSerializer, request)
        services.request_password_reset(email=data["email"])
        # Same answer whether or not the address is known: no account enumeration.
        return Response({"detail": "If the address belongs to an account, a reset link is on its way."},
                        status=status.HTTP_202_ACCEPTED)


@extend_schema(tags=["auth"])
class PasswordResetView(AuthView):
    @extend_schema(request=PasswordResetSerializer, responses={204: None})
    def post(self, request):
        data = _validated(PasswordResetSerializer, request)
        services.reset_password(uid=data["uid"], token=data["token"], new_password=data["new_password"])
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- organisations ----------------------------------------------------------------------------
@extend_schema(tags=["organizations"])
class CurrentOrganizationView(APIView):
    permission_classes = [HasOrganizationRole]
    write_role = Role.ADMIN

    @extend_schema(responses=OrganizationSerializer)
    def get(self, request):
        return Response(OrganizationSerializer(request.organization).data)

    @extend_schema(request=OrganizationUpdateSerializer, responses=OrganizationSerializer)
    def patch(self, request):
        data = _validated(OrganizationUpdateSerializer, request)
        organization = services.update_organization(actor=request.user, organization=request.organization, **data)
        return Response(OrganizationSerializer(organization).data)


@extend_schema(tags=["organizations"])
class CurrentOrganizationStatsView(APIView):
    permission_classes = [HasOrganizationRole]

    @extend_schema(responses=inline_serializer("OrganizationStats", {"members": serializers.IntegerField()}))
    def get(self, request):
        return Response(selectors.organization_stats(request.organization))


@extend_schema(tags=["organizations"])
class CurrentOrganizationUsageView(APIView):
    permission_classes = [HasOrganizationRole]

    @extend_schema(responses=inline_serializer("OrganizationUsage", {"tier": serializers.CharField()}))
    def get(self, request):
        return Response(selectors.organization_usage(request.organization))


class MemberFilter(django_filters.FilterSet):
    role = django_filters.ChoiceFilter(choices=Role.choices)
    email = django_filters.CharFilter(field_name="user__email", lookup_expr="icontains")


@extend_schema(tags=["users"])
class MemberViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Members of the current organisation: list, invite, change role, remove (admins and owners)."""

    permission_classes = [HasOrganizationRole]
    read_role = Role.ADMIN
    write_role = Role.ADMIN
    serializer_class = MemberSerializer
    queryset = Membership.objects.none()  # for the schema; requests use get_queryset()
    filterset_class = MemberFilter
    ordering_fields = ["created_at", "role"]
    lookup_field = "user_id"
    lookup_url_kwarg = "pk"

    def get_queryset(self):
        return selectors.organization_members(self.request.organization)

    def get_object(self):
        return selectors.member_of(self.request.organization, self._user_id())

    def _user_id(self) -> int:
        raw = self.kwargs["pk"]
        return int(raw) if str(raw).isdigit() else -1

    @extend_schema(request=MemberInviteSerializer, responses={201: MemberSerializer})
    def create(self, request):
        data = _validated(MemberInviteSerializer, request)
        membership = services.add_member(
            actor_membership=request.membership, email=data["email"], role=data["role"], full_name=data["full_name"]
        )
        return Response(MemberSerializer(membership).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=MemberRoleSerializer, responses=MemberSerializer)
    def partial_update(self, request, pk=None):
        data = _validated(MemberRoleSerializer, request)
        membership = services.change_member_role(
            actor_membership=request.membership, membership=self.get_object(), role=data["role"]
        )
        return Response(MemberSerializer(membership).data)

    @extend_schema(responses={204: None})
    def destroy(self, request, pk=None):
        services.remove_member(actor_membership=request.membership, membership=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


class AuditLogFilter(django_filters.FilterSet):
    action = django_filters.ChoiceFilter(choices=AuditLog.Action.choices)
    object_type = django_filters.CharFilter()
    object_id = django_filters.CharFilter()
    actor = django_filters.NumberFilter(field_name="actor_id")
    since = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    until = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="lt")


@extend_schema(tags=["audit"])
class AuditLogViewSet(viewsets.ReadOnlyModelViewSet):
    """The organisation's audit trail (admins and owners)."""

    permission_classes = [HasOrganizationRole]
    read_role = Role.ADMIN
    serializer_class = AuditLogSerializer
    queryset = AuditLog.objects.none()  # for the schema; requests use get_queryset()
    filterset_class = AuditLogFilter
    search_fields = ["object_repr", "actor_email"]
    ordering_fields = ["created_at"]

    def get_queryset(self):
        return selectors.audit_entries(self.request.organization)


from rest_framework import serializers

from core.serializers import StrictSerializer

from .models import AuditLog, Membership, Organization, Role, User, validate_timezone


# --- output -----------------------------------------------------------------------------------
class OrganizationSummarySerializer(serializers.ModelSerializer):
    class Meta:
        model = Organization
        fields = ["id", "name", "slug", "tier", "is_personal"]


class UserMembershipSerializer(serializers.ModelSerializer):
    organization = OrganizationSummarySerializer()

    class Meta:
        model = Membership
        fields = ["organization", "role"]


class UserSerializer(serializers.ModelSerializer):
    organizations = UserMembershipSerializer(source="memberships", many=True, read_only=True)

    class Meta:
        model = User
        fields = [
            "id", "email", "full_name", "sex", "date_of_birth", "timezone", "mfa_enabled",
            "default_organization", "date_joined", "organizations",
        ]
        read_only_fields = fields


class TokenPairSerializer(serializers.Serializer):
    access = serializers.CharField()
    refresh = serializers.CharField()


class AuthResultSerializer(TokenPairSerializer):
    user = UserSerializer()


class MfaChallengeSerializer(serializers.Serializer):
    mfa_required = serializers.BooleanField()
    mfa_token = serializers.CharField()


class OrganizationSerializer(serializers.ModelSerializer):
    class Meta:
        model = Organization
        fields = [
            "id", "name", "slug", "tier", "storage_quota_bytes", "device_limit", "branding",
            "is_personal", "created_at",
        ]
        read_only_fields = fields


class MemberSerializer(serializers.ModelSerializer):
    id = serializers.IntegerField(source="user.id", read_only=True)
    email = serializers.EmailField(source="user.email", read_only=True)
    full_name = serializers.CharField(source="user.full_name", read_only=True)
    is_active = serializers.BooleanField(source="user.is_active", read_only=True)
    joined_at = serializers.DateTimeField(source="created_at", read_only=True)

    class Meta:
        model = Membership
        fields = ["id", "email", "full_name", "role", "is_active", "joined_at"]
        read_only_fields = fields


class AuditLogSerializer(serializers.ModelSerializer):
    class Meta:
        model = AuditLog
        fields = [
            "id", "created_at", "actor", "actor_email", "action", "object_type", "object_id",
            "object_repr", "before", "after", "ip_address", "user_agent",
        ]
        read_only_fields = fields


# --- input ------------------------------------------------------------------------------------
class RegisterSerializer(StrictSerializer):
    email = serializers.EmailField(max_length=254)
    password = serializers.CharField(max_length=128, trim_whitespace=False)
    full_name = serializers.CharField(max_length=150, required=False, allow_blank=True, default="")
    sex = serializers.ChoiceField(choices=User.Sex.choices, required=False, allow_blank=True, default="")
    date_of_birth = serializers.DateField(required=False, allow_null=True, default=None)
    timezone = serializers.CharField(max_length=64, required=False, default="UTC", validators=[validate_timezone])


class LoginSerializer(StrictSerializer):
    email = serializers.EmailField(max_length=254)
    password = serializers.CharField(max_length=128, trim_whitespace=False)


class MfaLoginSerializer(StrictSerializer):
    mfa_token = serializers.CharField(max_length=500)
    code = serializers.CharField(max_length=32)


class RefreshSerializer(StrictSerializer):
    refresh = serializers.CharField(max_length=1000)


class ProfileUpdateSerializer(StrictSerializer):
    full_name = serializers.CharField(max_length=150, required=False, allow_blank=True)
    sex = serializers.ChoiceField(choices=User.Sex.choices, required=False, allow_blank=True)
    date_of_birth = serializers.DateField(required=False, allow_null=True)
    timezone = serializers.CharField(max_length=64, required=False, validators=[validate_timezone])
    default_organization = serializers.PrimaryKeyRelatedField(queryset=Organization.objects.all(), required=False)


class MfaCodeSerializer(StrictSerializer):
    code = serializers.CharField(max_length=32)


class MfaSetupSerializer(serializers.Serializer):
    secret = serializers.CharField()
    otpauth_uri = serializers.CharField()
    qr_svg = serializers.CharField()


class MfaDisableSerializer(StrictSerializer):
    password = serializers.CharField(max_length=128, trim_whitespace=False)
    code = serializers.CharField(max_length=32)


class PasswordChangeSerializer(StrictSerializer):
    old_password = serializers.CharField(max_length=128, trim_whitespace=False)
    new_password = serializers.CharField(max_length=128, trim_whitespace=False)


class PasswordResetRequestSerializer(StrictSerializer):
    email = serializers.EmailField(max_length=254)


class PasswordResetSerializer(StrictSerializer):
    uid = serializers.CharField(max_length=64)
    token = serializers.CharField(max_length=128)
    new_password = serializers.CharField(max_length=128, trim_whitespace=False)


class OrganizationUpdateSerializer(StrictSerializer):
    name = serializers.CharField(max_length=150, required=False)
    branding = serializers.JSONField(required=False)

    def validate_branding(self, value):
        if not isinstance(value, dict):
            raise serializers.ValidationError("Branding is a JSON object.")
        if len(str(value)) > 10_000:
            raise serializers.ValidationError("Branding is limited to 10,000 characters.")
        return value


class MemberInviteSerializer(StrictSerializer):
    email = serializers.EmailField(max_length=254)
    role = serializers.ChoiceField(choices=Role.choices, default=Role.VIEWER)
    full_name = serializers.CharField(max_length=150, required=False, allow_blank=True, default="")


class MemberRoleSerializer(StrictSerializer):
    role = serializers.ChoiceField(choices=Role.choices)

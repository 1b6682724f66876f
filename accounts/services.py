"""Every write in accounts: registration, sign-in, MFA, passwords, organisations and members."""

from django.conf import settings
from django.contrib.auth import authenticate, password_validation
from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.contrib.auth.tokens import default_token_generator
from django.core import signing
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.encoding import force_bytes, force_str
from django.utils.http import urlsafe_base64_decode, urlsafe_base64_encode
from django.utils.text import slugify
from rest_framework.exceptions import AuthenticationFailed, PermissionDenied
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.tokens import RefreshToken

from core.exceptions import AccountLocked, Conflict

from . import audit, mfa, user_cache
from .models import AuditLog, Membership, MfaBackupCode, Organization, Role, User

MFA_TOKEN_SALT = "accounts.mfa-login"


# --- helpers ----------------------------------------------------------------------------------
def axes_username(request, credentials) -> str:
    """django-axes: lock by the normalised email, whichever form or API sent it."""
    source = credentials or getattr(request, "POST", {}) or {}
    return (source.get("email") or source.get("username") or "").strip().lower()


def unique_organization_slug(name: str) -> str:
    base = slugify(name)[:60] or "organization"
    slug, n = base, 1
    while Organization.objects.filter(slug=slug).exists():
        n += 1
        slug = f"{base}-{n}"
    return slug


def issue_tokens(user: User) -> dict:
    refresh = RefreshToken.for_user(user)
    return {"access": str(refresh.access_token), "refresh": str(refresh)}


def _validate_password(password: str, user: User | None = None, field: str = "password") -> None:
    try:
        password_validation.validate_password(password, user)
    except ValidationError as exc:
        raise ValidationError({field: exc.messages}) from exc


# --- registration -----------------------------------------------------------------------------
@transaction.atomic
def register_user(
    *, email: str, password: str, full_name: str = "", sex: str = "", date_of_birth=None, timezone_name: str = "UTC"
) -> User:
    """A new user with a personal organisation they own."""
    email = User.objects.normalize_email(email).lower()
    if User.objects.filter(email__iexact=email).exists():
        raise Conflict({"email": ["A user with this email already exists."]}, code="email_taken")
    candidate = User(email=email, full_name=full_name)
    _validate_password(password, candidate)
    try:
        user = User.objects.create_user(
            email=email, password=password, full_name=full_name, sex=sex,
            date_of_birth=date_of_birth, timezone=timezone_name,
        )
    except IntegrityError as exc:  # a concurrent registration won the race
        raise Conflict({"email": ["A user with this email already exists."]}, code="email_taken") from exc
    workspace = f"{full_name or email.split('@')[0]}'s workspace"
    organization = create_organization(actor=user, name=workspace, is_personal=True)
    user.default_organization = organization
    user.save(update_fields=["default_organization"])
    audit.record(action=AuditLog.Action.CREATE, actor=user, organization=organization, instance=user,
                 after=audit.snapshot(user))
    return user


@transaction.atomic
def create_organization(*, actor: User, name: str, is_personal: bool = False, tier: str = Organization.Tier.FREE) -> Organization:
    """An organisation with `actor` as its owner."""
    organization = Organization(name=name, slug=unique_organization_slug(name), tier=tier, is_personal=is_personal)
    organization.apply_tier_quotas()
    organization.full_clean()
    organization.save()
    Membership.objects.create(user=actor, organization=organization, role=Role.OWNER)
    audit.record(action=AuditLog.Action.CREATE, actor=actor, organization=organization, instance=organization,
                 after=audit.snapshot(organization))
    return organization


# --- sign-in ----------------------------------------------------------------------------------
def authenticate_credentials(*, request, email: str, password: str) -> User:
    """The user for these credentials; counts failures and refuses locked-out accounts."""
    email = (email or "").strip().lower()
    http_request = getattr(request, "_request", request)
    user = authenticate(http_request, email=email, password=password)
    if getattr(http_request, "axes_locked_out", False):
        raise AccountLocked()
    if user is None:
        audit.record(action=AuditLog.Action.LOGIN_FAILED, object_type="accounts.user", object_repr=email)
        raise AuthenticationFailed("Email or password is incorrect.", code="invalid_credentials")
    if not user.is_active:
        raise AuthenticationFailed("This account is disabled.", code="account_disabled")
    return user


def complete_login(*, request, user: User) -> dict:
    """Tokens for a user who passed every factor; records the sign-in."""
    user_logged_in.send(sender=User, request=getattr(request, "_request", request), user=user)
    record_sign_in(user=user)
    return issue_tokens(user)


def begin_login(*, request, email: str, password: str) -> dict:
    """{"user", "access", "refresh"}, or {"mfa_required", "mfa_token"} for an MFA user."""
    user = authenticate_credentials(request=request, email=email, password=password)
    if user.mfa_enabled:
        token = signing.dumps({"uid": user.pk, "step": user.mfa_last_step}, salt=MFA_TOKEN_SALT)
        return {"mfa_required": True, "mfa_token": token}
    return {"user": user, **complete_login(request=request, user=user)}


def user_for_mfa_token(mfa_token: str) -> User:
    try:
        payload = signing.loads(mfa_token, salt=MFA_TOKEN_SALT, max_age=settings.MFA_TOKEN_MAX_AGE)
    except signing.SignatureExpired as exc:
        raise AuthenticationFailed("The MFA step expired; sign in again.", code="mfa_token_expired") from exc
    except signing.BadSignature as exc:
        raise AuthenticationFailed("The MFA token is not valid.", code="mfa_token_invalid") from exc
    user = User.objects.filter(pk=payload.get("uid"), is_active=True, mfa_enabled=True).first()
    if user is None:
        raise AuthenticationFailed("The MFA token is not valid.", code="mfa_token_invalid")
    return user


@transaction.atomic
def verify_second_factor(*, user: User, code: str) -> bool:
    """True when `code` is a fresh TOTP or an unused backup code (which is then spent)."""
    user = User.objects.select_for_update().get(pk=user.pk)
    step = mfa.matching_step(user.mfa_secret, code.strip())
    if step is not None:
        if step <= user.mfa_last_step:
            return False  # the same code twice is a replay
        user.mfa_last_step = step
        user.save(update_fields=["mfa_last_step"])
        return True
    spent = MfaBackupCode.objects.filter(
        user=user, code_hash=mfa.hash_backup_code(code), used_at__isnull=True
    ).update(used_at=timezone.now())
    return spent == 1


def record_failed_second_factor(*, request, user: User) -> None:
    """Audit a wrong MFA code and count it towards the same lockout as a wrong password;
    raises AccountLocked once the account is locked."""
    http_request = getattr(request, "_request", request)
    user_login_failed.send(sender=User, credentials={"email": user.email}, request=http_request)
    audit.record(action=AuditLog.Action.LOGIN_FAILED, actor=user, object_type="accounts.user",
                 object_id=user.pk, object_repr=f"{user.email} (MFA code)")
    if getattr(http_request, "axes_locked_out", False):
        raise AccountLocked()


def record_sign_in(*, user: User) -> None:
    audit.record(action=AuditLog.Action.LOGIN, actor=user, organization=user.default_organization, instance=user)


def record_sign_out(*, user: User) -> None:
    audit.record(action=AuditLog.Action.LOGOUT, actor=user, organization=user.default_organization, instance=user)


def finish_mfa_login(*, request, mfa_token: str, code: str) -> dict:
    user = user_for_mfa_token(mfa_token)
    if not verify_second_factor(user=user, code=code):
        record_failed_second_factor(request=request, user=user)
        raise AuthenticationFailed("The code is not valid.", code="invalid_mfa_code")
    return {"user": user, **complete_login(request=request, user=user)}


def logout(*, user: User, refresh: str) -> None:
    """Blacklist the refresh token; it must belong to the signed-in user."""
    from rest_framework_simplejwt.exceptions import TokenError

    try:
        token = RefreshToken(refresh)
    except TokenError as exc:
        raise ValidationError({"refresh": [str(exc)]}) from exc
    if str(token.get("user_id")) != str(user.pk):
        raise ValidationError({"refresh": ["This refresh token belongs to another user."]})
    token.blacklist()
    record_sign_out(user=user)


def revoke_all_refresh_tokens(*, user: User) -> int:
    outstanding = OutstandingToken.objects.filter(user=user).exclude(blacklistedtoken__isnull=False)
    BlacklistedToken.objects.bulk_create([BlacklistedToken(token=t) for t in outstanding], ignore_conflicts=True)
    return len(outstanding)


# --- profile ----------------------------------------------------------------------------------
@transaction.atomic
def update_profile(*, user: User, **fields) -> User:
    allowed = {"full_name", "sex", "date_of_birth", "timezone", "default_organization"}
    before = audit.snapshot(user, list(allowed))
    for name, value in fields.items():
        if name not in allowed:
            raise ValidationError({name: ["This field cannot be changed here."]})
        setattr(user, name, value)
    org = fields.get("default_organization")
    if org is not None and not Membership.objects.filter(user=user, organization=org).exists():
        raise ValidationError({"default_organization": ["You are not a member of this organization."]})
    user.full_clean(exclude=["password"])
    user.save()
    b, a = audit.changed_fields(before, audit.snapshot(user, list(allowed)))
    if a:
        audit.record(action=AuditLog.Action.UPDATE, actor=user, organization=user.default_organization,
                     instance=user, before=b, after=a)
    return user


# --- MFA enrolment ----------------------------------------------------------------------------
@transaction.atomic
def start_mfa_setup(*, user: User) -> dict:
    """A new pending TOTP secret and its otpauth URI; MFA turns on only after `confirm_mfa_setup`."""
    if user.mfa_enabled:
        raise Conflict("MFA is already enabled; disable it first to enrol a new device.", code="mfa_already_enabled")
    user.mfa_secret = mfa.new_secret()
    user.save(update_fields=["mfa_secret"])
    return {"secret": user.mfa_secret, "otpauth_uri": mfa.provisioning_uri(user.mfa_secret, user.email)}


@transaction.atomic
def confirm_mfa_setup(*, user: User, code: str) -> list[str]:
    """Enable MFA when `code` matches the pending secret; returns the backup codes (shown once)."""
    user = User.objects.select_for_update().get(pk=user.pk)
    if user.mfa_enabled:
        raise Conflict("MFA is already enabled.", code="mfa_already_enabled")
    if not user.mfa_secret:
        raise ValidationError({"code": ["Start the MFA setup first."]})
    step = mfa.matching_step(user.mfa_secret, code.strip())
    if step is None:
        raise ValidationError({"code": ["The code is not valid for this authenticator."]})
    user.mfa_enabled = True
    user.mfa_last_step = step
    user.save(update_fields=["mfa_enabled", "mfa_last_step"])
    codes = mfa.new_backup_codes(settings.MFA_BACKUP_CODE_COUNT)
    MfaBackupCode.objects.filter(user=user).delete()
    MfaBackupCode.objects.bulk_create([MfaBackupCode(user=user, code_hash=mfa.hash_backup_code(c)) for c in codes])
    audit.record(action=AuditLog.Action.MFA_ENABLE, actor=user, organization=user.default_organization, instance=user)
    return codes


@transaction.atomic
def disable_mfa(*, user: User, password: str, code: str) -> None:
    if not user.mfa_enabled:
        raise Conflict("MFA is not enabled.", code="mfa_not_enabled")
    if not user.check_password(password):
        raise ValidationError({"password": ["The password is incorrect."]})
    if not verify_second_factor(user=user, code=code):
        raise ValidationError({"code": ["The code is not valid."]})
    User.objects.filter(pk=user.pk).update(mfa_enabled=False, mfa_secret="", mfa_last_step=0)
    user_cache.forget(user.pk)  # update() sends no post_save
    MfaBackupCode.objects.filter(user=user).delete()
    audit.record(action=AuditLog.Action.MFA_DISABLE, actor=user, organization=user.default_organization, instance=user)


# --- passwords --------------------------------------------------------------------------------
@transaction.atomic
def change_password(*, user: User, old_password: str, new_password: str) -> dict:
    """Set a new password, sign out every other session; returns fresh tokens."""
    if not user.check_password(old_password):
        raise ValidationError({"old_password": ["The current password is incorrect."]})
    _validate_password(new_password, user, field="new_password")
    user.set_password(new_password)
    user.save(update_fields=["password"])
    revoke_all_refresh_tokens(user=user)
    audit.record(action=AuditLog.Action.PASSWORD_CHANGE, actor=user, organization=user.default_organization, instance=user)
    return issue_tokens(user)


def password_reset_link_parts(user: User) -> tuple[str, str]:
    return urlsafe_base64_encode(force_bytes(user.pk)), default_token_generator.make_token(user)


def request_password_reset(*, email: str) -> None:
    """Email a reset link when the address belongs to an active user; silent otherwise."""
    from .tasks import send_password_reset_email

    user = User.objects.filter(email__iexact=(email or "").strip(), is_active=True).first()
    if user is not None:
        transaction.on_commit(lambda: send_password_reset_email.delay(user.pk))


def _user_for_reset(uid: str, token: str) -> User:
    try:
        user = User.objects.get(pk=int(force_str(urlsafe_base64_decode(uid))), is_active=True)
    except (ValueError, TypeError, OverflowError, User.DoesNotExist):
        user = None
    if user is None or not default_token_generator.check_token(user, token):
        raise ValidationError({"token": ["The reset link is invalid or has expired."]})
    return user


@transaction.atomic
def reset_password(*, uid: str, token: str, new_password: str) -> User:
    user = _user_for_reset(uid, token)
    _validate_password(new_password, user, field="new_password")
    user.set_password(new_password)
    user.save(update_fields=["password"])
    revoke_all_refresh_tokens(user=user)
    audit.record(action=AuditLog.Action.PASSWORD_RESET, actor=user, organization=user.default_organization, instance=user)
    return user


# --- organisations and members ----------------------------------------------------------------
@transaction.atomic
def update_organization(*, actor: User, organization: Organization, **fields) -> Organization:
    allowed = {"name", "branding"}
    before = audit.snapshot(organization, list(allowed))
    for name, value in fields.items():
        if name not in allowed:
            raise ValidationError({name: ["This field cannot be changed here."]})
        setattr(organization, name, value)
    organization.full_clean()
    organization.save()
    b, a = audit.changed_fields(before, audit.snapshot(organization, list(allowed)))
    if a:
        audit.record(action=AuditLog.Action.UPDATE, actor=actor, organization=organization,
                     instance=organization, before=b, after=a)
    return organization


def _check_can_manage(*, actor_membership: Membership, target_role: str, new_role: str | None = None) -> None:
    """Owners manage anyone; admins manage editors and viewers and grant up to editor."""
    actor_role = actor_membership.role
    if actor_role == Role.OWNER:
        return
    if actor_role != Role.ADMIN:
        raise PermissionDenied("Managing members needs the admin role or higher.", code="insufficient_role")
    if Role.at_least(target_role, Role.ADMIN) or (new_role and Role.at_least(new_role, Role.ADMIN)):
        raise PermissionDenied("Only owners can grant, change or remove admins and owners.", code="insufficient_role")


def _ensure_an_owner_remains(membership: Membership) -> None:
    if membership.role == Role.OWNER:
        owners = Membership.objects.select_for_update().filter(organization_id=membership.organization_id, role=Role.OWNER)
        if owners.count() <= 1:
            raise Conflict("An organization needs at least one owner.", code="last_owner")


@transaction.atomic
def add_member(*, actor_membership: Membership, email: str, role: str, full_name: str = "") -> Membership:
    """Add an existing user, or invite a new one (they set a password from the emailed link)."""
    from .tasks import send_invitation_email

    _check_can_manage(actor_membership=actor_membership, target_role=role, new_role=role)
    organization = actor_membership.organization
    email = User.objects.normalize_email(email).lower()
    user = User.objects.filter(email__iexact=email).first()
    invited = user is None
    if invited:
        user = User.objects.create_user(email=email, password=None, full_name=full_name)
        user.default_organization = organization
        user.save(update_fields=["default_organization"])
    if Membership.objects.filter(user=user, organization=organization).exists():
        raise Conflict({"email": ["This user is already a member."]}, code="already_member")
    membership = Membership.objects.create(user=user, organization=organization, role=role)
    audit.record(action=AuditLog.Action.CREATE, actor=actor_membership.user, organization=organization,
                 instance=membership, after=audit.snapshot(membership))
    transaction.on_commit(lambda: send_invitation_email.delay(membership.pk, invited))
    return membership


@transaction.atomic
def change_member_role(*, actor_membership: Membership, membership: Membership, role: str) -> Membership:
    membership = Membership.objects.select_for_update().get(pk=membership.pk)
    _check_can_manage(actor_membership=actor_membership, target_role=membership.role, new_role=role)
    if membership.role == role:
        return membership
    if role != Role.OWNER:
        _ensure_an_owner_remains(membership)
    before = audit.snapshot(membership, ["role"])
    membership.role = role
    membership.save(update_fields=["role", "updated_at"])
    audit.record(action=AuditLog.Action.UPDATE, actor=actor_membership.user, organization=membership.organization,
                 instance=membership, before=before, after={"role": role})
    return membership


@transaction.atomic
def remove_member(*, actor_membership: Membership, membership: Membership) -> None:
    if membership.pk != actor_membership.pk:  # leaving yourself needs no rank
        _check_can_manage(actor_membership=actor_membership, target_role=membership.role)
    _ensure_an_owner_remains(membership)
    before = audit.snapshot(membership)
    audit.record(action=AuditLog.Action.DELETE, actor=actor_membership.user, organization=membership.organization,
                 instance=membership, before=before)
    user = membership.user
    membership.delete()
    if user.default_organization_id == membership.organization_id:
        user.default_organization = None
        user.save(update_fields=["default_organization"])


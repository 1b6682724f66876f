import time
import uuid
from datetime import timedelta

import jwt
import pyotp
import pytest
from django.conf import settings
from django.contrib.auth.hashers import identify_hasher
from django.utils import timezone

from accounts import services
from accounts.models import AuditLog, Membership, MfaBackupCode, Role, User
from accounts.tests.factories import UserFactory, member

pytestmark = pytest.mark.django_db

STRONG = "Correct-Horse-42"


def register(api_client, **overrides):
    payload = {"email": "ada@example.com", "password": STRONG, "full_name": "Ada Lovelace", **overrides}
    return api_client.post("/api/v1/auth/register", payload, format="json")


def enable_mfa(user) -> tuple[str, list[str]]:
    secret = services.start_mfa_setup(user=user)["secret"]
    codes = services.confirm_mfa_setup(user=user, code=pyotp.TOTP(secret).now())
    return secret, codes


def next_totp(secret: str) -> str:
    """A code for the next time step: the current one was spent by enrolment."""
    return pyotp.TOTP(secret).at(time.time() + 30)


class TestRegister:
    def test_creates_user_with_personal_organization_as_owner(self, api_client):
        response = register(api_client, sex="female", date_of_birth="1990-05-01")
        assert response.status_code == 201, response.content
        body = response.json()
        assert body["user"]["email"] == "ada@example.com"
        assert body["user"]["sex"] == "female"
        assert body["access"] and body["refresh"]
        [org] = body["user"]["organizations"]
        assert org["role"] == "owner" and org["organization"]["is_personal"] is True
        user = User.objects.get(email="ada@example.com")
        assert user.default_organization_id == org["organization"]["id"]
        assert Membership.objects.get(user=user).role == Role.OWNER
        assert AuditLog.objects.filter(action="create", object_type="accounts.organization").exists()

    def test_access_token_works_on_me(self, api_client):
        access = register(api_client).json()["access"]
        api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
        me = api_client.get("/api/v1/auth/me")
        assert me.status_code == 200
        assert me.json()["full_name"] == "Ada Lovelace"

    def test_duplicate_email_is_409_with_field_error_whatever_the_case(self, api_client):
        register(api_client)
        response = register(api_client, email="ADA@example.com")
        assert response.status_code == 409
        error = response.json()["error"]
        assert error["code"] == "email_taken"
        assert "email" in error["fields"]

    @pytest.mark.parametrize("password", ["short", "password123", "12345678901", "ada@example.com"])
    def test_weak_password_is_400_on_the_password_field(self, api_client, password):
        response = register(api_client, password=password)
        assert response.status_code == 400
        assert "password" in response.json()["error"]["fields"]
        assert not User.objects.exists()

    def test_missing_fields(self, api_client):
        response = api_client.post("/api/v1/auth/register", {}, format="json")
        assert response.status_code == 400
        fields = response.json()["error"]["fields"]
        assert set(fields) == {"email", "password"}

    def test_extra_field_is_rejected(self, api_client):
        response = register(api_client, is_staff=True)
        assert response.status_code == 400
        assert response.json()["error"]["fields"] == {"is_staff": ["Unknown field."]}
        assert not User.objects.exists()

    def test_oversized_and_wrong_typed_fields(self, api_client):
        response = register(api_client, full_name="x" * 151)
        assert response.status_code == 400 and "full_name" in response.json()["error"]["fields"]
        response = register(api_client, email=["a@b.c"])
        assert response.status_code == 400 and "email" in response.json()["error"]["fields"]
        response = register(api_client, date_of_birth="yesterday")
        assert response.status_code == 400 and "date_of_birth" in response.json()["error"]["fields"]
        response = register(api_client, timezone="Mars/Olympus")
        assert response.status_code == 400 and "timezone" in response.json()["error"]["fields"]

    def test_malformed_json_is_400(self, api_client):
        response = api_client.post("/api/v1/auth/register", data='{"email": ', content_type="application/json")
        assert response.status_code == 400
        assert response.json()["error"]["code"] == "parse_error"

    def test_json_that_is_not_an_object_is_400(self, api_client):
        response = api_client.post("/api/v1/auth/register", data="[1, 2]", content_type="application/json")
        assert response.status_code == 400
        assert "Expected a JSON object" in response.json()["error"]["message"]

    def test_body_over_the_upload_limit_is_413(self, api_client, settings):
        settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
        response = register(api_client, full_name="x" * 5000)
        assert response.status_code == 413
        assert response.json()["error"]["code"] == "payload_too_large"

    def test_passwords_are_hashed_with_argon2_by_default(self):
        from config.settings import base

        assert base.PASSWORD_HASHERS[0].endswith("Argon2PasswordHasher")
        user = UserFactory()
        user.set_password(STRONG)
        assert identify_hasher(user.password).algorithm in ("md5", "argon2")  # test settings prefer md5


class TestLogin:
    def test_returns_tokens_and_user(self, api_client):
        user = UserFactory(email="bob@example.com")
        response = api_client.post("/api/v1/auth/login", {"email": "BOB@example.com", "password": STRONG})
        assert response.status_code == 200, response.content
        assert response.json()["user"]["id"] == user.pk
        assert AuditLog.objects.filter(action="login", actor=user).exists()

    def test_wrong_password_is_401_and_audited(self, api_client):
        UserFactory(email="bob@example.com")
        response = api_client.post("/api/v1/auth/login", {"email": "bob@example.com", "password": "nope-nope-nope"})
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "invalid_credentials"
        assert AuditLog.objects.filter(action="login_failed", object_repr="bob@example.com").exists()

    def test_locked_out_after_five_failures_even_with_the_right_password(self, api_client):
        UserFactory(email="bob@example.com")
        for _ in range(5):
            api_client.post("/api/v1/auth/login", {"email": "bob@example.com", "password": "wrong-password-1"})
        response = api_client.post("/api/v1/auth/login", {"email": "bob@example.com", "password": STRONG})
        assert response.status_code == 429
        assert response.json()["error"]["code"] == "account_locked"

    def test_lockout_expires_after_the_cool_off(self, api_client):
        from axes.models import AccessAttempt

        UserFactory(email="bob@example.com")
        for _ in range(5):
            api_client.post("/api/v1/auth/login", {"email": "bob@example.com", "password": "wrong-password-1"})
        AccessAttempt.objects.update(attempt_time=timezone.now() - timedelta(minutes=16))
        response = api_client.post("/api/v1/auth/login", {"email": "bob@example.com", "password": STRONG})
        assert response.status_code == 200, response.content

    def test_disabled_user_cannot_log_in(self, api_client):
        UserFactory(email="bob@example.com", is_active=False)
        response = api_client.post("/api/v1/auth/login", {"email": "bob@example.com", "password": STRONG})
        assert response.status_code == 401

    def test_auth_endpoints_are_throttled(self, api_client, settings):
        settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"auth": "3/minute", "auth_sensitive": "3/minute"}}
        # A client address of its own, so the throttle history of other tests does not count.
        address = f"198.51.100.{uuid.uuid4().int % 250 + 1}"
        statuses = [
            api_client.post("/api/v1/auth/login", {"email": f"x{i}@example.com", "password": "whatever-123"},
                            REMOTE_ADDR=address).status_code
            for i in range(5)
        ]
        assert statuses[:3] == [401, 401, 401]
        assert statuses[3] == 429
        response = api_client.post("/api/v1/auth/login", {"email": "x@example.com", "password": "whatever-123"},
                                   REMOTE_ADDR=address)
        assert response.json()["error"]["code"] == "throttled"
        assert response.json()["error"]["retry_after"] > 0


class TestMfaLogin:
    def test_mfa_user_gets_a_challenge_then_tokens(self, api_client):
        user = UserFactory(email="mfa@example.com")
        secret, _ = enable_mfa(user)
        first = api_client.post("/api/v1/auth/login", {"email": "mfa@example.com", "password": STRONG}).json()
        assert first["mfa_required"] is True and "access" not in first
        response = api_client.post("/api/v1/auth/login/mfa", {"mfa_token": first["mfa_token"], "code": next_totp(secret)})
        assert response.status_code == 200, response.content
        assert response.json()["user"]["mfa_enabled"] is True
        assert response.json()["access"]

    def test_wrong_code_is_401(self, api_client):
        user = UserFactory(email="mfa@example.com")
        enable_mfa(user)
        token = api_client.post("/api/v1/auth/login", {"email": "mfa@example.com", "password": STRONG}).json()["mfa_token"]
        response = api_client.post("/api/v1/auth/login/mfa", {"mfa_token": token, "code": "000000"})
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "invalid_mfa_code"

    def test_totp_code_cannot_be_replayed(self, api_client):
        user = UserFactory(email="mfa@example.com")
        secret, _ = enable_mfa(user)
        code = next_totp(secret)
        for expected in (200, 401):
            token = api_client.post("/api/v1/auth/login", {"email": "mfa@example.com", "password": STRONG}).json()["mfa_token"]
            assert api_client.post("/api/v1/auth/login/mfa", {"mfa_token": token, "code": code}).status_code == expected

    def test_backup_code_works_once(self, api_client):
        user = UserFactory(email="mfa@example.com")
        _, codes = enable_mfa(user)
        assert len(codes) == settings.MFA_BACKUP_CODE_COUNT
        for expected in (200, 401):
            token = api_client.post("/api/v1/auth/login", {"email": "mfa@example.com", "password": STRONG}).json()["mfa_token"]
            response = api_client.post("/api/v1/auth/login/mfa", {"mfa_token": token, "code": codes[0].upper()})
            assert response.status_code == expected
        assert MfaBackupCode.objects.filter(user=user, used_at__isnull=False).count() == 1

    def test_forged_and_expired_mfa_tokens(self, api_client, settings):
        user = UserFactory(email="mfa@example.com")
        secret, _ = enable_mfa(user)
        response = api_client.post("/api/v1/auth/login/mfa", {"mfa_token": "forged:token", "code": next_totp(secret)})
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "mfa_token_invalid"
        token = api_client.post("/api/v1/auth/login", {"email": "mfa@example.com", "password": STRONG}).json()["mfa_token"]
        settings.MFA_TOKEN_MAX_AGE = -1
        response = api_client.post("/api/v1/auth/login/mfa", {"mfa_token": token, "code": next_totp(secret)})
        assert response.json()["error"]["code"] == "mfa_token_expired"

    def test_wrong_codes_lock_the_account(self, api_client):
        user = UserFactory(email="mfa@example.com")
        enable_mfa(user)
        token = api_client.post("/api/v1/auth/login", {"email": "mfa@example.com", "password": STRONG}).json()["mfa_token"]
        statuses = [
            api_client.post("/api/v1/auth/login/mfa", {"mfa_token": token, "code": "000000"}).status_code for _ in range(6)
        ]
        assert statuses[-1] == 429


class TestMfaEnrolment:
    def test_setup_verify_disable(self, client_for):
        user = UserFactory()
        client = client_for(user)
        setup = client.post("/api/v1/auth/mfa/setup").json()
        assert setup["otpauth_uri"].startswith("otpauth://totp/")
        assert setup["qr_svg"].lstrip().startswith("<")
        assert "<svg" in setup["qr_svg"]
        bad = client.post("/api/v1/auth/mfa/verify", {"code": "123456"})
        assert bad.status_code == 400 and "code" in bad.json()["error"]["fields"]
        ok = client.post("/api/v1/auth/mfa/verify", {"code": pyotp.TOTP(setup["secret"]).now()})
        assert ok.status_code == 200
        assert len(ok.json()["backup_codes"]) == 10
        user.refresh_from_db()
        assert user.mfa_enabled
        assert client.post("/api/v1/auth/mfa/setup").status_code == 409
        wrong = client.post("/api/v1/auth/mfa/disable", {"password": "not-my-password", "code": next_totp(setup["secret"])})
        assert wrong.status_code == 400
        done = client.post("/api/v1/auth/mfa/disable", {"password": STRONG, "code": next_totp(setup["secret"])})
        assert done.status_code == 204
        user.refresh_from_db()
        assert not user.mfa_enabled and not user.mfa_secret
        assert set(AuditLog.objects.filter(actor=user).values_list("action", flat=True)) >= {"mfa_enable", "mfa_disable"}


class TestTokens:
    def test_refresh_rotates_and_blacklists_the_old_token(self, api_client):
        UserFactory(email="bob@example.com")
        tokens = api_client.post("/api/v1/auth/login", {"email": "bob@example.com", "password": STRONG}).json()
        rotated = api_client.post("/api/v1/auth/refresh", {"refresh": tokens["refresh"]})
        assert rotated.status_code == 200
        assert rotated.json()["refresh"] != tokens["refresh"]
        again = api_client.post("/api/v1/auth/refresh", {"refresh": tokens["refresh"]})
        assert again.status_code == 401
        assert again.json()["error"]["code"] == "token_not_valid"

    def test_logout_blacklists_the_refresh_token(self, client_for, api_client):
        user = UserFactory()
        refresh = services.issue_tokens(user)["refresh"]
        assert client_for(user).post("/api/v1/auth/logout", {"refresh": refresh}).status_code == 204
        assert api_client.post("/api/v1/auth/refresh", {"refresh": refresh}).status_code == 401

    def test_logout_with_someone_elses_token_is_400(self, client_for):
        user, other = UserFactory(), UserFactory()
        response = client_for(user).post("/api/v1/auth/logout", {"refresh": services.issue_tokens(other)["refresh"]})
        assert response.status_code == 400

    def test_expired_access_token_is_401(self, api_client):
        from rest_framework_simplejwt.tokens import AccessToken

        user = UserFactory()
        token = AccessToken.for_user(user)
        token.set_exp(lifetime=-timedelta(seconds=1))
        api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
        response = api_client.get("/api/v1/auth/me")
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "token_not_valid"

    def test_forged_access_token_is_401(self, api_client):
        user = UserFactory()
        forged = jwt.encode({"user_id": str(user.pk), "token_type": "access", "exp": int(time.time()) + 600, "jti": "x"},
                            "not-the-key", algorithm="HS256")
        api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {forged}")
        assert api_client.get("/api/v1/auth/me").status_code == 401

    def test_garbage_refresh_is_401(self, api_client):
        assert api_client.post("/api/v1/auth/refresh", {"refresh": "garbage"}).status_code == 401

    def test_lifetimes_match_the_spec(self):
        assert settings.SIMPLE_JWT["ACCESS_TOKEN_LIFETIME"] == timedelta(minutes=15)
        assert settings.SIMPLE_JWT["REFRESH_TOKEN_LIFETIME"] == timedelta(days=7)


class TestMe:
    def test_lists_organizations_and_roles(self, client_for, organization):
        user = member(organization, Role.EDITOR)
        body = client_for(user).get("/api/v1/auth/me").json()
        assert body["organizations"] == [
            {"organization": {"id": organization.pk, "name": organization.name, "slug": organization.slug,
                              "tier": "free", "is_personal": False}, "role": "editor"}
        ]

    def test_patch_updates_profile_and_audits(self, client_for):
        user = UserFactory()
        response = client_for(user).patch("/api/v1/auth/me", {"full_name": "New Name", "timezone": "Europe/Paris"})
        assert response.status_code == 200
        assert response.json()["timezone"] == "Europe/Paris"
        row = AuditLog.objects.get(action="update", actor=user)
        assert row.after == {"full_name": "New Name", "timezone": "Europe/Paris"}

    def test_patch_cannot_change_email_or_staff(self, client_for):
        user = UserFactory()
        response = client_for(user).patch("/api/v1/auth/me", {"is_staff": True})
        assert response.status_code == 400
        user.refresh_from_db()
        assert not user.is_staff

    def test_default_organization_must_be_one_of_mine(self, client_for, other_organization):
        user = UserFactory()
        response = client_for(user).patch("/api/v1/auth/me", {"default_organization": other_organization.pk})
        assert response.status_code == 400

    def test_anonymous_is_401(self, api_client):
        assert api_client.get("/api/v1/auth/me").status_code == 401

    def test_query_count_does_not_grow_with_organizations(self, client_for, django_assert_num_queries):
        from accounts.tests.factories import OrganizationFactory

        user = member()
        for _ in range(5):
            Membership.objects.create(user=user, organization=OrganizationFactory(), role=Role.VIEWER)
        client = client_for(user)
        with django_assert_num_queries(2):  # the token's user, then memberships with organisations
            body = client.get("/api/v1/auth/me").json()
        assert len(body["organizations"]) == 6


class TestPasswords:
    def test_change_requires_the_old_password_and_revokes_refresh_tokens(self, client_for, api_client):
        user = UserFactory()
        old_refresh = services.issue_tokens(user)["refresh"]
        client = client_for(user)
        wrong = client.post("/api/v1/auth/password/change", {"old_password": "nope", "new_password": "Another-Horse-43"})
        assert wrong.status_code == 400 and "old_password" in wrong.json()["error"]["fields"]
        weak = client.post("/api/v1/auth/password/change", {"old_password": STRONG, "new_password": "123"})
        assert weak.status_code == 400 and "new_password" in weak.json()["error"]["fields"]
        ok = client.post("/api/v1/auth/password/change", {"old_password": STRONG, "new_password": "Another-Horse-43"})
        assert ok.status_code == 200 and ok.json()["access"]
        assert api_client.post("/api/v1/auth/refresh", {"refresh": old_refresh}).status_code == 401
        assert api_client.post("/api/v1/auth/refresh", {"refresh": ok.json()["refresh"]}).status_code == 200

    def test_reset_flow_by_email(self, api_client, mailoutbox, django_capture_on_commit_callbacks):
        user = UserFactory(email="reset@example.com")
        with django_capture_on_commit_callbacks(execute=True):
            response = api_client.post("/api/v1/auth/password/reset-request", {"email": "reset@example.com"})
        assert response.status_code == 202
        [mail] = mailoutbox
        link = next(line for line in mail.body.splitlines() if "/password-reset/" in line)
        uid, token = link.rstrip("/").split("/")[-2:]
        response = api_client.post("/api/v1/auth/password/reset", {"uid": uid, "token": token, "new_password": "Fresh-Horse-44"})
        assert response.status_code == 204
        user.refresh_from_db()
        assert user.check_password("Fresh-Horse-44")
        again = api_client.post("/api/v1/auth/password/reset", {"uid": uid, "token": token, "new_password": "Fresh-Horse-45"})
        assert again.status_code == 400 and "token" in again.json()["error"]["fields"]

    def test_reset_request_for_unknown_email_answers_the_same(self, api_client, mailoutbox, django_capture_on_commit_callbacks):
        with django_capture_on_commit_callbacks(execute=True):
            response = api_client.post("/api/v1/auth/password/reset-request", {"email": "nobody@example.com"})
        assert response.status_code == 202
        assert mailoutbox == []

    def test_reset_with_a_bad_uid_is_400(self, api_client):
        response = api_client.post("/api/v1/auth/password/reset", {"uid": "!!", "token": "x", "new_password": "Fresh-Horse-44"})
        assert response.status_code == 400


class TestMeStaysFresh:
    """/auth/me is cached per user; every change it shows must be visible at once."""

    def test_profile_role_and_organization_changes_show_up(self, client_for, owner, organization):
        target = member(organization, Role.VIEWER)
        client = client_for(target)
        assert client.get("/api/v1/auth/me").json()["organizations"][0]["role"] == "viewer"
        client_for(owner).patch(f"/api/v1/users/{target.pk}/", {"role": "editor"})
        assert client.get("/api/v1/auth/me").json()["organizations"][0]["role"] == "editor"
        client_for(owner).patch("/api/v1/organizations/current", {"name": "Renamed Lab"})
        assert client.get("/api/v1/auth/me").json()["organizations"][0]["organization"]["name"] == "Renamed Lab"
        client.patch("/api/v1/auth/me", {"full_name": "Fresh Name"})
        assert client.get("/api/v1/auth/me").json()["full_name"] == "Fresh Name"
        client_for(owner).delete(f"/api/v1/users/{target.pk}/")
        assert client.get("/api/v1/auth/me").json()["organizations"] == []

    def test_mfa_state_shows_up(self, client_for):
        user = UserFactory()
        client = client_for(user)
        assert client.get("/api/v1/auth/me").json()["mfa_enabled"] is False
        secret, _ = enable_mfa(user)
        assert client.get("/api/v1/auth/me").json()["mfa_enabled"] is True
        user.refresh_from_db()
        services.disable_mfa(user=user, password=STRONG, code=next_totp(secret))
        assert client.get("/api/v1/auth/me").json()["mfa_enabled"] is False

    def test_a_cached_request_runs_no_query(self, client_for, viewer, django_assert_num_queries):
        client = client_for(viewer)
        client.get("/api/v1/auth/me")
        with django_assert_num_queries(0):  # the token's user and the payload come from the cache
            assert client.get("/api/v1/auth/me").json()["id"] == viewer.pk

    def test_a_deactivated_user_is_refused_at_once(self, client_for, viewer):
        client = client_for(viewer)
        assert client.get("/api/v1/auth/me").status_code == 200
        viewer.is_active = False
        viewer.save()
        assert client.get("/api/v1/auth/me").status_code == 401

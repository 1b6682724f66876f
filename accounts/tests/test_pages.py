"""The server-rendered account pages, through the Django test client."""

import time

import pyotp
import pytest
from django.urls import reverse

from accounts import services
from accounts.models import AuditLog, Membership, Organization, Role, User
from accounts.tenancy import SESSION_ORGANIZATION_KEY

PASSWORD = "Correct-Horse-42"

pytestmark = pytest.mark.django_db


def register(email="ada@example.com", full_name="Ada Lovelace") -> User:
    return services.register_user(email=email, password=PASSWORD, full_name=full_name)


def enable_mfa(user: User) -> tuple[str, list[str]]:
    """Turn MFA on for `user`; returns the secret and the backup codes."""
    secret = services.start_mfa_setup(user=user)["secret"]
    codes = services.confirm_mfa_setup(user=user, code=pyotp.TOTP(secret).now())
    return secret, codes


def login_post(client, email, password=PASSWORD, **extra):
    return client.post(reverse("accounts:login"), {"email": email, "password": password, **extra})


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


# --- sign-in ----------------------------------------------------------------------------------
class TestLogin:
    def test_page_renders_the_form_with_links(self, client):
        response = client.get(reverse("accounts:login"))
        body = response.content.decode()
        assert response.status_code == 200
        assert 'id="login-form"' in body and 'id="email"' in body and 'id="password"' in body
        assert reverse("accounts:register") in body and reverse("accounts:password-reset") in body
        assert "csrfmiddlewaretoken" in body

    def test_success_lands_on_the_dashboard_with_the_organization(self, client):
        user = register()
        response = login_post(client, "ADA@example.com", follow=False)
        assert response.status_code == 302
        assert response["Location"] == reverse("core:dashboard")
        dashboard = client.get(response["Location"])
        assert dashboard.status_code == 200
        assert dashboard.context["user"] == user
        assert "Ada Lovelace&#x27;s workspace" in dashboard.content.decode()
        assert 'data-testid="org-name"' in dashboard.content.decode()
        assert AuditLog.objects.filter(action=AuditLog.Action.LOGIN, actor=user).exists()

    def test_wrong_password_shows_an_error(self, client):
        register()
        response = login_post(client, "ada@example.com", password="not-the-password")
        assert response.status_code == 200
        assert "Email or password is incorrect." in response.content.decode()
        assert "_auth_user_id" not in client.session

    def test_next_is_followed_when_it_stays_on_the_site(self, client):
        register()
        response = login_post(client, "ada@example.com", next=reverse("accounts:members"))
        assert response["Location"] == reverse("accounts:members")

    def test_next_to_another_site_is_ignored(self, client):
        register()
        response = login_post(client, "ada@example.com", next="https://evil.example.com/")
        assert response["Location"] == reverse("core:dashboard")

    def test_five_failures_lock_the_account_with_a_page(self, client):
        register()
        for _ in range(5):
            login_post(client, "ada@example.com", password="wrong-password-1")
        response = login_post(client, "ada@example.com")
        assert response.status_code == 429
        assert "locked for 15 minutes" in response.content.decode()
        assert 'id="login-form"' in response.content.decode()
        assert "_auth_user_id" not in client.session

    def test_api_lockout_keeps_its_json_body(self, client):
        register()
        for _ in range(5):
            client.post("/api/v1/auth/login", {"email": "ada@example.com", "password": "wrong-password-1"},
                        content_type="application/json")
        response = client.post("/api/v1/auth/login", {"email": "ada@example.com", "password": PASSWORD},
                               content_type="application/json")
        assert response.status_code == 429
        assert response.json()["error"]["code"] == "account_locked"

    def test_anonymous_dashboard_redirects_to_login(self, client):
        response = client.get(reverse("core:dashboard"))
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("accounts:login"))
        assert "next=/dashboard/" in response["Location"]


class TestMfaLogin:
    def test_password_alone_does_not_sign_in_an_mfa_user(self, client):
        enable_mfa(register())
        response = login_post(client, "ada@example.com")
        assert response["Location"] == reverse("accounts:login-mfa")
        assert "_auth_user_id" not in client.session
        page = client.get(reverse("accounts:login-mfa"))
        assert page.status_code == 200
        assert 'id="mfa-code"' in page.content.decode()

    def test_next_totp_code_signs_in(self, client):
        user = register()
        secret, _ = enable_mfa(user)
        login_post(client, "ada@example.com", next=reverse("accounts:profile"))
        # confirm_mfa_setup spent the current step; the next one is within the drift window.
        code = pyotp.TOTP(secret).at(time.time() + 30)
        response = client.post(reverse("accounts:login-mfa"), {"code": code})
        assert response.status_code == 302
        assert response["Location"] == reverse("accounts:profile")
        assert client.session["_auth_user_id"] == str(user.pk)

    def test_backup_code_signs_in_once(self, client):
        user = register()
        _, codes = enable_mfa(user)
        login_post(client, "ada@example.com")
        response = client.post(reverse("accounts:login-mfa"), {"code": codes[0]})
        assert response["Location"] == reverse("core:dashboard")
        assert client.session["_auth_user_id"] == str(user.pk)

        client.post(reverse("accounts:logout"))
        login_post(client, "ada@example.com")
        response = client.post(reverse("accounts:login-mfa"), {"code": codes[0]})
        assert response.status_code == 200
        assert "_auth_user_id" not in client.session

    def test_wrong_code_does_not_sign_in(self, client):
        user = register()
        enable_mfa(user)
        login_post(client, "ada@example.com")
        response = client.post(reverse("accounts:login-mfa"), {"code": "000000"})
        assert response.status_code == 200
        assert "The code is not valid" in response.content.decode()
        assert "_auth_user_id" not in client.session
        assert AuditLog.objects.filter(action=AuditLog.Action.LOGIN_FAILED, actor=user).exists()

    def test_five_wrong_codes_lock_the_account(self, client):
        _, codes = enable_mfa(register())
        login_post(client, "ada@example.com")
        responses = [client.post(reverse("accounts:login-mfa"), {"code": "000000"}) for _ in range(5)]
        assert responses[-1].status_code == 429
        assert "locked for 15 minutes" in responses[-1].content.decode()
        # The pending step is gone, and the password no longer opens a new one.
        assert client.post(reverse("accounts:login-mfa"), {"code": codes[0]})["Location"] == reverse("accounts:login")
        assert login_post(client, "ada@example.com").status_code == 429
        assert "_auth_user_id" not in client.session

    def test_pending_step_expires(self, client, settings):
        _, codes = enable_mfa(register())
        login_post(client, "ada@example.com")
        session = client.session
        session["mfa_pending_at"] = time.time() - settings.MFA_TOKEN_MAX_AGE - 1
        session.save()
        response = client.post(reverse("accounts:login-mfa"), {"code": codes[0]})
        assert response["Location"] == reverse("accounts:login")
        assert "_auth_user_id" not in client.session

    def test_step_without_a_password_goes_back_to_login(self, client):
        response = client.get(reverse("accounts:login-mfa"))
        assert response["Location"] == reverse("accounts:login")


# --- registration and sign-out ----------------------------------------------------------------
class TestRegister:
    def test_creates_the_user_and_lands_on_the_dashboard(self, client):
        response = client.post(reverse("accounts:register"), {
            "email": "Grace@Example.com", "full_name": "Grace Hopper", "password": PASSWORD,
            "password_confirm": PASSWORD, "sex": "female", "date_of_birth": "1906-12-09",
            "timezone": "America/New_York",
        }, follow=True)
        user = User.objects.get(email="grace@example.com")
        assert response.redirect_chain[-1][0] == reverse("core:dashboard")
        assert response.context["user"] == user
        assert (user.full_name, user.sex, str(user.date_of_birth), user.timezone) == (
            "Grace Hopper", "female", "1906-12-09", "America/New_York"
        )
        assert Membership.objects.get(user=user).role == Role.OWNER
        assert "Grace Hopper&#x27;s workspace" in response.content.decode()

    def test_mismatched_passwords_and_taken_email_are_form_errors(self, client):
        register()
        response = client.post(reverse("accounts:register"), {
            "email": "ada@example.com", "full_name": "Other Ada", "password": PASSWORD,
            "password_confirm": PASSWORD + "x",
        })
        assert response.status_code == 200
        assert "The two passwords do not match." in response.content.decode()

        response = client.post(reverse("accounts:register"), {
            "email": "ada@example.com", "full_name": "Other Ada", "password": PASSWORD, "password_confirm": PASSWORD,
        })
        assert response.status_code == 200
        assert "A user with this email already exists." in response.content.decode()
        assert User.objects.filter(email="ada@example.com").count() == 1

    def test_weak_password_is_refused(self, client):
        response = client.post(reverse("accounts:register"), {
            "email": "new@example.com", "full_name": "New", "password": "password", "password_confirm": "password",
        })
        assert response.status_code == 200
        assert response.context["form"].errors["password"]
        assert not User.objects.filter(email="new@example.com").exists()


class TestLogout:
    def test_post_signs_out(self, client):
        user = register()
        client.force_login(user)
        response = client.post(reverse("accounts:logout"), follow=True)
        assert response.redirect_chain[-1][0] == reverse("accounts:login")
        assert "You are signed out." in messages_of(response)
        assert "_auth_user_id" not in client.session

    def test_get_is_refused(self, client):
        client.force_login(register())
        assert client.get(reverse("accounts:logout")).status_code == 405
        assert "_auth_user_id" in client.session


# --- profile, MFA and passwords ---------------------------------------------------------------
class TestProfile:
    def test_update_saves(self, client):
        user = register()
        client.force_login(user)
        response = client.post(reverse("accounts:profile"), {
            "full_name": "Ada King", "sex": "female", "date_of_birth": "1815-12-10", "timezone": "Europe/London",
        })
        assert response["Location"] == reverse("accounts:profile")
        user.refresh_from_db()
        assert (user.full_name, user.timezone, str(user.date_of_birth)) == ("Ada King", "Europe/London", "1815-12-10")

    def test_unknown_timezone_is_a_form_error(self, client):
        user = register()
        client.force_login(user)
        response = client.post(reverse("accounts:profile"), {"full_name": "Ada", "timezone": "Mars/Olympus"})
        assert response.status_code == 200
        assert response.context["form"].errors["timezone"]
        user.refresh_from_db()
        assert user.timezone == "UTC"


class TestMfaEnrolment:
    def test_set_up_shows_the_qr_code_and_confirming_shows_backup_codes(self, client):
        user = register()
        client.force_login(user)
        page = client.get(reverse("accounts:mfa"))
        assert 'data-testid="mfa-start"' in page.content.decode()

        response = client.post(reverse("accounts:mfa"), {"action": "start"}, follow=True)
        body = response.content.decode()
        user.refresh_from_db()
        assert "<svg" in body
        assert user.mfa_secret in body and not user.mfa_enabled

        response = client.post(reverse("accounts:mfa"), {"action": "confirm", "code": pyotp.TOTP(user.mfa_secret).now()})
        user.refresh_from_db()
        assert user.mfa_enabled
        assert len(response.context["backup_codes"]) == 10
        assert response.context["backup_codes"][0] in response.content.decode()

    def test_wrong_confirmation_code_keeps_mfa_off(self, client):
        user = register()
        client.force_login(user)
        client.post(reverse("accounts:mfa"), {"action": "start"})
        response = client.post(reverse("accounts:mfa"), {"action": "confirm", "code": "000000"})
        assert response.status_code == 200
        assert "The code is not valid for this authenticator." in response.content.decode()
        assert "<svg" in response.content.decode()
        user.refresh_from_db()
        assert not user.mfa_enabled

    def test_disable_needs_password_and_code(self, client):
        user = register()
        _, codes = enable_mfa(user)
        client.force_login(user)
        response = client.post(reverse("accounts:mfa"), {"action": "disable", "password": "wrong", "code": codes[0]})
        assert response.status_code == 200
        assert "The password is incorrect." in response.content.decode()

        response = client.post(reverse("accounts:mfa"), {"action": "disable", "password": PASSWORD, "code": codes[1]})
        assert response["Location"] == reverse("accounts:mfa")
        user.refresh_from_db()
        assert not user.mfa_enabled


class TestPasswords:
    def test_change_keeps_this_session(self, client):
        user = register()
        client.force_login(user)
        response = client.post(reverse("accounts:password-change"), {
            "old_password": PASSWORD, "new_password": "Another-Horse-77", "new_password_confirm": "Another-Horse-77",
        })
        assert response["Location"] == reverse("accounts:profile")
        user.refresh_from_db()
        assert user.check_password("Another-Horse-77")
        assert client.get(reverse("accounts:profile")).status_code == 200

    def test_change_with_a_wrong_current_password_is_a_form_error(self, client):
        client.force_login(register())
        response = client.post(reverse("accounts:password-change"), {
            "old_password": "nope", "new_password": "Another-Horse-77", "new_password_confirm": "Another-Horse-77",
        })
        assert response.status_code == 200
        assert "The current password is incorrect." in response.content.decode()

    def test_reset_request_answers_the_same_either_way(self, client, mailoutbox, django_capture_on_commit_callbacks):
        register()
        with django_capture_on_commit_callbacks(execute=True):
            known = client.post(reverse("accounts:password-reset"), {"email": "ada@example.com"})
            unknown = client.post(reverse("accounts:password-reset"), {"email": "nobody@example.com"})
        assert 'data-testid="reset-sent"' in known.content.decode()
        assert 'data-testid="reset-sent"' in unknown.content.decode()
        assert [m.to for m in mailoutbox] == [["ada@example.com"]]

    def test_reset_confirm_sets_the_password(self, client):
        user = register()
        uid, token = services.password_reset_link_parts(user)
        url = reverse("accounts:password-reset-confirm", args=[uid, token])
        assert client.get(url).status_code == 200
        response = client.post(url, {"new_password": "Another-Horse-77", "new_password_confirm": "Another-Horse-77"})
        assert response["Location"] == reverse("accounts:login")
        user.refresh_from_db()
        assert user.check_password("Another-Horse-77")

        again = client.post(url, {"new_password": "Third-Horse-99", "new_password_confirm": "Third-Horse-99"})
        assert again.status_code == 200
        assert "The reset link is invalid or has expired." in again.content.decode()
        assert again.context["link_invalid"]


# --- organisation -----------------------------------------------------------------------------
class TestMembers:
    def test_owner_sees_the_invite_form_and_invites(self, client):
        owner = register()
        organization = owner.default_organization
        client.force_login(owner)
        page = client.get(reverse("accounts:members"))
        assert 'id="invite-form"' in page.content.decode()
        assert owner.email in page.content.decode()

        response = client.post(reverse("accounts:members"), {
            "action": "invite", "email": "New@Example.com", "role": Role.EDITOR, "full_name": "New Person",
        }, follow=True)
        membership = Membership.objects.get(organization=organization, user__email="new@example.com")
        assert membership.role == Role.EDITOR
        assert "new@example.com joined" in " ".join(messages_of(response))

    def test_owner_changes_a_role_and_removes_a_member(self, client):
        owner = register()
        organization = owner.default_organization
        other = User.objects.create_user(email="bob@example.com", password=PASSWORD)
        Membership.objects.create(user=other, organization=organization, role=Role.VIEWER)
        client.force_login(owner)

        client.post(reverse("accounts:members"), {"action": "change_role", "user_id": other.pk, "role": Role.ADMIN})
        assert Membership.objects.get(user=other, organization=organization).role == Role.ADMIN

        client.post(reverse("accounts:members"), {"action": "remove", "user_id": other.pk})
        assert not Membership.objects.filter(user=other, organization=organization).exists()

    def test_last_owner_cannot_leave(self, client):
        owner = register()
        client.force_login(owner)
        response = client.post(reverse("accounts:members"), {"action": "remove", "user_id": owner.pk}, follow=True)
        assert response.status_code == 200
        assert "An organization needs at least one owner." in messages_of(response)
        assert Membership.objects.filter(user=owner).exists()

    def test_viewer_sees_a_read_only_table_and_cannot_invite(self, client):
        owner = register()
        organization = owner.default_organization
        viewer = User.objects.create_user(email="vera@example.com", password=PASSWORD, default_organization=organization)
        Membership.objects.create(user=viewer, organization=organization, role=Role.VIEWER)
        client.force_login(viewer)

        page = client.get(reverse("accounts:members"))
        body = page.content.decode()
        assert page.status_code == 200
        assert owner.email in body and viewer.email in body
        assert 'id="invite-form"' not in body
        assert 'data-testid="member-role-select"' not in body

        response = client.post(reverse("accounts:members"), {
            "action": "invite", "email": "sneaky@example.com", "role": Role.VIEWER,
        }, follow=True)
        assert response.status_code == 200
        assert "Managing members needs the admin role or higher." in messages_of(response)
        assert not User.objects.filter(email="sneaky@example.com").exists()

    def test_admin_cannot_promote_to_owner(self, client):
        owner = register()
        organization = owner.default_organization
        admin = User.objects.create_user(email="adm@example.com", password=PASSWORD, default_organization=organization)
        Membership.objects.create(user=admin, organization=organization, role=Role.ADMIN)
        editor = User.objects.create_user(email="ed@example.com", password=PASSWORD)
        Membership.objects.create(user=editor, organization=organization, role=Role.EDITOR)
        client.force_login(admin)

        response = client.post(reverse("accounts:members"),
                               {"action": "change_role", "user_id": editor.pk, "role": Role.OWNER}, follow=True)
        assert "Only owners can grant, change or remove admins and owners." in messages_of(response)
        assert Membership.objects.get(user=editor, organization=organization).role == Role.EDITOR

    def test_unknown_member_is_a_message_not_a_500(self, client):
        client.force_login(register())
        response = client.post(reverse("accounts:members"), {"action": "remove", "user_id": 999999}, follow=True)
        assert response.status_code == 200
        assert "No such member in this organization." in messages_of(response)


    def test_user_without_an_organization_sees_an_empty_state(self, client):
        client.force_login(User.objects.create_user(email="loner@example.com", password=PASSWORD))
        page = client.get(reverse("accounts:members"))
        assert page.status_code == 200
        assert 'data-testid="no-organization"' in page.content.decode()
        dashboard = client.get(reverse("core:dashboard"))
        assert 'data-testid="dashboard-no-organization"' in dashboard.content.decode()
        assert "No training sessions yet" in dashboard.content.decode()


class TestSwitchOrganization:
    def test_switch_stores_the_choice_and_the_pages_follow_it(self, client):
        user = register()
        lab = Organization.objects.create(name="Robot Lab", slug="robot-lab")
        Membership.objects.create(user=user, organization=lab, role=Role.EDITOR)
        client.force_login(user)

        response = client.post(reverse("accounts:switch-organization"),
                               {"organization_id": lab.pk, "next": reverse("accounts:members")})
        assert response["Location"] == reverse("accounts:members")
        assert client.session[SESSION_ORGANIZATION_KEY] == lab.pk
        page = client.get(reverse("core:dashboard"))
        assert page.context["membership"].organization == lab
        assert 'id="organization-select"' in page.content.decode()

    def test_switch_to_a_foreign_organization_is_refused(self, client):
        user = register()
        foreign = Organization.objects.create(name="Elsewhere", slug="elsewhere")
        client.force_login(user)
        response = client.post(reverse("accounts:switch-organization"), {"organization_id": foreign.pk}, follow=True)
        assert SESSION_ORGANIZATION_KEY not in client.session
        assert "You are not a member of that organization." in messages_of(response)

"""The pages in headless Chromium against a live daphne server."""

import pyotp
import pytest

from accounts import services
from accounts.models import Membership, User
from accounts.tests.factories import DEFAULT_PASSWORD, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.live, pytest.mark.slow]


def sign_in(page, base_url, email, password):
    page.goto(f"{base_url}/accounts/login/")
    page.fill("#login-form [name=email]", email)
    page.fill("#login-form [name=password]", password)
    page.click("[data-testid=login-submit]")


def test_register_sign_out_and_sign_in_through_the_pages(page, daphne_server, transactional_db):
    base = daphne_server.url
    page.goto(f"{base}/")
    assert "/accounts/login/" in page.url
    page.click("[data-testid=register-link]")
    form = page.locator("form").filter(has=page.locator("[name=password_confirm]"))
    form.locator("[name=email]").fill("grace@example.com")
    form.locator("[name=full_name]").fill("Grace Hopper")
    form.locator("[name=password]").fill("Compiler-Horse-1952")
    form.locator("[name=password_confirm]").fill("Compiler-Horse-1952")
    form.locator("[type=submit]").click()
    page.wait_for_url(f"{base}/dashboard/")
    assert page.locator("[data-testid=dashboard-org-name]").inner_text() == "Grace Hopper's workspace"
    assert Membership.objects.get(user__email="grace@example.com").role == "owner"

    page.click("[data-testid=user-menu] summary")
    page.click("[data-testid=logout]")
    page.wait_for_url(lambda url: "/accounts/login/" in url)

    sign_in(page, base, "grace@example.com", "wrong-password-000")
    assert page.locator("[data-testid=form-errors]").is_visible()
    sign_in(page, base, "grace@example.com", "Compiler-Horse-1952")
    page.wait_for_url(f"{base}/dashboard/")
    assert page.locator("[data-testid=org-name]").first.inner_text() == "Grace Hopper's workspace"


def test_sign_in_with_mfa_through_the_pages(page, daphne_server, transactional_db, tmp_path):
    base = daphne_server.url
    user = UserFactory(email="mfa-page@example.com")
    secret = services.start_mfa_setup(user=user)["secret"]
    backup_codes = services.confirm_mfa_setup(user=user, code=pyotp.TOTP(secret).now())

    sign_in(page, base, user.email, DEFAULT_PASSWORD)
    page.wait_for_url(lambda url: "/accounts/login/mfa/" in url)
    assert page.locator("[data-testid=mfa-email]").inner_text() == user.email
    page.fill("#mfa-form [name=code]", "000000")
    page.click("[data-testid=mfa-submit]")
    assert page.locator("[data-testid=form-errors], .errorlist").first.is_visible()
    page.fill("#mfa-form [name=code]", backup_codes[0])
    page.click("[data-testid=mfa-submit]")
    page.wait_for_url(f"{base}/dashboard/")
    page.screenshot(path=str(tmp_path / "dashboard.png"), full_page=True)
    assert User.objects.get(pk=user.pk).mfa_backup_codes.filter(used_at__isnull=False).count() == 1


def test_mfa_enrolment_through_the_pages(page, daphne_server, transactional_db):
    base = daphne_server.url
    user = UserFactory(email="enrol@example.com")
    sign_in(page, base, user.email, DEFAULT_PASSWORD)
    page.wait_for_url(f"{base}/dashboard/")
    page.goto(f"{base}/accounts/profile/mfa/")
    assert page.locator("[data-testid=mfa-status]").inner_text() == "Off"
    page.click("[data-testid=mfa-start]")
    qr = page.locator("[data-testid=mfa-qr] svg")
    qr.wait_for()
    assert qr.bounding_box()["width"] > 100
    secret = page.locator("[data-testid=mfa-secret]").inner_text().strip()
    page.fill("#mfa-confirm-form [name=code]", pyotp.TOTP(secret).now())
    page.click("[data-testid=mfa-confirm]")
    codes = page.locator("[data-testid=backup-codes] li")
    codes.first.wait_for()
    assert codes.count() == 10
    user.refresh_from_db()
    assert user.mfa_enabled and user.mfa_secret == secret

import pytest

from accounts.models import AuditLog, Membership, Organization, Role
from accounts.tests.factories import OrganizationFactory, member

pytestmark = pytest.mark.django_db


@pytest.fixture
def operator_client(client, staff_user):
    client.force_login(staff_user)
    return client


@pytest.mark.parametrize("model", ["user", "organization", "membership", "auditlog"])
def test_changelists_render_with_data(operator_client, model):
    organization = OrganizationFactory()
    member(organization, Role.EDITOR)
    AuditLog.objects.create(action="login", organization=organization)
    response = operator_client.get(f"/admin/accounts/{model}/")
    assert response.status_code == 200


def test_audit_log_is_read_only_in_the_admin(operator_client):
    row = AuditLog.objects.create(action="login")
    assert operator_client.get("/admin/accounts/auditlog/add/").status_code == 403
    assert operator_client.post(f"/admin/accounts/auditlog/{row.pk}/delete/", {"post": "yes"}).status_code == 403
    assert AuditLog.objects.filter(pk=row.pk).exists()


def test_admin_edits_are_audited(operator_client, staff_user):
    organization = OrganizationFactory(name="Old name")
    response = operator_client.post(f"/admin/accounts/organization/{organization.pk}/change/", {
        "name": "New name", "slug": organization.slug, "tier": "pro", "storage_quota_bytes": organization.storage_quota_bytes,
        "device_limit": 7, "branding": "{}", "is_active": "on",
        "memberships-TOTAL_FORMS": "0", "memberships-INITIAL_FORMS": "0",
        "memberships-MIN_NUM_FORMS": "0", "memberships-MAX_NUM_FORMS": "1000",
    })
    assert response.status_code == 302, response.content[:2000]
    row = AuditLog.objects.get(action="update", object_type="accounts.organization")
    assert row.actor == staff_user
    assert row.before["name"] == "Old name" and row.after["name"] == "New name"
    assert row.after["device_limit"] == 7


def test_apply_tier_quotas_action(operator_client):
    organization = OrganizationFactory(tier=Organization.Tier.PRO, device_limit=1)
    operator_client.post("/admin/accounts/organization/", {
        "action": "apply_tier_quotas", "_selected_action": [organization.pk],
    })
    organization.refresh_from_db()
    assert organization.device_limit == 50


def test_deleting_a_membership_in_the_admin_is_audited(operator_client):
    organization = OrganizationFactory()
    user = member(organization, Role.VIEWER)
    membership = Membership.objects.get(user=user)
    response = operator_client.post(f"/admin/accounts/membership/{membership.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert AuditLog.objects.filter(action="delete", object_type="accounts.membership", organization=organization).exists()


def test_non_staff_cannot_open_the_admin(client, viewer):
    client.force_login(viewer)
    response = client.get("/admin/accounts/user/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts import audit
from accounts.models import AuditLog, Role
from accounts.tests.factories import OrganizationFactory

pytestmark = pytest.mark.django_db


class TestCurrentOrganization:
    def test_any_member_reads_it(self, client_for, viewer, organization):
        body = client_for(viewer).get("/api/v1/organizations/current").json()
        assert body["id"] == organization.pk and body["tier"] == "free"
        assert body["device_limit"] == 3

    def test_admin_renames_it_and_the_audit_log_keeps_the_change(self, client_for, admin_user, organization):
        old_name = organization.name
        response = client_for(admin_user).patch(
            "/api/v1/organizations/current", {"name": "Robotics Lab", "branding": {"color": "#123456"}}, format="json"
        )
        assert response.status_code == 200
        assert response.json()["name"] == "Robotics Lab"
        row = AuditLog.objects.get(action="update", object_type="accounts.organization")
        assert row.before == {"name": old_name, "branding": {}}
        assert row.after == {"name": "Robotics Lab", "branding": {"color": "#123456"}}

    def test_editor_cannot_change_it(self, client_for, editor):
        response = client_for(editor).patch("/api/v1/organizations/current", {"name": "Mine now"})
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "insufficient_role"

    def test_tier_and_quotas_are_read_only(self, client_for, owner):
        response = client_for(owner).patch("/api/v1/organizations/current", {"tier": "enterprise"})
        assert response.status_code == 400
        assert response.json()["error"]["fields"] == {"tier": ["Unknown field."]}

    def test_branding_must_be_an_object(self, client_for, owner):
        response = client_for(owner).patch("/api/v1/organizations/current", {"branding": [1]}, format="json")
        assert response.status_code == 400

    def test_stats_and_usage(self, client_for, owner, organization, member_of):
        member_of(organization, Role.EDITOR)
        member_of(organization, Role.VIEWER)
        stats = client_for(owner).get("/api/v1/organizations/current/stats").json()
        assert stats["members"] == 3
        assert stats["members_by_role"] == {"owners": 1, "admins": 0, "editors": 1, "viewers": 1}
        usage = client_for(owner).get("/api/v1/organizations/current/usage").json()
        assert usage["tier"] == "free"
        assert usage["storage"]["quota_bytes"] == organization.storage_quota_bytes
        assert usage["devices"] == {"used": 0, "limit": 3}

    def test_a_user_without_organization_gets_403(self, client_for):
        from accounts.tests.factories import UserFactory

        response = client_for(UserFactory()).get("/api/v1/organizations/current")
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "no_organization"


class TestAuditLogAPI:
    def make_rows(self, organization, actor, n):
        for i in range(n):
            audit.record(action=AuditLog.Action.UPDATE, actor=actor, organization=organization,
                         object_type="accounts.organization", object_id=organization.pk, object_repr=f"change {i}")

    def test_admins_read_their_organizations_trail_only(self, client_for, admin_user, organization):
        other = OrganizationFactory()
        self.make_rows(organization, admin_user, 3)
        self.make_rows(other, admin_user, 2)
        body = client_for(admin_user).get("/api/v1/audit-log/").json()
        assert body["count"] == 3
        assert {row["object_repr"] for row in body["results"]} == {"change 0", "change 1", "change 2"}
        foreign = AuditLog.objects.filter(organization=other).first()
        assert client_for(admin_user).get(f"/api/v1/audit-log/{foreign.pk}/").status_code == 404

    def test_editors_cannot_read_it(self, client_for, editor):
        assert client_for(editor).get("/api/v1/audit-log/").status_code == 403

    def test_it_is_read_only(self, client_for, owner, organization):
        self.make_rows(organization, owner, 1)
        row = AuditLog.objects.first()
        client = client_for(owner)
        assert client.post("/api/v1/audit-log/", {"action": "create"}).status_code == 405
        assert client.delete(f"/api/v1/audit-log/{row.pk}/").status_code == 405

    def test_filters(self, client_for, owner, organization):
        self.make_rows(organization, owner, 2)
        audit.record(action=AuditLog.Action.DELETE, actor=owner, organization=organization, object_type="x.y",
                     object_repr="gripper calibration")
        client = client_for(owner)
        assert client.get("/api/v1/audit-log/?action=delete").json()["count"] == 1
        assert client.get("/api/v1/audit-log/?object_type=accounts.organization").json()["count"] == 2
        assert client.get("/api/v1/audit-log/?search=gripper").json()["count"] == 1
        bad = client.get("/api/v1/audit-log/?action=explode")
        assert bad.status_code == 400

    def test_list_query_count_is_constant(self, client_for, owner, organization):
        client = client_for(owner)
        self.make_rows(organization, owner, 2)
        client.get("/api/v1/audit-log/")
        with CaptureQueriesContext(connection) as few:
            client.get("/api/v1/audit-log/")
        self.make_rows(organization, owner, 30)
        with CaptureQueriesContext(connection) as many:
            client.get("/api/v1/audit-log/")
        assert len(few) == len(many)

    def test_ip_and_user_agent_are_recorded(self, client_for, owner):
        client = client_for(owner)
        client.patch("/api/v1/auth/me", {"full_name": "Renamed"}, HTTP_USER_AGENT="pytest-agent/1.0",
                     REMOTE_ADDR="10.1.2.3")
        row = AuditLog.objects.get(action="update", actor=owner)
        assert row.ip_address == "10.1.2.3" and row.user_agent == "pytest-agent/1.0"


def test_membership_of_the_request_is_resolved_once(client_for, owner):
    """The organisation lookup costs a fixed number of queries, whatever the endpoint."""
    client = client_for(owner)
    client.get("/api/v1/organizations/current")
    with CaptureQueriesContext(connection) as queries:
        client.get("/api/v1/organizations/current")
    membership_queries = [q for q in queries.captured_queries if "accounts_membership" in q["sql"]]
    assert len(membership_queries) == 1

"""Shared API test cases for organisation-scoped resources (in the spirit of NetBox's).

A resource's test class inherits `OrgScopedAPICases` and says how to make an object, its URLs, a
create payload and its roles; it then gets, for free: anonymous 401, another organisation's object
404, a role too low 403 on write, create writes an audit row, and a constant list query count.
"""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import AuditLog, Role
from accounts.tests.factories import OrganizationFactory, member


class OrgScopedAPICases:
    list_url: str = ""
    read_role: str = Role.VIEWER
    write_role: str = Role.EDITOR
    audit_object_type: str = ""

    # --- what each resource provides ---------------------------------------------------------
    def make_object(self, organization):
        raise NotImplementedError

    def detail_url(self, obj) -> str:
        raise NotImplementedError

    def create_payload(self, organization) -> dict:
        raise NotImplementedError

    # --- helpers ----------------------------------------------------------------------------
    def user_with(self, role, organization=None):
        return member(organization or OrganizationFactory(), role)

    def _role_below(self, role):
        order = [Role.VIEWER, Role.EDITOR, Role.ADMIN, Role.OWNER]
        index = order.index(role)
        return order[index - 1] if index else None

    # --- the cases --------------------------------------------------------------------------
    @pytest.mark.django_db
    def test_anonymous_list_is_401(self, api_client):
        response = api_client.get(self.list_url)
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "not_authenticated"

    @pytest.mark.django_db
    def test_anonymous_create_is_401(self, api_client):
        organization = OrganizationFactory()
        response = api_client.post(self.list_url, self.create_payload(organization), format="json")
        assert response.status_code == 401

    @pytest.mark.django_db
    def test_other_organizations_object_is_404(self, client_for):
        mine, theirs = OrganizationFactory(), OrganizationFactory()
        user = self.user_with(Role.OWNER, mine)
        foreign = self.make_object(theirs)
        client = client_for(user)
        response = client.get(self.detail_url(foreign))
        assert response.status_code == 404, response.content
        assert response.json()["error"]["code"] == "not_found"
        assert client.delete(self.detail_url(foreign)).status_code in (404, 405)  # 405: not deletable at all

    @pytest.mark.django_db
    def test_other_organizations_objects_are_not_listed(self, client_for):
        mine, theirs = OrganizationFactory(), OrganizationFactory()
        user = self.user_with(Role.OWNER, mine)
        foreign = self.make_object(theirs)
        response = client_for(user).get(self.list_url)
        assert response.status_code == 200
        listed = {str(item["id"]) for item in response.json()["results"]}
        assert str(self.object_id(foreign)) not in listed

    @pytest.mark.django_db
    def test_role_below_write_role_cannot_create(self, client_for):
        lower = self._role_below(self.write_role)
        if lower is None:
            pytest.skip("every role may write")
        organization = OrganizationFactory()
        user = self.user_with(lower, organization)
        response = client_for(user).post(self.list_url, self.create_payload(organization), format="json")
        assert response.status_code == 403, response.content
        assert response.json()["error"]["code"] in ("insufficient_role", "permission_denied")

    @pytest.mark.django_db
    def test_role_below_read_role_cannot_list(self, client_for):
        lower = self._role_below(self.read_role)
        if lower is None:
            pytest.skip("every role may read")
        user = self.user_with(lower)
        assert client_for(user).get(self.list_url).status_code == 403

    @pytest.mark.django_db
    def test_create_writes_an_audit_row(self, client_for):
        organization = OrganizationFactory()
        user = self.user_with(Role.OWNER, organization)
        before = AuditLog.objects.filter(organization=organization, action=AuditLog.Action.CREATE).count()
        response = client_for(user).post(self.list_url, self.create_payload(organization), format="json")
        assert response.status_code == 201, response.content
        rows = AuditLog.objects.filter(organization=organization, action=AuditLog.Action.CREATE)
        assert rows.count() == before + 1
        row = rows.first()
        assert row.actor == user
        if self.audit_object_type:
            assert row.object_type == self.audit_object_type
        assert row.after

    @pytest.mark.django_db
    def test_list_query_count_is_constant(self, client_for):
        organization = OrganizationFactory()
        user = self.user_with(Role.OWNER, organization)
        client = client_for(user)
        self.make_object(organization)
        client.get(self.list_url)  # warm caches (content types, sessions)
        with CaptureQueriesContext(connection) as few:
            assert client.get(self.list_url).status_code == 200
        for _ in range(8):
            self.make_object(organization)
        with CaptureQueriesContext(connection) as many:
            response = client.get(self.list_url)
        assert response.status_code == 200
        assert response.json()["count"] >= 9
        assert len(many) == len(few), [q["sql"] for q in many.captured_queries]

    def object_id(self, obj):
        return obj.pk

import pytest

from accounts.models import AuditLog, Membership, Role
from accounts.tests.factories import OrganizationFactory, UserFactory, member
from tests.api_cases import OrgScopedAPICases


class TestMembersAPI(OrgScopedAPICases):
    list_url = "/api/v1/users/"
    read_role = Role.ADMIN
    write_role = Role.ADMIN
    audit_object_type = "accounts.membership"

    def make_object(self, organization):
        return member(organization, Role.VIEWER)

    def detail_url(self, obj) -> str:
        return f"/api/v1/users/{obj.pk}/"

    def create_payload(self, organization) -> dict:
        return {"email": UserFactory.build().email, "role": "editor"}


@pytest.mark.django_db
class TestMemberManagement:
    def test_owner_invites_a_new_user_who_gets_an_email(self, client_for, owner, organization, mailoutbox, django_capture_on_commit_callbacks):
        with django_capture_on_commit_callbacks(execute=True):
            response = client_for(owner).post("/api/v1/users/", {"email": "New.Person@Example.com", "role": "editor"})
        assert response.status_code == 201, response.content
        body = response.json()
        assert body["email"] == "new.person@example.com"
        assert body["role"] == "editor"
        membership = Membership.objects.get(organization=organization, user__email="new.person@example.com")
        assert membership.role == Role.EDITOR
        assert not membership.user.has_usable_password()
        assert len(mailoutbox) == 1
        assert "/accounts/password-reset/" in mailoutbox[0].body

    def test_admin_cannot_grant_admin(self, client_for, admin_user):
        response = client_for(admin_user).post("/api/v1/users/", {"email": "x@example.com", "role": "admin"})
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "insufficient_role"

    def test_admin_changes_a_viewer_to_editor_and_audit_keeps_before_after(self, client_for, admin_user, viewer, organization):
        response = client_for(admin_user).patch(f"/api/v1/users/{viewer.pk}/", {"role": "editor"})
        assert response.status_code == 200, response.content
        assert response.json()["role"] == "editor"
        row = AuditLog.objects.filter(action="update", object_type="accounts.membership").first()
        assert row.before == {"role": "viewer"} and row.after == {"role": "editor"}
        assert row.actor == admin_user and row.organization == organization
        assert row.ip_address == "127.0.0.1"

    def test_admin_cannot_touch_an_owner(self, client_for, admin_user, owner):
        client = client_for(admin_user)
        assert client.patch(f"/api/v1/users/{owner.pk}/", {"role": "viewer"}).status_code == 403
        assert client.delete(f"/api/v1/users/{owner.pk}/").status_code == 403

    def test_last_owner_cannot_be_demoted_or_removed(self, client_for, owner):
        client = client_for(owner)
        response = client.patch(f"/api/v1/users/{owner.pk}/", {"role": "admin"})
        assert response.status_code == 409
        assert response.json()["error"]["code"] == "last_owner"
        assert client.delete(f"/api/v1/users/{owner.pk}/").status_code == 409

    def test_owner_removes_a_member(self, client_for, owner, editor, organization):
        assert client_for(owner).delete(f"/api/v1/users/{editor.pk}/").status_code == 204
        assert not Membership.objects.filter(organization=organization, user=editor).exists()
        assert AuditLog.objects.filter(action="delete", object_type="accounts.membership", organization=organization).exists()

    def test_inviting_an_existing_member_is_409(self, client_for, owner, editor):
        response = client_for(owner).post("/api/v1/users/", {"email": editor.email, "role": "viewer"})
        assert response.status_code == 409
        assert response.json()["error"]["fields"]["email"]

    def test_unknown_role_and_extra_fields_are_400(self, client_for, owner):
        client = client_for(owner)
        response = client.post("/api/v1/users/", {"email": "a@example.com", "role": "emperor"})
        assert response.status_code == 400
        assert "role" in response.json()["error"]["fields"]
        response = client.post("/api/v1/users/", {"email": "a@example.com", "role": "viewer", "is_staff": True})
        assert response.status_code == 400
        assert response.json()["error"]["fields"] == {"is_staff": ["Unknown field."]}

    def test_filter_by_role(self, client_for, owner, editor, viewer):
        response = client_for(owner).get("/api/v1/users/?role=editor")
        assert [m["email"] for m in response.json()["results"]] == [editor.email]

    def test_non_numeric_member_id_is_404(self, client_for, owner):
        assert client_for(owner).get("/api/v1/users/abc/").status_code == 404


@pytest.mark.django_db
class TestOrganizationSwitch:
    def test_x_organization_header_selects_the_organization(self, client_for):
        first, second = OrganizationFactory(name="First"), OrganizationFactory(name="Second")
        user = member(first, Role.VIEWER)
        Membership.objects.create(user=user, organization=second, role=Role.OWNER)
        client = client_for(user)
        assert client.get("/api/v1/organizations/current").json()["name"] == "First"
        assert client.get("/api/v1/users/").status_code == 403  # viewer in First
        client.credentials(HTTP_AUTHORIZATION=client._credentials["HTTP_AUTHORIZATION"], HTTP_X_ORGANIZATION=second.slug)
        assert client.get("/api/v1/organizations/current").json()["name"] == "Second"
        assert client.get("/api/v1/users/").status_code == 200

    def test_header_naming_a_foreign_organization_is_404(self, client_for, viewer, other_organization):
        response = client_for(viewer, other_organization).get("/api/v1/organizations/current")
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "organization_not_found"

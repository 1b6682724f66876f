"""DRF permissions by organisation role (owner > admin > editor > viewer).

Views set `read_role` (safe methods) and `write_role` (everything else), or `role_by_action` for
per-action needs. The permission resolves the request's membership, so `request.membership` and
`request.organization` are available in the view afterwards.
"""

from rest_framework.exceptions import PermissionDenied
from rest_framework.permissions import SAFE_METHODS, BasePermission

from .models import Role
from .tenancy import resolve_membership


class HasOrganizationRole(BasePermission):
    def has_permission(self, request, view) -> bool:
        if not (request.user and request.user.is_authenticated):
            return False  # DRF answers 401 with the authenticator's challenge
        membership = resolve_membership(request)
        request.membership = membership
        request.organization = membership.organization
        required = required_role(request, view)
        if not Role.at_least(membership.role, required):
            raise PermissionDenied(
                f"This needs the {required} role or higher in {membership.organization.name}; you are {membership.role}.",
                code="insufficient_role",
            )
        return True


def required_role(request, view) -> str:
    by_action = getattr(view, "role_by_action", None) or {}
    action = getattr(view, "action", None)
    if action in by_action:
        return by_action[action]
    if request.method in SAFE_METHODS:
        return getattr(view, "read_role", Role.VIEWER)
    return getattr(view, "write_role", Role.EDITOR)

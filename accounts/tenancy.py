"""Organisation scoping shared by every app: the base model, its queryset and the request's
current membership (default organisation, session choice or the `X-Organization` header)."""

from django.db import models
from rest_framework.exceptions import NotFound, PermissionDenied

from .models import Membership, Organization

ORGANIZATION_HEADER = "HTTP_X_ORGANIZATION"
SESSION_ORGANIZATION_KEY = "organization_id"


class OrgScopedQuerySet(models.QuerySet):
    def for_organization(self, organization: Organization) -> "OrgScopedQuerySet":
        return self.filter(organization=organization)


class OrgScopedModel(models.Model):
    """Base for every object that belongs to exactly one organisation."""

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="%(app_label)s_%(class)s_set"
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = OrgScopedQuerySet.as_manager()

    class Meta:
        abstract = True


def _membership_for(user, organization_ref: str | int | None) -> Membership | None:
    memberships = Membership.objects.select_related("organization").filter(
        user=user, organization__is_active=True
    )
    if organization_ref in (None, ""):
        return None
    ref = str(organization_ref)
    if ref.isdigit():
        return memberships.filter(organization_id=int(ref)).first()
    return memberships.filter(organization__slug=ref).first()


def resolve_membership(request) -> Membership:
    """The membership the request works in; cached on the request.

    `X-Organization` (id or slug) wins, then the organisation chosen in the session, then the
    user's default, then their oldest membership. Naming an organisation the user does not belong
    to is a 404, as if it did not exist.
    """
    http_request = getattr(request, "_request", request)
    cached = getattr(http_request, "_membership_cache", None)
    if cached is not None:
        return cached
    user = request.user
    header = http_request.META.get(ORGANIZATION_HEADER)
    if header:
        membership = _membership_for(user, header.strip())
        if membership is None:
            raise NotFound("Organization not found.", code="organization_not_found")
    else:
        session = getattr(http_request, "session", None)
        membership = None
        if session is not None and session.get(SESSION_ORGANIZATION_KEY):
            membership = _membership_for(user, session[SESSION_ORGANIZATION_KEY])
        if membership is None and user.default_organization_id:
            membership = _membership_for(user, user.default_organization_id)
        if membership is None:
            membership = (
                Membership.objects.select_related("organization")
                .filter(user=user, organization__is_active=True)
                .order_by("created_at", "id")
                .first()
            )
        if membership is None:
            raise PermissionDenied("You are not a member of any organization.", code="no_organization")
    http_request._membership_cache = membership
    return membership

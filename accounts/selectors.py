"""Reads in accounts, scoped to an organisation, with their joins done once here."""

from datetime import timedelta

from django.db.models import Count, Prefetch, Q, QuerySet, prefetch_related_objects
from django.utils import timezone
from rest_framework.exceptions import NotFound

from . import user_cache
from .models import AuditLog, Membership, Organization, User


def user_with_memberships(user: User) -> User:
    """`user` with its memberships and their organisations loaded (one query)."""
    prefetch_related_objects(
        [user],
        Prefetch("memberships", queryset=Membership.objects.select_related("organization").order_by("organization__name")),
    )
    return user


def me_payload(user: User) -> dict:
    """What GET /auth/me answers for `user`: profile, organisations and roles.

    Built once and kept on the user's cache entry (accounts/user_cache.py), which every change it
    shows forgets, so it is never staler than the database.
    """
    from .serializers import UserSerializer

    payload = getattr(user, user_cache.ME_PAYLOAD_ATTR, None)
    if payload is None:
        payload = UserSerializer(user_with_memberships(user)).data
        setattr(user, user_cache.ME_PAYLOAD_ATTR, payload)
        user_cache.remember(user)
    return payload


def organization_members(organization: Organization) -> QuerySet[Membership]:
    return Membership.objects.filter(organization=organization).select_related("user").order_by("user__email")


def member_of(organization: Organization, user_id: int) -> Membership:
    """The membership of `user_id` in `organization`; a 404 when they are not a member."""
    membership = organization_members(organization).select_related("organization").filter(user_id=user_id).first()
    if membership is None:
        raise NotFound("No such member in this organization.")
    return membership


def audit_entries(organization: Organization) -> QuerySet[AuditLog]:
    return AuditLog.objects.filter(organization=organization).select_related("actor")


# Apps add their own figures to the organisation's stats and usage (see accounts.apps).
STATS_PROVIDERS: list = []
USAGE_PROVIDERS: list = []


def organization_stats(organization: Organization) -> dict:
    since = timezone.now() - timedelta(days=30)
    roles = Membership.objects.filter(organization=organization).aggregate(
        members=Count("id"),
        owners=Count("id", filter=Q(role="owner")),
        admins=Count("id", filter=Q(role="admin")),
        editors=Count("id", filter=Q(role="editor")),
        viewers=Count("id", filter=Q(role="viewer")),
    )
    stats = {
        "members": roles.pop("members"),
        "members_by_role": roles,
        "audit_events_30d": AuditLog.objects.filter(organization=organization, created_at__gte=since).count(),
    }
    for provider in STATS_PROVIDERS:
        stats.update(provider(organization))
    return stats


def organization_usage(organization: Organization) -> dict:
    usage = {"storage_bytes": 0, "devices": 0}
    for provider in USAGE_PROVIDERS:
        for key, value in provider(organization).items():
            usage[key] = usage.get(key, 0) + value
    return {
        "tier": organization.tier,
        "storage": {
            "used_bytes": usage["storage_bytes"],
            "quota_bytes": organization.storage_quota_bytes,
            "percent": round(100 * usage["storage_bytes"] / organization.storage_quota_bytes, 2)
            if organization.storage_quota_bytes else 0.0,
        },
        "devices": {"used": usage["devices"], "limit": organization.device_limit},
    }

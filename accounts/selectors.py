"""Reads in accounts, scoped to an organisation, with their joins done once here."""

from datetime import timedelta

from django.core.cache import cache
from django.db.models import Count, Prefetch, Q, QuerySet, prefetch_related_objects
from django.utils import timezone
from rest_framework.exceptions import NotFound

from .models import AuditLog, Membership, Organization, User


def user_with_memberships(user: User) -> User:
    """`user` with its memberships and their organisations loaded (one query)."""
    prefetch_related_objects(
        [user],
        Prefetch("memberships", queryset=Membership.objects.select_related("organization").order_by("organization__name")),
    )
    return user


ME_CACHE_SECONDS = 300


def me_cache_key(user_id: int) -> str:
    return f"accounts:me:v1:{user_id}"


def me_payload(user: User) -> dict:
    """What GET /auth/me answers for `user`: profile, organisations and roles.

    Cached per user (the cache is shared by every process when REDIS_URL is set); any save or
    delete of the user, one of their memberships or one of their organisations forgets it
    (accounts/signals.py), so it is never staler than the database.
    """
    from .serializers import UserSerializer

    key = me_cache_key(user.pk)
    payload = cache.get(key)
    if payload is None:
        payload = UserSerializer(user_with_memberships(user)).data
        cache.set(key, payload, ME_CACHE_SECONDS)
    return payload


def forget_me(*user_ids: int) -> None:
    cache.delete_many([me_cache_key(user_id) for user_id in user_ids])


def forget_user(*user_ids: int) -> None:
    """Drop every cached view of these users (their authenticated user and /me payload)."""
    from .authentication import user_cache_key

    cache.delete_many([key for uid in user_ids for key in (user_cache_key(uid), me_cache_key(uid))])


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

"""One cache entry per user: the authenticated User, carrying its `/auth/me` payload once built.

Every API request resolves its token's user and `/auth/me` answers from the same entry, so both
cost one cache read (one Redis round trip when REDIS_URL is set) and no database query. Any save
or delete of the user, one of their memberships or one of their organisations forgets the entry
(accounts/signals.py); the TTL bounds what a lost race could leave behind.
"""

from django.core.cache import cache

CACHE_SECONDS = 300
ME_PAYLOAD_ATTR = "_me_payload"


def cache_key(user_id) -> str:
    return f"accounts:user:v2:{user_id}"


def cached_user(user_id):
    return cache.get(cache_key(user_id))


def remember(user) -> None:
    user.__dict__.pop("_prefetched_objects_cache", None)  # keep the entry small
    cache.set(cache_key(user.pk), user, CACHE_SECONDS)


def forget(*user_ids) -> None:
    cache.delete_many([cache_key(user_id) for user_id in user_ids])


def drop_payload(user) -> None:
    """Forget the payload an in-memory user carries (after it was saved)."""
    user.__dict__.pop(ME_PAYLOAD_ATTR, None)

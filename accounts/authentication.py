"""JWT authentication whose user lookup comes from the cache.

Every API request resolves the token's user; caching it saves a database round trip (and, under
ASGI, a new connection) per request. The cached user is forgotten on every save or delete of the
user (accounts/signals.py), so a deactivation or password change takes effect at once.
"""

from django.core.cache import cache
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.exceptions import AuthenticationFailed, InvalidToken
from rest_framework_simplejwt.settings import api_settings

USER_CACHE_SECONDS = 300


def user_cache_key(user_id) -> str:
    return f"accounts:user:v1:{user_id}"


class CachedJWTAuthentication(JWTAuthentication):
    def get_user(self, validated_token):
        try:
            user_id = validated_token[api_settings.USER_ID_CLAIM]
        except KeyError as exc:
            raise InvalidToken("Token contained no recognizable user identification") from exc
        key = user_cache_key(user_id)
        user = cache.get(key)
        if user is None:
            user = super().get_user(validated_token)  # 401 for an unknown or inactive user
            cache.set(key, user, USER_CACHE_SECONDS)
        elif not user.is_active:
            raise AuthenticationFailed("User is inactive", code="user_inactive")
        return user

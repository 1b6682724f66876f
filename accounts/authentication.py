"""JWT authentication whose user lookup comes from the cache.

Every API request resolves the token's user; caching it saves a database round trip (and, under
ASGI, a new connection) per request. The cached user is forgotten on every save or delete of the
user (accounts/signals.py), so a deactivation or password change takes effect at once.
"""

from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.exceptions import AuthenticationFailed, InvalidToken
from rest_framework_simplejwt.settings import api_settings

from . import user_cache


class CachedJWTAuthentication(JWTAuthentication):
    def get_user(self, validated_token):
        try:
            user_id = validated_token[api_settings.USER_ID_CLAIM]
        except KeyError as exc:
            raise InvalidToken("Token contained no recognizable user identification") from exc
        user = user_cache.cached_user(user_id)
        if user is None:
            user = super().get_user(validated_token)  # 401 for an unknown or inactive user
            user_cache.remember(user)
        elif not user.is_active:
            raise AuthenticationFailed("User is inactive", code="user_inactive")
        return user

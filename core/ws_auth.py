"""Socket authentication and origin checks, applied to every WebSocket route.

A socket authenticates with a JWT access token (`?token=`) or the Django session cookie. A browser
always sends `Origin`: when it does, it must be one of ours (ALLOWED_HOSTS / CSRF_TRUSTED_ORIGINS),
so another site cannot ride a user's session cookie. Robots and displays send no `Origin` and
authenticate with their own credentials in their consumers.
"""

from urllib.parse import parse_qs, urlparse

from channels.auth import AuthMiddlewareStack
from channels.db import database_sync_to_async
from channels.middleware import BaseMiddleware
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.http.request import validate_host
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.tokens import AccessToken


@database_sync_to_async
def _user_from_token(raw_token: str):
    from django.contrib.auth import get_user_model

    try:
        token = AccessToken(raw_token)
    except TokenError:
        return None
    user_id = token.get(settings.SIMPLE_JWT.get("USER_ID_CLAIM", "user_id"))
    return get_user_model().objects.filter(pk=user_id, is_active=True).first()


class JwtAuthMiddleware(BaseMiddleware):
    """`?token=<access JWT>` sets scope["user"]; a bad token sets `scope["auth_error"]`."""

    async def __call__(self, scope, receive, send):
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        raw = (query.get("token") or [""])[0]
        if raw:
            user = await _user_from_token(raw)
            scope = dict(scope, user=user or AnonymousUser(), auth_error=None if user else "invalid_token")
        return await super().__call__(scope, receive, send)


def origin_allowed(origin: str) -> bool:
    parsed = urlparse(origin)
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        return False
    if origin.rstrip("/") in {o.rstrip("/") for o in settings.CSRF_TRUSTED_ORIGINS}:
        return True
    return validate_host(parsed.hostname, settings.ALLOWED_HOSTS)


class OriginValidatorMiddleware(BaseMiddleware):
    async def __call__(self, scope, receive, send):
        if scope["type"] == "websocket":
            origin = dict(scope.get("headers", [])).get(b"origin")
            if origin is not None and not origin_allowed(origin.decode("latin-1")):
                # Refuse the handshake (HTTP 403) before any consumer code runs.
                await receive()
                await send({"type": "websocket.close", "code": 4403})
                return None
        return await super().__call__(scope, receive, send)


def SocketAuthStack(inner):
    """Origin check, then session auth, then `?token=` (which wins when present)."""
    return OriginValidatorMiddleware(AuthMiddlewareStack(JwtAuthMiddleware(inner)))

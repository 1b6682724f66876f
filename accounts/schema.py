"""OpenAPI: describe the cached JWT authenticator like simplejwt's own (Bearer tokens)."""

from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme


class CachedJWTScheme(SimpleJWTScheme):
    target_class = "accounts.authentication.CachedJWTAuthentication"
    name = "jwtAuth"

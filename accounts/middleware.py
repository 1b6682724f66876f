"""Per-request context: audit metadata (IP, user agent) and, for pages, the current organisation."""

from django.utils.functional import SimpleLazyObject

from .audit import client_ip, reset_request_meta, set_request_meta
from .tenancy import resolve_membership


def _page_membership(request):
    if not request.user.is_authenticated:
        return None
    try:
        return resolve_membership(request)
    except Exception:  # no organisation or a stale header: pages show the "no organisation" state
        return None


class CurrentOrganizationMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        token = set_request_meta(
            ip_address=client_ip(request.META), user_agent=request.META.get("HTTP_USER_AGENT", "")
        )
        request.membership = SimpleLazyObject(lambda: _page_membership(request))
        try:
            return self.get_response(request)
        finally:
            reset_request_meta(token)

from django.conf import settings
from rest_framework.throttling import ScopedRateThrottle


class ScopedSettingsThrottle(ScopedRateThrottle):
    """ScopedRateThrottle that reads its rate from settings on each request (DRF caches it at import)."""

    def get_rate(self):
        return settings.REST_FRAMEWORK.get("DEFAULT_THROTTLE_RATES", {}).get(self.scope)

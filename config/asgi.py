"""ASGI entry point for daphne: HTTP through Django, WebSockets through Channels.

At start-up every configured server (database, Redis, broker, S3, Qdrant) is checked and an
unreachable one stops the process with a clear message (STARTUP_SERVICE_CHECK=0 skips this).
"""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.conf import settings  # noqa: E402

from config.routing import websocket_urlpatterns  # noqa: E402
from core.ws_auth import SocketAuthStack  # noqa: E402

if getattr(settings, "STARTUP_SERVICE_CHECK", True):
    from core.health import assert_services_available

    assert_services_available()

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": SocketAuthStack(URLRouter(websocket_urlpatterns)),
    }
)

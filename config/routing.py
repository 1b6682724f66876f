"""WebSocket routes (`/ws/v1/...`); each app appends its own in later issues."""

from django.urls import path

from core.consumers import UserEventConsumer

websocket_urlpatterns = [
    path("ws/v1/connect/", UserEventConsumer.as_asgi()),
]

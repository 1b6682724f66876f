"""WebSocket routes (`/ws/v1/...`); each app appends its own in later issues."""

from django.urls import path

from core.consumers import UserEventConsumer
from posture.consumers import PostureConsumer
from robots.consumers import RobotAgentConsumer
from training.consumers import RecordingConsumer

websocket_urlpatterns = [
    path("ws/v1/connect/", UserEventConsumer.as_asgi()),
    path("ws/v1/robots/agent/", RobotAgentConsumer.as_asgi()),
    path("ws/v1/training/sessions/<int:session_id>/record/", RecordingConsumer.as_asgi()),
    path("ws/v1/posture/<str:model>/", PostureConsumer.as_asgi()),
]

"""The user event stream: events for `/ws/v1/connect/`, shaped {"type", "id", "at", "data"}.

Any process (web, socket, worker) publishes through the channel layer to the group of each user
who may see the event; the socket consumer forwards them.
"""

import uuid

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.utils import timezone


def user_group(user_id: int) -> str:
    return f"user.{user_id}"


def build_event(event_type: str, data: dict) -> dict:
    return {"type": event_type, "id": uuid.uuid4().hex, "at": timezone.now().isoformat(), "data": data}


def publish_user_event(user_ids, event_type: str, data: dict) -> dict:
    """Send one event to each user's sockets; returns the event."""
    event = build_event(event_type, data)
    layer = get_channel_layer()
    if layer is None:
        return event
    for user_id in {int(uid) for uid in user_ids}:
        async_to_sync(layer.group_send)(user_group(user_id), {"type": "user.event", "event": event})
    return event

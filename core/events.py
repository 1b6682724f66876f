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


def org_group(organization_id: int) -> str:
    """Every member's event sockets join it: events about the organisation's objects."""
    return f"org.{organization_id}"


def build_event(event_type: str, data: dict) -> dict:
    return {"type": event_type, "id": uuid.uuid4().hex, "at": timezone.now().isoformat(), "data": data}


def send_to_group(group: str, message: dict) -> None:
    """Send a channel-layer message from synchronous code (views, services, tasks)."""
    layer = get_channel_layer()
    if layer is not None:
        async_to_sync(layer.group_send)(group, message)


def publish_user_event(user_ids, event_type: str, data: dict) -> dict:
    """Send one event to each user's sockets; returns the event."""
    event = build_event(event_type, data)
    for user_id in {int(uid) for uid in user_ids}:
        send_to_group(user_group(user_id), {"type": "user.event", "event": event})
    return event


def publish_org_event(organization_id: int, event_type: str, data: dict) -> dict:
    """Send one event to the sockets of every member of the organisation; returns the event."""
    event = build_event(event_type, data)
    send_to_group(org_group(organization_id), {"type": "user.event", "event": event})
    return event

"""The shared socket consumer base and the user event stream.

Every consumer authenticates on connect (close 4401 without a valid identity, 4403 without the
right), bounds message size, validates each JSON message, answers `ping` with `pong`, and answers
a bad message with {"type": "error", "code", "message"} while the socket stays open.
"""

import asyncio
import functools
import json
import logging
from urllib.parse import parse_qs

from asgiref.sync import sync_to_async
from channels.consumer import get_handler_name
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers
from rest_framework.exceptions import APIException

from .events import EVENT_ID, events_since, org_group, user_group
from .exceptions import first_error_message, stringify_errors

logger = logging.getLogger(__name__)

CLOSE_UNAUTHENTICATED = 4401
CLOSE_FORBIDDEN = 4403
# An event socket that has more than this many bytes written but not yet taken by the network
# (its client reads slowly or not at all) is sent no telemetry until it has drained; every other
# event still goes out.
TELEMETRY_BACKLOG_BYTES = 64 * 1024
# Event sockets re-join their groups this often, well inside the channel layer's group_expiry.
GROUP_REFRESH_SECONDS = 60.0


def _transport_of(send):
    """The Twisted transport under an ASGI `send` when daphne serves the socket, else None.

    Daphne's `send` writes into the transport at once and returns, so awaiting it says nothing
    about a slow client; the transport's own buffer does. Channels' session middleware wraps
    `send` (its wrapper keeps the original as `real_send`); daphne's is a partial of its server's
    `handle_reply` with the protocol as first argument."""
    for _ in range(8):
        if isinstance(send, functools.partial):
            protocol = send.args[0] if send.args else None
            transport = getattr(protocol, "transport", None)
            # Under TLS the protocol's transport wraps the TCP one, which holds the buffer.
            for _ in range(4):
                if transport is None or hasattr(transport, "dataBuffer"):
                    break
                transport = getattr(transport, "transport", None)
            return transport if transport is not None and hasattr(transport, "dataBuffer") else None
        send = getattr(getattr(send, "__self__", None), "real_send", None)
        if send is None:
            return None
    return None


def unsent_bytes(transport) -> int:
    """Bytes a Twisted transport holds that the kernel has not taken yet (0 when it cannot tell)."""
    try:
        return len(transport.dataBuffer) - transport.offset + transport._tempDataLen
    except (AttributeError, TypeError):
        return 0


class SocketError(Exception):
    """Raised by handlers to answer an error message and keep the socket open."""

    def __init__(self, code: str, message: str, fields: dict | None = None):
        super().__init__(message)
        self.code, self.message, self.fields = code, message, fields


class BaseJsonConsumer(AsyncWebsocketConsumer):
    """Subclasses set `message_serializers = {"type": SerializerClass}` and define
    `async def handle_<type>(self, data)` for each; `data` is the validated payload."""

    message_serializers: dict[str, type[serializers.Serializer]] = {}
    max_message_bytes: int | None = None
    # The type of a message that names none (a socket whose protocol predates typed messages).
    default_message_type: str | None = None

    # --- connection -------------------------------------------------------------------------
    async def authenticate(self) -> bool:
        """True when the scope carries an identity this consumer accepts."""
        user = self.scope.get("user")
        return bool(user is not None and user.is_authenticated and not self.scope.get("auth_error"))

    async def has_permission(self) -> bool:
        return True

    async def on_connect(self) -> None:
        """Hook after accept: join groups, send a greeting."""

    async def connect(self):
        # Accept first so the client sees a meaningful close code, not a bare HTTP 403.
        await self.accept()
        if not await self.authenticate():
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        if not await self.has_permission():
            await self.close(code=CLOSE_FORBIDDEN)
            return
        self.authenticated = True
        await self.on_connect()

    # --- messages ---------------------------------------------------------------------------
    async def dispatch(self, message):
        """Channels' dispatch without its `aclose_old_connections()` before every message: that is
        a hop to the thread all consumers' database calls share, for every frame a client sends
        and every event a socket is given, so a stream of robot state would queue an agent's
        `ack` behind thousands of them. Handlers here reach the database only through
        `database_sync_to_async`, which closes stale connections around each call itself."""
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

    async def send_json(self, content: dict) -> None:
        await self.send(text_data=json.dumps(content, separators=(",", ":")))

    async def send_error(self, code: str, message: str, fields: dict | None = None) -> None:
        body = {"type": "error", "code": code, "message": message}
        if fields:
            body["fields"] = fields
        await self.send_json(body)

    async def receive(self, text_data=None, bytes_data=None):
        if not getattr(self, "authenticated", False):
            return
        limit = self.max_message_bytes or settings.WS_MAX_MESSAGE_BYTES
        size = len(text_data.encode()) if text_data is not None else len(bytes_data or b"")
        if size > limit:
            await self.send_error("message_too_large", f"Messages are limited to {limit} bytes; got {size}.")
            return
        if text_data is None:
            await self.receive_bytes(bytes_data)
            return
        try:
            message = json.loads(text_data)
        except ValueError:
            await self.send_error("invalid_json", "The message is not valid JSON.")
            return
        if isinstance(message, dict) and "type" not in message and self.default_message_type:
            message = {**message, "type": self.default_message_type}
        if not isinstance(message, dict) or not isinstance(message.get("type"), str):
            await self.send_error("invalid_message", 'A message is a JSON object with a string "type".')
            return
        await self.dispatch_message(message)

    async def receive_bytes(self, data: bytes) -> None:
        await self.send_error("unsupported", "This socket takes JSON text messages only.")

    async def dispatch_message(self, message: dict) -> None:
        message_type = message["type"]
        if message_type == "ping":
            await self.send_json({"type": "pong", "id": message.get("id")})
            return
        serializer_class = self.message_serializers.get(message_type)
        handler = getattr(self, f"handle_{message_type}", None)
        if serializer_class is None or handler is None:
            known = ", ".join(sorted(["ping", *self.message_serializers]))
            await self.send_error("unknown_type", f"Unknown message type {message_type!r}; expected one of: {known}.")
            return
        payload = {k: v for k, v in message.items() if k != "type"}
        serializer = serializer_class(data=payload)
        if not serializer.is_valid():
            errors = serializer.errors
            await self.send_error("invalid_message", first_error_message(errors), stringify_errors(errors))
            return
        try:
            await handler(serializer.validated_data)
        except SocketError as exc:
            await self.send_error(exc.code, exc.message, exc.fields)
        except APIException as exc:  # a service refused: same code as the API would answer
            codes = exc.get_codes()
            await self.send_error(codes if isinstance(codes, str) else "invalid", first_error_message(exc.detail))
        except DjangoValidationError as exc:
            detail = exc.message_dict if hasattr(exc, "error_dict") else exc.messages
            await self.send_error("invalid_message", first_error_message(detail))
        except Exception:  # the socket must survive a handler bug; the log keeps the trace
            logger.exception("socket handler %s failed", message_type)
            await self.send_error("internal_error", "The message could not be processed.")


@database_sync_to_async
def _organization_ids(user_id: int) -> list[int]:
    from accounts.models import Membership

    return list(Membership.objects.filter(user_id=user_id).order_by("organization_id")
                .values_list("organization_id", flat=True))


class ResumeSerializer(serializers.Serializer):
    last_event_id = serializers.RegexField(EVENT_ID, max_length=30)


class UserEventConsumer(BaseJsonConsumer):
    """`/ws/v1/connect/`: the signed-in user's live events ({"type", "id", "at", "data"}): their own
    and those about the objects of the organisations they belong to (joined at connect).

    A client that reconnects passes the last id it saw (`?last_event_id=` or a `resume` message)
    and first receives what it missed, then `{"type": "resumed", "count": n}`.

    Telemetry arrives once per publisher tick (`user.telemetry`, already encoded): as one frame
    per robot by default, or as one `robot_status_batch` frame with `?telemetry=batch`. It is the
    only thing a slow client loses: while more than TELEMETRY_BACKLOG_BYTES wait unsent on its
    connection, ticks are skipped for it; other events are always written.
    """

    message_serializers = {"resume": ResumeSerializer}

    async def on_connect(self):
        user = self.scope["user"]
        query = parse_qs(self.scope.get("query_string", b"").decode("latin-1"))
        self.telemetry_batch = (query.get("telemetry") or [""])[0] == "batch"
        self.client_transport = _transport_of(self.base_send)
        self.telemetry_skipped = 0
        organization_ids = await _organization_ids(user.pk)
        self.groups_joined = [user_group(user.pk), *(org_group(org_id) for org_id in organization_ids)]
        for group in self.groups_joined:
            await self.channel_layer.group_add(group, self.channel_name)
        self.refresher = asyncio.get_running_loop().create_task(self._refresh_groups())
        await self.send_json({"type": "hello", "data": {"user_id": user.pk, "organizations": organization_ids}})
        last_event_id = (query.get("last_event_id") or [""])[0]
        if last_event_id:
            if EVENT_ID.match(last_event_id):
                await self.handle_resume({"last_event_id": last_event_id})
            else:
                await self.send_error("invalid_message", "last_event_id is not an event id.")

    async def handle_resume(self, data):
        missed = await sync_to_async(events_since)(self.groups_joined, data["last_event_id"])
        for event in missed:
            await self.send_json(event)
        await self.send_json({"type": "resumed", "count": len(missed)})

    async def _refresh_groups(self) -> None:
        """Re-join the groups now and then: the channel layer forgets members after its
        group_expiry (so the channels of a server that died without leaving do not linger)."""
        while True:
            await asyncio.sleep(GROUP_REFRESH_SECONDS)
            try:
                for group in self.groups_joined:
                    await self.channel_layer.group_add(group, self.channel_name)
            except Exception:  # the channel layer is away: try again next time
                logger.warning("event socket could not re-join its groups", exc_info=True)

    async def disconnect(self, code):
        if getattr(self, "refresher", None):
            self.refresher.cancel()
        for group in getattr(self, "groups_joined", []):
            await self.channel_layer.group_discard(group, self.channel_name)

    async def user_event(self, message):
        await self.send_json(message["event"])

    async def user_telemetry(self, message):
        if self.client_transport is not None and unsent_bytes(self.client_transport) > TELEMETRY_BACKLOG_BYTES:
            self.telemetry_skipped += 1  # the client is behind: it gets the next tick's state instead
            return
        if self.telemetry_batch:
            await self.send(text_data=message["batch"])
        else:
            for frame in message["frames"]:
                await self.send(text_data=frame)

"""The user event stream: events for `/ws/v1/connect/`, shaped {"type", "id", "at", "data"}.

Any process (web, socket, worker) publishes through the channel layer to a group: a user's own
(`user.<id>`) or an organisation's (`org.<id>`, joined by every member's sockets). Events are also
appended to a bounded log per group — a Redis stream when REDIS_URL is set, else in process — so a
client that reconnects resumes from the last id it saw. Telemetry (`robot_status_update`) is not
logged: the newest state wins and an old one is never replayed.

Ids are stream ids, "<milliseconds>-<sequence>", ordered by time; a client compares them as such
and ignores an id it has already seen (an event may arrive both live and in a replay).

Telemetry (robots' state) does not go event by event: a publisher coalesces it and sends one
`user.telemetry` channel-layer message per group and tick, its frames already encoded as JSON text
(`telemetry_message`), so each socket only writes them out (see core.consumers.UserEventConsumer).
"""

import collections
import itertools
import json
import logging
import re
import threading
import time

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.utils import timezone

logger = logging.getLogger(__name__)

EPHEMERAL_EVENTS = frozenset({"robot_status_update", "robot_status_batch"})
EVENT_ID = re.compile(r"^\d{1,15}-\d{1,10}$")


def user_group(user_id: int) -> str:
    return f"user.{user_id}"


def org_group(organization_id: int) -> str:
    """Every member's event sockets join it: events about the organisation's objects."""
    return f"org.{organization_id}"


def _id_key(event_id: str) -> tuple[int, int]:
    milliseconds, _, sequence = event_id.partition("-")
    return int(milliseconds), int(sequence or 0)


class _MemoryEventLog:
    """One process's log (the embedded default, where one process serves everything)."""

    def __init__(self):
        self._lock = threading.Lock()
        self._groups: dict[str, collections.deque] = {}
        self._sequence = itertools.count()

    def next_id(self) -> str:
        return f"{int(time.time() * 1000)}-{next(self._sequence)}"

    def append(self, group: str, event: dict) -> None:
        with self._lock:
            log = self._groups.setdefault(group, collections.deque(maxlen=settings.EVENT_LOG_LENGTH))
            log.append(event)

    def since(self, groups: list[str], last_id: str) -> list[dict]:
        after = _id_key(last_id)
        with self._lock:
            events = [e for g in groups for e in self._groups.get(g, ()) if _id_key(e["id"]) > after]
        return sorted(events, key=lambda e: _id_key(e["id"]))


class _RedisEventLog:
    """A capped Redis stream per group, shared by every process."""

    def __init__(self, url: str):
        import redis

        self._redis = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)
        self._sequence = itertools.count()

    @staticmethod
    def _key(group: str) -> str:
        return f"pap:events:{group}"

    def next_id(self) -> str:
        # Not logged (telemetry): a time-ordered id that compares with the stream ids.
        return f"{int(time.time() * 1000)}-{next(self._sequence) % 1_000_000 + 1_000_000}"

    def append(self, group: str, event: dict) -> str:
        key = self._key(group)
        pipe = self._redis.pipeline()
        pipe.xadd(key, {"event": json.dumps(event, separators=(",", ":"))}, maxlen=settings.EVENT_LOG_LENGTH,
                  approximate=True)
        pipe.expire(key, settings.EVENT_LOG_TTL)
        return pipe.execute()[0].decode()

    def since(self, groups: list[str], last_id: str) -> list[dict]:
        events = []
        for group in groups:
            for entry_id, fields in self._redis.xrange(self._key(group), min=f"({last_id}", count=settings.EVENT_LOG_LENGTH):
                event = json.loads(fields[b"event"])
                event["id"] = entry_id.decode()
                events.append(event)
        return sorted(events, key=lambda e: _id_key(e["id"]))


_log = None
_log_lock = threading.Lock()


def event_log():
    global _log
    with _log_lock:
        wanted = _RedisEventLog if settings.REDIS_URL else _MemoryEventLog
        if not isinstance(_log, wanted):
            _log = _RedisEventLog(settings.REDIS_URL) if settings.REDIS_URL else _MemoryEventLog()
        return _log


def send_to_group(group: str, message: dict) -> None:
    """Send a channel-layer message from synchronous code (views, services, tasks)."""
    layer = get_channel_layer()
    if layer is not None:
        async_to_sync(layer.group_send)(group, message)


class Outbox:
    """Events a synchronous service has logged for an async caller (a consumer) to send.

    A consumer runs a service in a worker thread with `outbox=`; the service logs its events as
    usual (after its transaction commits) but leaves sending them to the consumer, which awaits
    `outbox.send()` on its own event loop instead of each event hopping back to it through
    `async_to_sync` from the thread.
    """

    def __init__(self):
        self.messages: list[tuple[str, dict]] = []

    def add(self, group: str, event: dict) -> None:
        self.messages.append((group, event))

    async def send(self, layer=None) -> None:
        layer = layer or get_channel_layer()
        messages, self.messages = self.messages, []
        if layer is None:
            return
        for group, event in messages:
            try:
                await layer.group_send(group, {"type": "user.event", "event": event})
            except Exception:  # logged already: a client that resumes still gets it
                logger.warning("event %s to %s was not sent", event["type"], group, exc_info=True)


def record(group: str, event_type: str, data: dict) -> dict:
    """The event, with its id; logged unless it is telemetry (ephemeral). Nothing is sent."""
    event = {"type": event_type, "id": "", "at": timezone.now().isoformat(), "data": data}
    log = event_log()
    if event_type in EPHEMERAL_EVENTS:
        event["id"] = log.next_id()
    elif isinstance(log, _RedisEventLog):
        event["id"] = log.append(group, event)
    else:
        event["id"] = log.next_id()
        log.append(group, event)
    return event


def publish(group: str, event_type: str, data: dict, outbox: Outbox | None = None) -> dict:
    """Log (unless ephemeral) and send one event to a group's sockets; returns the event. With an
    `outbox`, the event is left there for an async caller to send."""
    event = record(group, event_type, data)
    if outbox is not None:
        outbox.add(group, event)
    else:
        send_to_group(group, {"type": "user.event", "event": event})
    return event


def publish_user_event(user_ids, event_type: str, data: dict) -> list[dict]:
    """Send one event to each user's sockets."""
    return [publish(user_group(int(uid)), event_type, data) for uid in sorted({int(u) for u in user_ids})]


def publish_org_event(organization_id: int, event_type: str, data: dict, outbox: Outbox | None = None) -> dict:
    """Send one event to the sockets of every member of the organisation."""
    return publish(org_group(organization_id), event_type, data, outbox)


def _dumps(value) -> str:
    return json.dumps(value, separators=(",", ":"))


def telemetry_message(event_type: str, batch_type: str, batch_key: str, items: list[dict]) -> dict:
    """One channel-layer message carrying a tick of telemetry, encoded once for every socket.

    `frames`: one `event_type` event per item, the default for sockets; `batch`: one `batch_type`
    event whose data is {batch_key: [items...]}, for sockets that asked for batches. Both are JSON
    text, every event shaped {"type", "id", "at", "data"}; telemetry is never logged.
    """
    log = event_log()
    at = _dumps(timezone.now().isoformat())
    encoded = [_dumps(item) for item in items]
    frames = [f'{{"type":{_dumps(event_type)},"id":"{log.next_id()}","at":{at},"data":{data}}}' for data in encoded]
    batch = (f'{{"type":{_dumps(batch_type)},"id":"{log.next_id()}","at":{at},'
             f'"data":{{{_dumps(batch_key)}:[{",".join(encoded)}]}}}}')
    return {"type": "user.telemetry", "frames": frames, "batch": batch}


def events_since(groups: list[str], last_id: str) -> list[dict]:
    """Logged events of these groups after `last_id`, oldest first (at most EVENT_LOG_LENGTH per group)."""
    return event_log().since(groups, last_id)

"""Robot telemetry: coalesced in each server process, published once a tick per organisation.

An agent's socket hands every state it accepts to this process's publisher (`publisher.put`),
which only remembers it: a dict keyed by (organisation, robot), newest wins. One ticker per process
(an asyncio task, started with the first state and ended after a few idle seconds) wakes every
1 / ROBOT_STATE_PUBLISH_HZ seconds and sends ONE channel-layer message per organisation with every
robot whose state arrived since the last tick, its frames encoded once (core.events
.telemetry_message); each event socket of the organisation writes them out as they are.

So the channel layer carries at most ROBOT_STATE_PUBLISH_HZ telemetry messages a second per
organisation and process, whatever the number of robots and their rates, and nothing the agent's
socket does with a state waits on the network.

Coalescing merges states that arrive less than half a tick period apart (the newer replaces the
older). States further apart are both kept (at most two per robot and tick, oldest first), so an
agent that reports at the publish rate has every state published even when clock jitter puts two
of them inside one tick, while a faster one is thinned to about one state per tick.
"""

import asyncio
import logging
import time

from channels.layers import get_channel_layer
from django.conf import settings

from core.events import org_group, telemetry_message

logger = logging.getLogger(__name__)

EVENT_TYPE = "robot_status_update"
BATCH_TYPE = "robot_status_batch"
BATCH_KEY = "robots"
MAX_PER_TICK = 2
# The ticker stops after this many seconds without state, and starts again with the next one.
IDLE_STOP_SECONDS = 5.0


def publish_period() -> float:
    return 1.0 / settings.ROBOT_STATE_PUBLISH_HZ


class TelemetryPublisher:
    def __init__(self):
        # organisation id → robot id → [[arrived (monotonic), data], ...] (at most MAX_PER_TICK)
        self._pending: dict[int, dict[int, list[list]]] = {}
        self._task: asyncio.Task | None = None
        self.ticks = 0
        self.messages_sent = 0

    # --- from the agents' sockets (the event loop's thread) --------------------------------------
    def put(self, organization_id: int, robot_id: int, data: dict) -> None:
        """Remember the robot's newest state for the next tick (never waits)."""
        now = time.monotonic()
        robots = self._pending.get(organization_id)
        if robots is None:
            robots = self._pending[organization_id] = {}
        entries = robots.get(robot_id)
        if entries is None:
            robots[robot_id] = [[now, data]]
        elif now - entries[-1][0] < publish_period() / 2:
            entries[-1][0], entries[-1][1] = now, data  # a burst: the newest wins
        else:
            entries.append([now, data])
            if len(entries) > MAX_PER_TICK:
                del entries[0]
        self._ensure_running()

    def discard(self, organization_id: int, robot_id: int) -> None:
        """Forget a robot's unpublished state (its agent left: `robot_disconnected` says the rest)."""
        robots = self._pending.get(organization_id)
        if robots is not None:
            robots.pop(robot_id, None)

    # --- the ticker ------------------------------------------------------------------------------
    def _ensure_running(self) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # not on an event loop (a unit test): `take` publishes by hand
            return
        task = self._task
        if task is None or task.done() or task.get_loop() is not loop:
            self._task = loop.create_task(self._run(), name="robot-telemetry")

    def take(self) -> dict[int, list[dict]]:
        """What the next tick publishes: organisation id → the robots' data, oldest first."""
        pending, self._pending = self._pending, {}
        return {org: [data for entries in robots.values() for _, data in entries]
                for org, robots in pending.items() if robots}

    async def _run(self) -> None:
        layer = get_channel_layer()
        next_tick = time.monotonic()
        idle_since = next_tick
        while True:
            next_tick += publish_period()
            delay = next_tick - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            else:
                next_tick = time.monotonic()  # running late: carry on from now, never in a burst
            batches = self.take()
            self.ticks += 1
            if not batches:
                if time.monotonic() - idle_since > IDLE_STOP_SECONDS and not self._pending:
                    return
                continue
            idle_since = time.monotonic()
            if layer is None:
                continue
            results = await asyncio.gather(
                *(layer.group_send(org_group(org), telemetry_message(EVENT_TYPE, BATCH_TYPE, BATCH_KEY, items))
                  for org, items in batches.items()),
                return_exceptions=True,
            )
            for result in results:
                if isinstance(result, BaseException):
                    # Telemetry is best effort: the next tick brings newer state.
                    logger.warning("telemetry tick not sent: %r", result)
                else:
                    self.messages_sent += 1


publisher = TelemetryPublisher()

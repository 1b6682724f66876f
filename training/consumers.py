"""Live recording, `/ws/v1/training/sessions/{id}/record/` (protocol: docs/training.md).

The page sends camera frames (JSON `{"type": "frame", "image": base64}` or a binary message holding
the JPEG itself); the server runs MediaPipe Hands and answers each processed frame with its
landmarks. The newest frame wins: while the model works on one frame, later ones replace each other
and only the last is processed next, so a slow model never builds a backlog. Between
`start_episode` and `stop_episode` the detected frames are stored, in batches of
TRAINING_LIVE_FLUSH_FRAMES.
"""

import asyncio
import base64
import binascii
import logging
import struct
import tempfile
import time

from channels.db import database_sync_to_async
from django.conf import settings
from rest_framework import serializers

from accounts.models import Membership, Role
from core.consumers import BaseJsonConsumer, SocketError
from core.serializers import StrictSerializer

from . import services
from .frames import FrameError, batch_from_hands
from .hands import HandTracker, InvalidImage, decode_image
from .models import Episode, TrainingSession

logger = logging.getLogger(__name__)

CLOSE_NOT_FOUND = 4404


class EmptySerializer(StrictSerializer):
    pass


class FrameSerializer(StrictSerializer):
    image = serializers.CharField(allow_blank=True, trim_whitespace=False)
    t = serializers.FloatField(required=False, allow_null=True, default=None, min_value=0,
                               help_text="Capture time in seconds (any origin); defaults to arrival time.")


class LabelSerializer(StrictSerializer):
    name = serializers.CharField(max_length=100)
    start_frame = serializers.IntegerField(min_value=0)
    end_frame = serializers.IntegerField(min_value=0)
    confidence = serializers.FloatField(min_value=0.0, max_value=1.0, default=1.0)
    episode = serializers.IntegerField(min_value=0, required=False, allow_null=True, default=None)


@database_sync_to_async
def _session_and_role(user, session_id: int) -> tuple[TrainingSession | None, str | None]:
    session = TrainingSession.objects.select_related("organization").filter(pk=session_id).first()
    if session is None:
        return None, None
    role = (Membership.objects.filter(user=user, organization_id=session.organization_id)
            .values_list("role", flat=True).first())
    return (session, role) if role else (None, None)


class RecordingConsumer(BaseJsonConsumer):
    message_serializers = {"frame": FrameSerializer, "start_episode": EmptySerializer,
                           "stop_episode": EmptySerializer, "label": LabelSerializer}

    # --- connection -------------------------------------------------------------------------
    async def has_permission(self) -> bool:
        session_id = self.scope["url_route"]["kwargs"]["session_id"]
        self.session, role = await _session_and_role(self.scope["user"], session_id)
        if self.session is None:
            await self.close(code=CLOSE_NOT_FOUND)
            return False
        return Role.at_least(role, Role.EDITOR)

    async def on_connect(self):
        self.episode: Episode | None = None
        self.buffer: list[tuple[float, dict]] = []
        self.last_t: float | None = None
        self.clock_origin: float | None = None
        self.client_offset: float | None = None
        self.pending: tuple[bytes, float | None, float] | None = None
        self.dropped = 0
        self.processed = 0
        self.worker: asyncio.Task | None = None
        self.tracker: HandTracker | None = None
        self.aspect = 1.0
        self.spool = None
        self.video_tasks: set[asyncio.Task] = set()
        await self.send_json({"type": "ready", "data": {
            "session_id": self.session.pk, "fps": self.session.fps, "status": self.session.status,
            "flush_frames": settings.TRAINING_LIVE_FLUSH_FRAMES}})

    async def disconnect(self, code):
        worker = getattr(self, "worker", None)
        if worker is not None:
            worker.cancel()
        if getattr(self, "episode", None) is not None:
            try:  # keep what was recorded: the socket dropping ends the take
                await self._flush()
                await database_sync_to_async(services.close_episode)(actor=self.scope["user"], episode=self.episode)
                spool, self.spool = self.spool, None
                await self._save_camera_video(self.episode, spool, announce=False)
            except Exception:
                logger.exception("could not finish live episode %s", self.episode.pk)
        for task in list(getattr(self, "video_tasks", ())):
            await asyncio.wait([task], timeout=60)
        tracker = getattr(self, "tracker", None)
        if tracker is not None:
            await asyncio.get_running_loop().run_in_executor(None, tracker.close)

    # --- frames -----------------------------------------------------------------------------
    async def handle_frame(self, data):
        try:
            image = base64.b64decode(data["image"].split(",", 1)[-1], validate=True)
        except (binascii.Error, ValueError) as exc:
            raise SocketError("invalid_image", "Invalid image data: image must be base64 (or a data: URL).") from exc
        self._submit(image, data["t"])

    async def receive_bytes(self, data: bytes) -> None:
        self._submit(data, None)

    def _submit(self, image: bytes, t: float | None) -> None:
        if not image:
            raise SocketError("invalid_image", "No image provided.")
        if self.pending is not None:
            self.dropped += 1  # the newest frame wins
        self.pending = (image, t, time.monotonic())
        if self.worker is None or self.worker.done():
            self.worker = asyncio.ensure_future(self._process_pending())

    def _detect(self, image: bytes) -> dict:
        rgb = decode_image(image)
        self.aspect = rgb.shape[0] / rgb.shape[1]
        if self.tracker is None:
            self.tracker = HandTracker(tracking=True)
        return self.tracker.detect(rgb)

    async def _process_pending(self):
        loop = asyncio.get_running_loop()
        while self.pending is not None:
            image, t, received = self.pending
            self.pending = None
            try:
                hands = await loop.run_in_executor(None, self._detect, image)
            except InvalidImage as exc:
                await self.send_error("invalid_image", str(exc))
                continue
            except Exception:
                logger.exception("hand detection failed")
                await self.send_error("internal_error", "Hand detection failed on this frame.")
                continue
            self.processed += 1
            reply = {"type": "landmarks", "hands": hands, "frame": None, "t": None,
                     "latency_ms": round((time.monotonic() - received) * 1000, 1), "dropped": self.dropped}
            if self.episode is not None:
                frame_t = self._episode_time(t, received)
                if frame_t is not None:
                    self.buffer.append((frame_t, hands))
                    self._keep_picture(image)
                    reply["frame"] = self.episode.frame_count + len(self.buffer) - 1
                    reply["t"] = round(frame_t, 4)
                if len(self.buffer) >= settings.TRAINING_LIVE_FLUSH_FRAMES:
                    try:
                        await self._flush()
                    except Exception as exc:  # the session was completed elsewhere, say
                        await self.send_error(getattr(exc, "error_code", "store_failed"), str(exc))
            await self.send_json(reply)

    def _episode_time(self, t: float | None, received: float) -> float | None:
        """Seconds from the episode's start. A client that sends its capture time `t` is timed by
        that clock (mapped onto ours by the offset seen at its first such frame, so frames with and
        without `t` still line up); others by arrival. A frame that does not move time forward is
        answered but not stored."""
        if t is not None:
            if self.client_offset is None:
                self.client_offset = t - received
            clock = t - self.client_offset
        else:
            clock = received
        if self.clock_origin is None:
            self.clock_origin = clock
        frame_t = clock - self.clock_origin
        if self.last_t is not None and frame_t <= self.last_t:
            return None
        self.last_t = frame_t
        return frame_t

    # --- the episode's camera pictures -----------------------------------------------------------
    def _keep_picture(self, image: bytes) -> None:
        """Spool each stored frame's picture to a temporary file (length-prefixed), for the MP4."""
        if self.spool is None:
            self.spool = tempfile.TemporaryFile()  # noqa: SIM115 - closed by _encode_spool
        self.spool.write(struct.pack("<I", len(image)) + image)

    def _spooled_pictures(self, spool):
        spool.seek(0)
        while header := spool.read(4):
            (size,) = struct.unpack("<I", header)
            yield decode_image(spool.read(size))

    def _encode_spool(self, spool, episode_id: int):
        try:
            return services.attach_camera_video(episode_id=episode_id, pictures=self._spooled_pictures(spool),
                                                fps=self.session.fps)
        finally:
            spool.close()

    async def _save_camera_video(self, episode: Episode, spool, *, announce: bool = True):
        if spool is None:
            return
        try:
            await database_sync_to_async(self._encode_spool)(spool, episode.pk)
        except Exception:
            logger.exception("could not encode the camera video of episode %s", episode.pk)
            return
        if announce:
            await self.send_json({"type": "episode_video", "data": {"episode": episode.index}})

    async def _flush(self):
        if not self.buffer or self.episode is None:
            return
        frames, self.buffer = self.buffer, []
        try:
            batch = batch_from_hands([t for t, _ in frames], [h for _, h in frames])
        except FrameError:
            logger.exception("live frames failed validation")
            return
        self.episode = await database_sync_to_async(services.append_to_episode)(
            session=self.session, episode=self.episode, batch=batch, aspect=self.aspect)

    # --- episodes and labels -------------------------------------------------------------------
    async def handle_start_episode(self, data):
        if self.episode is not None:
            raise SocketError("episode_open", f"Episode {self.episode.index} is still recording; stop it first.")
        self.episode = await database_sync_to_async(services.start_episode)(
            actor=self.scope["user"], session=self.session, source=Episode.Source.LIVE)
        self.buffer, self.last_t, self.clock_origin = [], None, None
        if self.spool is not None:
            self.spool.close()
            self.spool = None
        await self.send_json({"type": "episode_started", "data": {"episode": self.episode.index}})

    async def handle_stop_episode(self, data):
        if self.episode is None:
            raise SocketError("no_episode", "No episode is recording.")
        await self._flush()
        episode = await database_sync_to_async(services.close_episode)(actor=self.scope["user"],
                                                                       episode=self.episode)
        self.episode = None
        await self.send_json({"type": "episode_stopped", "data": {
            "episode": episode.index, "frames": episode.frame_count, "duration": round(episode.duration, 3)}})
        # Encoding the pictures takes a while: in the background, announced with `episode_video`.
        spool, self.spool = self.spool, None
        task = asyncio.ensure_future(self._save_camera_video(episode, spool))
        self.video_tasks.add(task)
        task.add_done_callback(self.video_tasks.discard)

    async def handle_label(self, data):
        index = data.pop("episode")
        if index is None:
            if self.episode is None:
                raise SocketError("no_episode", "No episode is recording; name the episode to label.")
            index = self.episode.index
        if self.episode is not None and index == self.episode.index:
            await self._flush()
        gesture = await database_sync_to_async(self._label)(index, data)
        await self.send_json({"type": "labelled", "data": {"episode": index, "id": gesture.pk, "name": gesture.name,
                                                           "start_frame": gesture.start_frame,
                                                           "end_frame": gesture.end_frame}})

    def _label(self, index: int, data: dict):
        episode = Episode.objects.filter(session=self.session, index=index).first()
        if episode is None:
            raise SocketError("not_found", f"This session has no episode {index}.")
        return services.label_gesture(actor=self.scope["user"], episode=episode, **data)


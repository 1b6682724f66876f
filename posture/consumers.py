"""Live posture, `/ws/v1/posture/{model}/` (JWT `?token=` or the session cookie).

In: `{"image": "<base64 JPEG/PNG or data: URL>"}` (a `type` of "frame" may be given; a binary
message holding the picture itself works too). Out, for each processed picture:
`{"type": "posture", "keypoints": [[x, y, score], ...], "posture_score", "issues", "measures",
"model", "latency_ms" (arrival to answer), "inference_ms" (the model alone), "dropped"}`. Errors ("No image provided", "Invalid image data", "No person
detected", a picture too large) come as `{"type": "error", "code", "message"}`; the socket stays
open. The newest picture wins: while the model works on one, later ones replace each other and only
the last is processed next, so a slow model never builds a backlog; inference runs in a worker
thread, never on the event loop. A model that is not configured or cannot load closes the socket
with 4404 after saying why.
"""

import asyncio
import base64
import binascii
import logging
import time

from channels.db import database_sync_to_async
from rest_framework import serializers

from core.consumers import BaseJsonConsumer, SocketError
from core.images import InvalidImage, decode_image
from core.serializers import StrictSerializer

from . import geometry
from .estimators import ModelUnavailable, get_estimator
from .services import posture_of_keypoints

logger = logging.getLogger(__name__)

CLOSE_MODEL_UNAVAILABLE = 4404


class FrameSerializer(StrictSerializer):
    image = serializers.CharField(allow_blank=True, trim_whitespace=False)


class PostureConsumer(BaseJsonConsumer):
    message_serializers = {"frame": FrameSerializer}
    default_message_type = "frame"

    async def on_connect(self):
        self.model = self.scope["url_route"]["kwargs"]["model"]
        self.pending: tuple[bytes, float] | None = None
        self.dropped = 0
        self.worker: asyncio.Task | None = None
        try:
            self.estimator = await database_sync_to_async(get_estimator)(self.model)
        except ModelUnavailable as exc:
            await self.send_error("model_unavailable", str(exc))
            await self.close(code=CLOSE_MODEL_UNAVAILABLE)
            return
        await self.send_json({"type": "ready", "data": {"model": self.model, "device": self.estimator.device,
                                                        "keypoints": list(geometry.KEYPOINT_NAMES)}})

    async def disconnect(self, code):
        worker = getattr(self, "worker", None)
        if worker is not None:
            worker.cancel()

    async def handle_frame(self, data):
        text = data["image"]
        if not text:
            raise SocketError("invalid_image", "No image provided")
        try:
            picture = base64.b64decode(text.split(",", 1)[-1], validate=True)
        except (binascii.Error, ValueError) as exc:
            raise SocketError("invalid_image", "Invalid image data: the image must be base64 (or a data: URL).") from exc
        self._submit(picture)

    async def receive_bytes(self, data: bytes) -> None:
        if not data:
            await self.send_error("invalid_image", "No image provided")
            return
        self._submit(data)

    def _submit(self, picture: bytes) -> None:
        if self.pending is not None:
            self.dropped += 1  # the newest picture wins
        self.pending = (picture, time.monotonic())
        if self.worker is None or self.worker.done():
            self.worker = asyncio.ensure_future(self._process_pending())

    def _analyse(self, picture: bytes) -> dict:
        rgb = decode_image(picture)
        started = time.perf_counter()
        keypoints = self.estimator.estimate(rgb)
        return posture_of_keypoints(keypoints, model=self.model,
                                    latency_ms=round((time.perf_counter() - started) * 1000, 1))

    async def _process_pending(self):
        loop = asyncio.get_running_loop()
        while self.pending is not None:
            picture, received = self.pending
            self.pending = None
            try:
                result = await loop.run_in_executor(None, self._analyse, picture)
            except InvalidImage as exc:
                await self.send_error("invalid_image", str(exc).rstrip("."))
                continue
            except geometry.NoPersonDetected:
                await self.send_error("no_person_detected", "No person detected")
                continue
            except Exception:
                logger.exception("posture inference failed")
                await self.send_error("internal_error", "The picture could not be analysed.")
                continue
            result["inference_ms"] = result["latency_ms"]
            result["latency_ms"] = round((time.monotonic() - received) * 1000, 1)  # wait + decode + model
            await self.send_json({"type": "posture", **result, "dropped": self.dropped})

"""Uploaded videos: check that a file is a decodable video, then decode it (PyAV) and run MediaPipe
Hands on its frames. No Django: file objects in, a FrameBatch out."""

from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction

import av
import numpy as np

from .frames import FrameBatch, batch_from_hands
from .hands import HandTracker

# MediaPipe sees a 256-pixel crop of the hand at most; decoding straight to a smaller picture saves
# the colour conversion of every full-size frame.
MAX_WIDTH = 960


def _rate(stream) -> Fraction | None:
    rate = stream.average_rate or stream.guessed_rate or stream.base_rate
    return Fraction(rate) if rate else None


def probe_video(fileobj) -> dict:
    """Size, rate, duration and codec of the first video stream; ValueError when it is not a video.
    The file position is restored."""
    position = fileobj.tell() if hasattr(fileobj, "tell") else 0
    try:
        with av.open(fileobj, mode="r") as container:
            if not container.streams.video:
                raise ValueError("The file has no video stream.")
            stream = container.streams.video[0]
            first = next(container.decode(stream), None)
            if first is None:
                raise ValueError("The video has no frames.")
            rate = _rate(stream)
            duration = float(container.duration / av.time_base) if container.duration else None
            return {"width": first.width, "height": first.height, "fps": float(rate) if rate else None,
                    "duration": duration, "codec": stream.codec_context.name}
    except (av.error.FFmpegError, StopIteration, UnicodeDecodeError) as exc:
        raise ValueError("The file is not a video that can be decoded (MP4, WebM, MOV, AVI…).") from exc
    finally:
        if hasattr(fileobj, "seek"):
            fileobj.seek(position)


@dataclass
class VideoHands:
    batch: FrameBatch | None
    fps: float
    frames: int
    aspect: float = 1.0


def iter_video_frames(fileobj) -> tuple[float, object]:
    """(fps, iterator of (seconds, rgb ndarray)) over the first video stream."""
    container = av.open(fileobj, mode="r")
    if not container.streams.video:
        container.close()
        raise ValueError("The file has no video stream.")
    stream = container.streams.video[0]
    stream.thread_type = "AUTO"
    rate = _rate(stream)
    fps = float(rate) if rate else 30.0

    def frames():
        try:
            for index, frame in enumerate(container.decode(stream)):
                width, height = frame.width, frame.height
                if width > MAX_WIDTH:
                    height = max(2, round(height * MAX_WIDTH / width / 2) * 2)
                    width = MAX_WIDTH
                rgb = frame.to_ndarray(format="rgb24", width=width, height=height)
                seconds = float(frame.time) if frame.time is not None else index / fps
                yield seconds, rgb
        except av.error.FFmpegError as exc:
            raise ValueError(f"The video could not be decoded past frame {index}: {exc}") from exc
        finally:
            container.close()

    return fps, frames()


def extract_hands_from_video(fileobj, *, target_fps: float | None = None,
                             on_progress: Callable[[float], None] | None = None) -> VideoHands:
    """Hands on the video's frames, on the time grid of `target_fps` (the session's rate; default the
    video's own): frame k is the video frame showing at k / fps, so t = k / fps exactly. At the same
    rate every frame is used; a faster video skips frames, a slower one repeats them."""
    expected = _frame_estimate(fileobj)
    fps, frames = iter_video_frames(fileobj)
    rate = float(target_fps or fps)
    if expected and target_fps:
        expected = int(expected * rate / fps)
    hands: list[dict] = []
    start = None
    aspect = 1.0
    with HandTracker(tracking=True) as tracker:
        for seconds, rgb in frames:
            if start is None:
                start, aspect = seconds, rgb.shape[0] / rgb.shape[1]
            shown_until = seconds - start + 0.5 / fps  # this frame covers the grid slots up to here
            if len(hands) / rate > shown_until:
                continue
            detected = tracker.detect(rgb)
            while len(hands) / rate <= shown_until:
                hands.append(detected)
            if on_progress is not None and expected and len(hands) % 15 == 0:
                on_progress(min(len(hands) / expected, 0.99))
    if not hands:
        return VideoHands(None, rate, 0, aspect)
    if on_progress is not None:
        on_progress(1.0)
    timestamps = np.arange(len(hands), dtype=np.float64) / rate
    return VideoHands(batch_from_hands(timestamps, hands), rate, len(hands), aspect)


def _frame_estimate(fileobj) -> int | None:
    position = fileobj.tell()
    try:
        with av.open(fileobj, mode="r") as container:
            stream = container.streams.video[0]
            if stream.frames:
                return int(stream.frames)
            rate = _rate(stream)
            if container.duration and rate:
                return int(container.duration / av.time_base * rate)
        return None
    except (av.error.FFmpegError, IndexError):
        return None
    finally:
        fileobj.seek(position)

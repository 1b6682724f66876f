"""Uploaded videos: check that a file is a decodable video, then decode it (PyAV) and run MediaPipe
Hands on its frames. No Django: file objects in, a FrameBatch out."""

import itertools
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


def iter_video_frames(fileobj, size: tuple[int, int] | None = None) -> tuple[float, object]:
    """(fps, iterator of (seconds, rgb ndarray)) over the first video stream, at most MAX_WIDTH wide
    or scaled to `size` = (width, height)."""
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
                width, height = size or (frame.width, frame.height)
                if size is None and width > MAX_WIDTH:
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


def grid_frames(fileobj, target_fps: float | None = None, size: tuple[int, int] | None = None):
    """(fps, aspect, iterator of (rgb, new)) — the picture showing at each k / fps of the time grid
    (default: the video's own rate): at the same rate every picture once; a faster video skips
    pictures, a slower one repeats them (`new` is False for a repeat). `size` = (width, height)
    scales every picture to it."""
    fps, frames = iter_video_frames(fileobj, size=size)
    rate = float(target_fps or fps)
    first = next(frames, None)
    if first is None:
        return rate, 1.0, iter(())
    aspect = first[1].shape[0] / first[1].shape[1]

    def slots():
        count = 0
        start = first[0]
        for seconds, rgb in itertools.chain([first], frames):
            shown_until = seconds - start + 0.5 / fps  # this picture covers the grid slots up to here
            new = True
            while count / rate <= shown_until:
                yield rgb, new
                new = False
                count += 1

    return rate, aspect, slots()


def extract_hands_from_video(fileobj, *, target_fps: float | None = None,
                             on_progress: Callable[[float], None] | None = None) -> VideoHands:
    """Hands on the video's pictures on the time grid of `target_fps` (see grid_frames), so frame k
    has t = k / fps exactly; MediaPipe runs once per distinct picture."""
    expected = _frame_estimate(fileobj)
    rate, aspect, slots = grid_frames(fileobj, target_fps)
    if expected and target_fps:
        expected = int(expected * rate / (_video_rate(fileobj) or rate))
    hands: list[dict] = []
    with HandTracker(tracking=True) as tracker:
        for rgb, new in slots:
            hands.append(tracker.detect(rgb) if new or not hands else hands[-1])
            if on_progress is not None and expected and len(hands) % 15 == 0:
                on_progress(min(len(hands) / expected, 0.99))
    if not hands:
        return VideoHands(None, rate, 0, aspect)
    if on_progress is not None:
        on_progress(1.0)
    timestamps = np.arange(len(hands), dtype=np.float64) / rate
    return VideoHands(batch_from_hands(timestamps, hands), rate, len(hands), aspect)


def encode_mp4(path, pictures, fps: int) -> int:
    """Write RGB pictures (even width and height) to an H.264 MP4 at `fps`; how many were written."""
    written = 0
    with av.open(str(path), mode="w") as container:
        stream = None
        for rgb in pictures:
            if stream is None:
                stream = container.add_stream("libx264", rate=fps)
                stream.height, stream.width = rgb.shape[0] // 2 * 2, rgb.shape[1] // 2 * 2
                stream.pix_fmt = "yuv420p"
                stream.options = {"crf": "23", "preset": "veryfast"}
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb[: stream.height, : stream.width]),
                                               format="rgb24")
            for packet in stream.encode(frame):
                container.mux(packet)
            written += 1
        if stream is not None:
            for packet in stream.encode():
                container.mux(packet)
    return written


def _video_rate(fileobj) -> float | None:
    position = fileobj.tell()
    try:
        with av.open(fileobj, mode="r") as container:
            rate = _rate(container.streams.video[0])
            return float(rate) if rate else None
    except (av.error.FFmpegError, IndexError):
        return None
    finally:
        fileobj.seek(position)


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

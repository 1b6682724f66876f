"""Training test data: sessions made through the services and synthetic hands (frames generated here,
never shipped recordings)."""

import importlib.util
import io
import math
from pathlib import Path

import numpy as np

from accounts.models import Role
from accounts.tests.factories import OrganizationFactory, member
from robots.catalogue import DEXTEROUS_HAND_SLUG
from training import services
from training.frames import FRAME_VALUES, HAND_VALUES, LANDMARKS, FrameBatch


def open_hand(curl: float = 0.0, x: float = 0.5, y: float = 0.6, size: float = 0.25) -> np.ndarray:
    """(21, 3) landmarks of a right hand, palm to the camera, fingers up (so its thumb is on the image's
    right in an unmirrored picture); `curl` (0..1) bends every finger towards the palm."""
    points = np.zeros((LANDMARKS, 3))
    points[0] = (x, y, 0.0)
    finger_roots = [(0.35, -0.25), (0.15, -0.55), (0.0, -0.6), (-0.15, -0.55), (-0.3, -0.45)]
    lengths = [0.18, 0.16, 0.12]
    bend = curl * math.radians(70)
    for f, (dx, dy) in enumerate(finger_roots):
        base = 1 + 4 * f
        root = np.array([x + dx * size, y + dy * size, 0.0])
        points[base] = root
        direction = np.array([dx * 0.3, -1.0, 0.0])
        direction /= np.linalg.norm(direction)
        position = root
        for k in range(3):
            angle = bend * (k + 1)
            step = np.array([direction[0] * math.cos(angle), direction[1] * math.cos(angle), -math.sin(angle) * 0.8])
            position = position + step * lengths[k] * size * 2.2
            points[base + k + 1] = position
    return points


def synthetic_batch(n: int = 30, *, fps: int = 30, start: float = 0.0, left: bool = False, right: bool = True,
                    gap_every: int = 0) -> FrameBatch:
    """n frames of a hand slowly closing and opening; `gap_every` drops the right hand every k-th frame."""
    values = np.zeros((n, 2, HAND_VALUES), dtype=np.float32)
    for i in range(n):
        curl = 0.5 - 0.5 * math.cos(2 * math.pi * i / max(n, 2))
        for h, wanted in enumerate((left, right)):
            if not wanted or (gap_every and h == 1 and i % gap_every == gap_every - 1):
                continue
            values[i, h, : LANDMARKS * 3] = open_hand(curl, x=0.35 + 0.3 * h).reshape(-1)
            values[i, h, LANDMARKS * 3:] = (1.0, 0.97, 0.9)
    timestamps = start + np.arange(n, dtype=np.float64) / fps
    return FrameBatch(timestamps, values.reshape(n, FRAME_VALUES))


def frames_json(batch: FrameBatch) -> list[dict]:
    return batch.to_json()


def training_session(organization=None, *, owner=None, robot_model=None, name="Pinch demos", task="Pinch the cube",
                     fps=30, **extra):
    organization = organization or OrganizationFactory()
    owner = owner or member(organization, Role.EDITOR)
    if robot_model == "hand":
        from robots.tests.factories import robot_model as catalogue_model

        robot_model = catalogue_model(DEXTEROUS_HAND_SLUG)
    return services.create_session(actor=owner, organization=organization, name=name, task=task, fps=fps,
                                   robot_model=robot_model, **extra)


def recorded_session(organization=None, *, episodes=(30, 45), robot_model="hand", **kwargs):
    """A session with closed episodes of synthetic frames."""
    session = training_session(organization, robot_model=robot_model, **kwargs)
    for n in episodes:
        services.ingest_frames(actor=session.owner, session=session, batch=synthetic_batch(n, fps=session.fps),
                               end_episode=True)
    session.refresh_from_db()
    return session


def hand_photo() -> np.ndarray | None:
    """A real photo crop with a hand MediaPipe finds (from the installed ultralytics wheel's assets, which
    the project never copies); None when the package is not installed."""
    spec = importlib.util.find_spec("ultralytics")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / "assets" / "zidane.jpg"
    if not path.exists():
        return None
    from PIL import Image

    with Image.open(path) as image:
        return np.asarray(image.convert("RGB").crop((800, 320, 1120, 640)).resize((320, 320)))


def jpeg(rgb: np.ndarray, quality: int = 85) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()


def write_video(path: Path, frames: list[np.ndarray], fps: int = 30) -> Path:
    """An H.264 MP4 of RGB frames (PyAV)."""
    import av

    height, width = frames[0].shape[:2]
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        for rgb in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path

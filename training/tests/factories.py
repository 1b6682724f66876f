"""Training test data: sessions made through the services and synthetic hands (frames generated here,
never shipped recordings)."""

import importlib.util
import io
from pathlib import Path

import numpy as np

from accounts.models import Role
from accounts.tests.factories import OrganizationFactory, member
from robots.catalogue import DEXTEROUS_HAND_SLUG
from training import services
from training.frames import FrameBatch
from training.synthetic import open_hand, synthetic_batch  # noqa: F401 - re-exported for tests


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

"""Building a LeRobot dataset from a session: stream episodes from the database, retarget, write
(training/lerobot.py), pack a zip and publish it to storage atomically.

The dataset is written in a private work directory and published by one storage save of the finished
archive; the export row points at it only after that save. A worker killed half way leaves at most
a work directory, which the redelivered job removes before it starts over.
"""

import contextlib
import logging
import queue
import shutil
import threading
import time
import zipfile
from pathlib import Path

import numpy as np
import psycopg
from django.conf import settings
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import connection, connections, transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone
from django.utils.text import slugify

from .frames import HAND_VALUES, HANDS, LANDMARKS, FrameBatch
from .models import DatasetExport, Episode, FrameChunk, TrainingSession
from .retarget import LANDMARK_NAMES, hand_spec_from_joints, retarget
from .services import publish_export_progress

logger = logging.getLogger(__name__)

STATE_KEY = "observation.state"
ACTION_KEY = "action"
CAMERA_KEY = "observation.images.camera"
CAMERA_MAX_WIDTH = 640
PROGRESS_INTERVAL = 0.25
AXES = ("x", "y", "z")
STATE_NAMES = [f"{hand}_{landmark}_{axis}" for hand in HANDS for landmark in LANDMARK_NAMES for axis in AXES] + [
    f"{hand}_present" for hand in HANDS
]
STATE_DIM = len(STATE_NAMES)


def state_from_batch(batch: FrameBatch) -> np.ndarray:
    """(n, 128) float32: both hands' 21 × (x, y, z) (zeros where absent) then the two presence flags."""
    n = len(batch)
    hands = batch.values.reshape(n, 2, HAND_VALUES)
    state = np.empty((n, STATE_DIM), dtype=np.float32)
    state[:, : 2 * LANDMARKS * 3] = hands[:, :, : LANDMARKS * 3].reshape(n, -1)
    state[:, 2 * LANDMARKS * 3:] = batch.present
    return state


def action_from_batch(batch: FrameBatch, spec, hand: str, aspect: float = 1.0) -> np.ndarray:
    """(n, joints) float32 retargeted from `hand`; a frame where that hand is not seen holds the last
    seen pose (the robot keeps its position), zeros clamped to the limits before the first one."""
    h = HANDS.index(hand)
    present = batch.present[:, h]
    action = retarget(batch.landmarks[:, h], spec, present, hand=hand, aspect=aspect)
    if present.any() and not present.all():
        last_seen = np.maximum.accumulate(np.where(present, np.arange(len(batch)), -1))
        seen = last_seen >= 0
        action[seen] = action[last_seen[seen]]
    return action


def _episodes_with_frames(session: TrainingSession):
    """(episode, FrameBatch) in episode order, one episode in memory at a time."""
    episodes = list(session.episodes.filter(frame_count__gt=0).exclude(
        status__in=[Episode.Status.PROCESSING, Episode.Status.FAILED]).order_by("index"))
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        for episode in episodes:
            yield episode, _episode_batch(episode.pk)
        return
    # PostgreSQL outside a transaction: the next episodes are read by a second thread (on its own
    # connection) while this one writes; both spend their time outside the GIL (psycopg waiting,
    # pyarrow writing). The queue holds two episodes at most, so memory stays bounded.
    ahead: queue.Queue = queue.Queue(maxsize=2)
    stop = threading.Event()

    def read_ahead():
        try:
            for episode in episodes:
                if stop.is_set():
                    return
                ahead.put((episode, _episode_batch(episode.pk)))
            ahead.put(None)
        except BaseException as exc:  # handed to the writing thread, which raises it
            ahead.put(exc)
        finally:
            connections.close_all()

    reader = threading.Thread(target=read_ahead, name="export-read-ahead", daemon=True)
    reader.start()
    try:
        while (item := ahead.get()) is not None:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        while reader.is_alive():  # unblock a reader waiting on a full queue
            with contextlib.suppress(queue.Empty):
                ahead.get(timeout=0.1)
        reader.join()


def _episode_batch(episode_id: int) -> FrameBatch:
    return FrameBatch.concatenate([FrameBatch.unpack(t, v) for t, v in _chunk_blobs(episode_id)])


def _chunk_blobs(episode_id: int) -> list[tuple[bytes, bytes]]:
    """An episode's (timestamps, values) blobs in order. On PostgreSQL they are fetched in binary:
    Django reads bytea as hex text, twice the bytes and a decode of each (half an export's time)."""
    if connection.vendor != "postgresql":
        return list(FrameChunk.objects.filter(episode_id=episode_id).order_by("seq")
                    .values_list("timestamps", "values"))
    quote = connection.ops.quote_name
    table = quote(FrameChunk._meta.db_table)
    columns = f"{quote('timestamps')}, {quote('values')}"
    sql = f"SELECT {columns} FROM {table} WHERE episode_id = %s ORDER BY seq"  # noqa: S608 - fixed identifiers
    connection.ensure_connection()
    # Django's cursors bind client side, which cannot return binary results; a plain psycopg cursor can.
    with psycopg.Cursor(connection.connection) as cursor:
        cursor.execute(sql, [episode_id], binary=True)
        return cursor.fetchall()


def dataset_name(session: TrainingSession, export: DatasetExport) -> str:
    return f"{slugify(session.name)[:60] or 'session'}-{session.pk}-v{export.data_version}"


def _work_dir(export_id: int) -> Path:
    return Path(settings.TRAINING_EXPORT_WORK_DIR) / f"export-{export_id}"


def _pack(root: Path, archive: Path, prefix: str) -> None:
    """Zip the dataset; parquet and video are already compressed, so they are stored as they are."""
    with zipfile.ZipFile(archive, "w") as packed:
        for path in sorted(root.rglob("*")):
            if path.is_file():
                compress = zipfile.ZIP_STORED if path.suffix in (".parquet", ".mp4") else zipfile.ZIP_DEFLATED
                packed.write(path, f"{prefix}/{path.relative_to(root)}", compress_type=compress)


def _camera_size(session: TrainingSession) -> tuple[int, int]:
    """(width, height) of the dataset's camera video: the first episode's pictures, at most
    CAMERA_MAX_WIDTH wide, even sides (every episode is scaled to it)."""
    from .video import probe_video

    first = session.episodes.filter(frame_count__gt=0).exclude(video="").order_by("index").first()
    with first.video.open("rb") as video:
        probe = probe_video(video)
    width, height = probe["width"], probe["height"]
    if width > CAMERA_MAX_WIDTH:
        width, height = CAMERA_MAX_WIDTH, round(height * CAMERA_MAX_WIDTH / width)
    return width // 2 * 2, height // 2 * 2


def _camera_pictures(episode: Episode, fps: int, size: tuple[int, int], n: int):
    """Exactly n pictures for the episode's n frames, from its video on the session's time grid (a
    video a picture or two shorter than its landmarks holds its last picture)."""
    from .video import grid_frames

    yielded, last = 0, None
    with episode.video.open("rb") as video:
        _, _, slots = grid_frames(video, fps, size=size)
        for rgb, _new in slots:
            if yielded == n:
                break
            last, yielded = rgb, yielded + 1
            yield rgb
    if last is None:
        raise ValueError(f"Episode {episode.index}'s video has no pictures.")
    for _ in range(n - yielded):
        yield last


def build_dataset(session: TrainingSession, root: Path, *, include_video: bool = False, on_progress=None) -> dict:
    """Write the session's LeRobot dataset into `root`; returns info.json's dict."""
    from .lerobot import LeRobotWriter

    features = {STATE_KEY: {"dtype": "float32", "shape": [STATE_DIM], "names": STATE_NAMES}}
    spec = None
    if session.robot_model_id:
        spec = hand_spec_from_joints(session.robot_model.slug, session.robot_model.joints)
        features[ACTION_KEY] = {"dtype": "float32", "shape": [len(spec.joints)], "names": list(spec.joint_names)}
    robot_type = session.robot_model.slug if session.robot_model_id else "human_hand"
    camera_size = _camera_size(session) if include_video else None
    if camera_size is not None:
        width, height = camera_size
        features[CAMERA_KEY] = {"dtype": "video", "shape": [height, width, 3],
                                "names": ["height", "width", "channels"]}
    total = max(session.frame_count, 1)
    done = 0
    writer = LeRobotWriter(root, fps=session.fps, features=features, robot_type=robot_type,
                           data_file_size_mb=settings.TRAINING_EXPORT_FILE_MB,
                           video_keys=(CAMERA_KEY,) if camera_size else ())
    for episode, batch in _episodes_with_frames(session):
        frames = {STATE_KEY: state_from_batch(batch)}
        if spec is not None:
            frames[ACTION_KEY] = action_from_batch(batch, spec, session.action_hand, episode.aspect)
        video = {CAMERA_KEY: _camera_pictures(episode, session.fps, camera_size, len(batch))} if camera_size else None
        writer.add_episode(task=session.task, frames=frames, video_frames=video)
        done += len(batch)
        if on_progress is not None:
            on_progress(min(done / total, 1.0))
    return writer.finish()


def run_dataset_export(*, export_id: int) -> DatasetExport:
    """Build, pack and publish one export (idempotent: a finished export is returned as it is)."""
    export = DatasetExport.objects.select_related("session__robot_model").get(pk=export_id)
    if export.status in (DatasetExport.Status.COMPLETED, DatasetExport.Status.FAILED):
        return export
    session = export.session
    started = time.monotonic()
    DatasetExport.objects.filter(pk=export.pk).update(status=DatasetExport.Status.RUNNING, attempts=F("attempts") + 1,
                                                      started_at=timezone.now(), progress=0.0, stage="writing",
                                                      error="")
    export.refresh_from_db()
    publish_export_progress(export)
    work = _work_dir(export.pk)
    shutil.rmtree(work, ignore_errors=True)  # what a killed attempt left behind
    work.mkdir(parents=True)
    last: list = [0.0, time.monotonic(), "writing"]

    def report(fraction: float, stage: str = "writing") -> None:
        # Writing is 90 % of the bar; packing and publishing the rest. At most every 5 % and every
        # PROGRESS_INTERVAL seconds: each report is a database write and an event (a few ms).
        export.progress, export.stage = fraction, stage
        now = time.monotonic()
        if stage != last[2] or (fraction - last[0] >= 0.05 and now - last[1] >= PROGRESS_INTERVAL):
            last[:] = [fraction, now, stage]
            DatasetExport.objects.filter(pk=export.pk).update(progress=fraction, stage=stage)
            publish_export_progress(export)

    try:
        name = dataset_name(session, export)
        if session.data_version != export.data_version:
            raise ValueError("The session changed after this export was requested; request a new export.")
        info = build_dataset(session, work / name, include_video=export.include_video,
                             on_progress=lambda f: report(0.9 * f))
        report(0.92, "packing")
        archive_path = work / f"{name}.zip"
        _pack(work / name, archive_path, name)
        report(0.96, "publishing")
        storage_name = f"training/exports/{session.pk}/{export.pk}/{name}.zip"
        if default_storage.exists(storage_name):
            default_storage.delete(storage_name)  # a killed attempt's upload, never referenced
        with archive_path.open("rb") as archive:
            saved = default_storage.save(storage_name, File(archive, name=f"{name}.zip"))
        size = archive_path.stat().st_size
    except Exception as exc:
        logger.exception("export %s failed", export.pk)
        DatasetExport.objects.filter(pk=export.pk).update(status=DatasetExport.Status.FAILED, error=str(exc)[:500],
                                                          finished_at=timezone.now())
        export.refresh_from_db()
        publish_export_progress(export, error=export.error)
        shutil.rmtree(work, ignore_errors=True)
        return export
    with transaction.atomic():
        DatasetExport.objects.filter(pk=export.pk).update(
            status=DatasetExport.Status.COMPLETED, progress=1.0, stage="done", archive=saved, archive_size=size,
            episode_count=info["total_episodes"], frame_count=info["total_frames"], info=info,
            finished_at=timezone.now())
        TrainingSession.objects.filter(pk=session.pk, data_version=export.data_version).update(
            status=TrainingSession.Status.EXPORTED)
    shutil.rmtree(work, ignore_errors=True)
    export.refresh_from_db()
    publish_export_progress(export, frames=export.frame_count, episodes=export.episode_count,
                            archive_size=export.archive_size, seconds=round(time.monotonic() - started, 3),
                            download_url=reverse("api:training-export-download", args=[export.pk]))
    return export

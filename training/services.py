"""Every write in training: sessions, frame ingest, episodes, gesture labels, video uploads and
LeRobot exports. Progress goes out on the organisation's event stream."""

import logging

import psycopg
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone

from accounts import audit
from accounts.models import AuditLog, Organization, User
from core.events import publish_org_event
from core.exceptions import Conflict, DomainError
from robots.models import RobotModel

from .frames import FrameBatch, FrameError, check_follows
from .models import DatasetExport, Episode, FrameChunk, GestureData, TrainingSession

logger = logging.getLogger(__name__)

# Changing one of these changes what an export contains.
_VERSIONED_FIELDS = ("task", "robot_model_id", "action_hand", "fps")
_EDITABLE_FIELDS = ("name", "task", "robot_model", "action_hand", "fps")


def _check_robot_model(robot_model: RobotModel | None) -> None:
    if robot_model is None:
        return
    from .retarget import hand_spec_from_joints

    try:
        hand_spec_from_joints(robot_model.slug, robot_model.joints)
    except ValueError as exc:
        raise ValidationError({"robot_model": [f"{robot_model.name} cannot be driven by a human hand: {exc}"]}) from exc


@transaction.atomic
def create_session(*, actor: User, organization: Organization, name: str, task: str, fps: int = 30,
                   robot_model: RobotModel | None = None, action_hand: str = TrainingSession.Hand.RIGHT
                   ) -> TrainingSession:
    _check_robot_model(robot_model)
    session = TrainingSession(organization=organization, owner=actor, name=name, task=task, fps=fps,
                              robot_model=robot_model, action_hand=action_hand)
    session.full_clean()
    session.save()
    audit.record(action=AuditLog.Action.CREATE, actor=actor, organization=organization, instance=session,
                 after=audit.snapshot(session))
    return session


@transaction.atomic
def update_session(*, actor: User, session: TrainingSession, **changes) -> TrainingSession:
    """Edit a session's description, target robot or hand; `status: completed` finishes recording."""
    session = TrainingSession.objects.select_for_update().get(pk=session.pk)
    before = audit.snapshot(session)
    new_status = changes.pop("status", None)
    unknown = set(changes) - set(_EDITABLE_FIELDS)
    if unknown:
        raise ValidationError({field: ["This field cannot be changed."] for field in sorted(unknown)})
    if "fps" in changes and changes["fps"] != session.fps and session.frame_count:
        raise Conflict("The frame rate cannot change once frames are recorded.", code="fps_locked")
    if "robot_model" in changes:
        _check_robot_model(changes["robot_model"])
    for field, value in changes.items():
        setattr(session, field, value)
    if new_status is not None and new_status != session.status:
        if new_status != TrainingSession.Status.COMPLETED or session.status != TrainingSession.Status.RECORDING:
            raise Conflict(f"A {session.status} session cannot become {new_status}; only recording → completed "
                           "is done by hand (exports set the rest).", code="invalid_transition")
        _complete(session)
    session.full_clean()
    after = audit.snapshot(session)
    if any(before.get(f) != after.get(f) for f in _VERSIONED_FIELDS):
        session.data_version += 1
        if session.status == TrainingSession.Status.EXPORTED:
            session.status = TrainingSession.Status.COMPLETED
    session.save()
    before_changed, after_changed = audit.changed_fields(before, audit.snapshot(session))
    before_changed.pop("updated_at", None)
    after_changed.pop("updated_at", None)
    if after_changed:
        audit.record(action=AuditLog.Action.UPDATE, actor=actor, organization=session.organization, instance=session,
                     before=before_changed, after=after_changed)
    return session


def _complete(session: TrainingSession) -> None:
    """Close open episodes (not ones still processing a video) and mark the session completed."""
    if session.episodes.filter(status=Episode.Status.PROCESSING).exists():
        raise Conflict("A video is still being processed; complete the session when it is done.",
                       code="video_processing")
    session.episodes.filter(status=Episode.Status.OPEN).update(status=Episode.Status.CLOSED, closed_at=timezone.now())
    session.status = TrainingSession.Status.COMPLETED
    session.completed_at = timezone.now()


@transaction.atomic
def delete_session(*, actor: User, session: TrainingSession) -> None:
    archives = [name for name in session.exports.exclude(archive="").values_list("archive", flat=True)]
    videos = [name for name in session.episodes.exclude(video="").values_list("video", flat=True)]
    audit.record(action=AuditLog.Action.DELETE, actor=actor, organization=session.organization, instance=session,
                 before=audit.snapshot(session))
    session.delete()
    transaction.on_commit(lambda: _delete_files(archives + videos))


def _delete_files(names: list[str]) -> None:
    from django.core.files.storage import default_storage

    for name in names:
        try:
            default_storage.delete(name)
        except Exception:  # noqa: BLE001 - a missing file must not undo a committed delete
            logger.warning("could not delete %s from storage", name, exc_info=True)


# --- frames -------------------------------------------------------------------------------------
def _locked_recording_session(session: TrainingSession) -> TrainingSession:
    session = TrainingSession.objects.select_for_update().get(pk=session.pk)
    if not session.accepts_frames:
        raise Conflict(f"This session is {session.status}; it takes no more frames.", code="session_not_recording")
    return session


def _new_episode(session: TrainingSession, source: str, status: str = Episode.Status.OPEN) -> Episode:
    episode = Episode.objects.create(session=session, index=session.episode_count, source=source, status=status)
    session.episode_count += 1
    return episode


def _validated_gestures(gestures: list[dict], frame_count: int) -> list[dict]:
    errors = []
    for k, gesture in enumerate(gestures):
        start, end = gesture["start_frame"], gesture["end_frame"]
        if end < start:
            errors.append(f"gestures[{k}]: end_frame {end} is before start_frame {start}.")
        elif end >= frame_count:
            errors.append(f"gestures[{k}]: end_frame {end} is past the episode's last frame ({frame_count - 1}).")
    if errors:
        raise ValidationError({"gestures": errors})
    return gestures


@transaction.atomic
def ingest_frames(*, actor: User, session: TrainingSession, batch: FrameBatch, episode_index: int | None = None,
                  gestures: list[dict] = (), end_episode: bool = False,
                  source: str = Episode.Source.API, aspect: float = 1.0) -> dict:
    """Append a validated batch to an open episode (or a new one when `episode_index` is None),
    with optional gesture labels; all or nothing. Returns where the frames went."""
    session = _locked_recording_session(session)
    if episode_index is None:
        episode = _new_episode(session, source)
        episode.aspect = aspect
    else:
        episode = Episode.objects.filter(session=session, index=episode_index).first()
        if episode is None:
            raise ValidationError({"episode": [f"This session has no episode {episode_index}."]})
        if episode.status != Episode.Status.OPEN:
            raise Conflict(f"Episode {episode_index} is {episode.get_status_display().lower()}; start a new one "
                           "with episode: null.", code="episode_closed")
    try:
        check_follows(batch, episode.last_timestamp)
    except FrameError as exc:
        raise ValidationError({exc.field: [exc.message]}) from exc
    first_frame = episode.frame_count
    _validated_gestures(list(gestures), first_frame + len(batch))
    _store_batch(session, episode, batch)
    for gesture in gestures:
        GestureData.objects.create(episode=episode, **gesture)
    if end_episode:
        episode.status = Episode.Status.CLOSED
        episode.closed_at = timezone.now()
    episode.save()
    session.data_version += 1
    session.save()
    audit.record(action=AuditLog.Action.UPDATE, actor=actor, organization=session.organization, instance=session,
                 after={"episode": episode.index, "frames_added": len(batch), "first_frame": first_frame,
                        "gestures_added": len(gestures), "episode_closed": bool(end_episode)})
    return {"episode": episode.index, "first_frame": first_frame, "frames_added": len(batch),
            "episode_frames": episode.frame_count, "episode_status": episode.status,
            "gestures_added": len(gestures), "session_frames": session.frame_count}


def _store_batch(session: TrainingSession, episode: Episode, batch: FrameBatch) -> None:
    """Write one chunk and keep the episode's and session's totals (both rows locked by the caller)."""
    timestamps, values = batch.pack()
    _insert_chunk(episode=episode, seq=episode.chunk_count, first_frame=episode.frame_count,
                  frame_count=len(batch), timestamps=timestamps, values=values)
    summary = batch.summary()
    previous_duration = episode.duration
    episode.chunk_count += 1
    episode.frame_count += summary["frames"]
    episode.last_timestamp = summary["last_timestamp"]
    episode.hands_present_frames += summary["hands_present_frames"]
    episode.confidence_sum += summary["confidence_sum"]
    episode.confidence_count += summary["confidence_count"]
    session.frame_count += summary["frames"]
    session.duration += episode.duration - previous_duration
    session.hands_present_frames += summary["hands_present_frames"]
    session.confidence_sum += summary["confidence_sum"]
    session.confidence_count += summary["confidence_count"]


def _insert_chunk(**row) -> None:
    """One FrameChunk row. On PostgreSQL the two blobs travel as binary parameters: Django binds
    parameters client side, which sends a 0.5 MB chunk as 1 MB of escaped text for the server to
    parse back (a third of an ingest's time); the raw insert runs in the same transaction."""
    if connection.vendor != "postgresql":
        FrameChunk.objects.create(**row)
        return
    quote = connection.ops.quote_name
    columns = ("episode_id", "seq", "first_frame", "frame_count", "timestamps", "values")
    target = f"{quote(FrameChunk._meta.db_table)} ({', '.join(quote(c) for c in columns)})"
    sql = "INSERT INTO " + target + " VALUES (%s, %s, %s, %s, %b, %b)"  # noqa: S608 - fixed identifiers
    connection.ensure_connection()
    # Django's cursors are psycopg ClientCursors (client-side binding); a plain Cursor binds on the server.
    with psycopg.Cursor(connection.connection) as cursor:
        cursor.execute(sql, [row["episode"].pk, row["seq"], row["first_frame"], row["frame_count"], row["timestamps"],
                             row["values"]])


@transaction.atomic
def start_episode(*, actor: User, session: TrainingSession, source: str = Episode.Source.LIVE) -> Episode:
    session = _locked_recording_session(session)
    episode = _new_episode(session, source)
    session.data_version += 1
    session.save()
    audit.record(action=AuditLog.Action.CREATE, actor=actor, organization=session.organization, instance=episode,
                 after={"session": session.pk, "index": episode.index, "source": source})
    return episode


@transaction.atomic
def append_to_episode(*, session: TrainingSession, episode: Episode, batch: FrameBatch,
                      aspect: float | None = None) -> Episode:
    """Live recording's periodic flush (audited when the episode closes, not per flush)."""
    session = _locked_recording_session(session)
    episode = Episode.objects.select_for_update().get(pk=episode.pk)
    if episode.status != Episode.Status.OPEN:
        raise Conflict("This episode is closed.", code="episode_closed")
    check_follows(batch, episode.last_timestamp)
    _store_batch(session, episode, batch)
    if aspect is not None and not episode.frame_count - len(batch):
        episode.aspect = aspect  # the first pictures of the take set it
    episode.save()
    session.data_version += 1
    session.save()
    return episode


@transaction.atomic
def close_episode(*, actor: User, episode: Episode) -> Episode:
    episode = Episode.objects.select_for_update().select_related("session__organization").get(pk=episode.pk)
    if episode.status == Episode.Status.OPEN:
        episode.status = Episode.Status.CLOSED
        episode.closed_at = timezone.now()
        episode.save(update_fields=["status", "closed_at"])
        audit.record(action=AuditLog.Action.UPDATE, actor=actor, organization=episode.session.organization,
                     instance=episode, before={"status": "open"},
                     after={"status": "closed", "frames": episode.frame_count})
    return episode


@transaction.atomic
def label_gesture(*, actor: User, episode: Episode, name: str, start_frame: int, end_frame: int,
                  confidence: float = 1.0) -> GestureData:
    """Label a span of an episode, in any status: labels stay in the platform and are not part of a
    LeRobot dataset, so they do not change what an export contains (no new data version)."""
    session = TrainingSession.objects.select_related("organization").get(pk=episode.session_id)
    episode = Episode.objects.select_for_update().get(pk=episode.pk)
    _validated_gestures([{"start_frame": start_frame, "end_frame": end_frame}], episode.frame_count)
    gesture = GestureData(episode=episode, name=name, start_frame=start_frame, end_frame=end_frame,
                          confidence=confidence)
    gesture.full_clean()
    gesture.save()
    audit.record(action=AuditLog.Action.CREATE, actor=actor, organization=session.organization, instance=gesture,
                 after=audit.snapshot(gesture))
    return gesture


# --- video ----------------------------------------------------------------------------------------
@transaction.atomic
def upload_video(*, actor: User, session: TrainingSession, video) -> Episode:
    """Store an uploaded video as a new episode; its landmarks are extracted in the background."""
    from . import tasks
    from .video import probe_video

    try:
        probe = probe_video(video)
    except ValueError as exc:
        raise ValidationError({"video": [str(exc)]}) from exc
    session = _locked_recording_session(session)
    episode = _new_episode(session, Episode.Source.VIDEO, status=Episode.Status.PROCESSING)
    episode.video.save(video.name or "upload.mp4", video, save=True)
    session.data_version += 1
    session.save()
    audit.record(action=AuditLog.Action.CREATE, actor=actor, organization=session.organization, instance=episode,
                 after={"session": session.pk, "index": episode.index, "source": "video", "video": probe})
    transaction.on_commit(lambda: tasks.extract_video_landmarks.delay(episode.pk))
    return episode


def attach_camera_video(*, episode_id: int, pictures, fps: int) -> Episode | None:
    """Encode a live episode's camera pictures (one per stored frame, in order) as its MP4, so an
    export can carry them as `observation.images.camera`. Returns None when there were none."""
    import tempfile
    from pathlib import Path

    from django.core.files import File

    from .video import encode_mp4

    with tempfile.TemporaryDirectory() as work:
        path = Path(work) / f"episode-{episode_id}.mp4"
        if not encode_mp4(path, pictures, fps):
            return None
        with transaction.atomic():
            episode = Episode.objects.select_for_update().select_related("session").get(pk=episode_id)
            with path.open("rb") as video:
                episode.video.save(f"live-{episode.session_id}-{episode.index}.mp4", File(video), save=False)
            episode.save(update_fields=["video"])
            TrainingSession.objects.filter(pk=episode.session_id).update(data_version=F("data_version") + 1)
    return episode


def publish_training_progress(episode: Episode, *, organization_id: int, **data) -> None:
    publish_org_event(organization_id, "training_progress",
                      {"session_id": episode.session_id, "episode": episode.index, "episode_id": episode.pk, **data})


def run_video_extraction(*, episode_id: int, progress=None) -> Episode:
    """Decode the episode's video, run MediaPipe Hands on every frame and store the frames, all in
    one transaction at the end (a crash stores nothing; a retry starts over)."""
    from .video import extract_hands_from_video

    episode = Episode.objects.select_related("session").get(pk=episode_id)
    if episode.status != Episode.Status.PROCESSING:
        return episode
    organization_id = episode.session.organization_id
    last_sent = [-1.0]

    def report(fraction: float) -> None:
        Episode.objects.filter(pk=episode.pk).update(progress=fraction)
        if fraction - last_sent[0] >= 0.05 or fraction >= 1.0:
            last_sent[0] = fraction
            publish_training_progress(episode, organization_id=organization_id, stage="extracting",
                                      progress=round(fraction, 3), status="processing")
        if progress is not None:
            progress(fraction)

    try:
        with episode.video.open("rb") as video:
            result = extract_hands_from_video(video, target_fps=episode.session.fps, on_progress=report)
    except ValueError as exc:
        return _fail_video_episode(episode, str(exc))
    if result.batch is None or not len(result.batch):
        return _fail_video_episode(episode, "The video has no frames.")
    if not result.batch.present.any():
        return _fail_video_episode(episode, "No hands were detected in the video.")
    with transaction.atomic():
        session = TrainingSession.objects.select_for_update().get(pk=episode.session_id)
        episode = Episode.objects.select_for_update().get(pk=episode.pk)
        if episode.status != Episode.Status.PROCESSING:
            return episode
        FrameChunk.objects.filter(episode=episode).delete()
        episode.frame_count = episode.chunk_count = 0
        episode.aspect = result.aspect
        for start in range(0, len(result.batch), settings.TRAINING_CHUNK_FRAMES):
            part = FrameBatch(result.batch.timestamps[start:start + settings.TRAINING_CHUNK_FRAMES],
                              result.batch.values[start:start + settings.TRAINING_CHUNK_FRAMES])
            _store_batch(session, episode, part)
        episode.status = Episode.Status.CLOSED
        episode.closed_at = timezone.now()
        episode.progress = 1.0
        episode.save()
        session.data_version += 1
        session.save()
    publish_training_progress(episode, organization_id=organization_id, stage="done", progress=1.0,
                              status="closed", frames=episode.frame_count, fps=result.fps,
                              duration=round(episode.duration, 3),
                              hands_present_ratio=round(episode.hands_present_frames / episode.frame_count, 4))
    return episode


def _fail_video_episode(episode: Episode, reason: str) -> Episode:
    Episode.objects.filter(pk=episode.pk).update(status=Episode.Status.FAILED, error=reason[:500])
    episode.refresh_from_db()
    publish_training_progress(episode, organization_id=episode.session.organization_id, stage="failed",
                              status="failed", error=reason)
    return episode


# --- exports --------------------------------------------------------------------------------------
def request_export(*, actor: User, session: TrainingSession, include_video: bool = False) -> tuple[DatasetExport, bool]:
    """The export of the session as it is now: the existing one when nothing changed since, else a
    new job (the session is completed first). Returns (export, created)."""
    with transaction.atomic():
        session = TrainingSession.objects.select_for_update().get(pk=session.pk)
        if session.episodes.filter(status=Episode.Status.PROCESSING).exists():
            raise Conflict("A video is still being processed; export when it is done.", code="video_processing")
        if not session.frame_count:
            raise DomainError({"session": ["This session has no frames to export yet: record or upload an "
                                           "episode first."]}, code="empty_session")
        if include_video:
            without = list(session.episodes.filter(frame_count__gt=0, video="").exclude(
                status__in=[Episode.Status.PROCESSING, Episode.Status.FAILED]).values_list("index", flat=True))
            if without:
                raise ValidationError({"include_video": [
                    "Every episode needs camera pictures for a video export; episode(s) "
                    f"{', '.join(map(str, without))} came without (frames sent through the API)."]})
        existing = (DatasetExport.objects.filter(session=session, data_version=session.data_version,
                                                 include_video=include_video)
                    .exclude(status=DatasetExport.Status.FAILED).first())
        if existing is not None:
            return existing, False
        if session.status == TrainingSession.Status.RECORDING:
            before = {"status": session.status}
            _complete(session)
            session.save()
            audit.record(action=AuditLog.Action.UPDATE, actor=actor, organization=session.organization,
                         instance=session, before=before, after={"status": session.status})
        try:
            with transaction.atomic():
                export = DatasetExport.objects.create(organization=session.organization, session=session,
                                                      requested_by=actor, data_version=session.data_version,
                                                      include_video=include_video)
        except IntegrityError:  # a concurrent request made it first
            return DatasetExport.objects.get(session=session, data_version=session.data_version,
                                             include_video=include_video, status__in=_LIVE_EXPORT), False
        audit.record(action=AuditLog.Action.CREATE, actor=actor, organization=session.organization, instance=export,
                     after=audit.snapshot(export))
        transaction.on_commit(lambda: _enqueue_export(export.pk))
    return export, True


_LIVE_EXPORT = (DatasetExport.Status.QUEUED, DatasetExport.Status.RUNNING, DatasetExport.Status.COMPLETED)


def _enqueue_export(export_id: int) -> None:
    from .tasks import export_lerobot_dataset

    export_lerobot_dataset.delay(export_id)


def publish_export_progress(export: DatasetExport, **data) -> None:
    publish_org_event(export.organization_id, "export_progress",
                      {"export_id": export.pk, "session_id": export.session_id, "status": export.status,
                       "progress": round(export.progress, 3), "stage": export.stage, **data})

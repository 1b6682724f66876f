"""Every write in posture: the pose catalogue and practice sessions (with their poses)."""

import logging
import time
from datetime import datetime
from zoneinfo import ZoneInfo

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from accounts import audit
from accounts.models import AuditLog, User

from .models import PracticePose, PracticeSession, YogaPose

logger = logging.getLogger(__name__)


# --- catalogue -------------------------------------------------------------------------------------
def load_pose_catalogue() -> int:
    """Create or refresh the shipped poses (posture/yoga_data.py); staff edits of a pose's texts and
    targets are overwritten only for fields the shipped catalogue defines. Returns how many."""
    from .yoga_data import POSES

    for spec in POSES:
        fields = {key: spec[key] for key in ("name", "sanskrit", "difficulty", "description", "instructions",
                                             "common_mistakes", "benefits", "targets") if key in spec}
        fields["targets"] = {joint: list(values) for joint, values in spec["targets"].items()}
        fields["side_refers_to"] = spec.get("side_refers_to") or ""
        YogaPose.objects.update_or_create(slug=spec["slug"], defaults=fields)
    return len(POSES)


def pose_named(name: str) -> YogaPose | None:
    """A catalogue pose by slug or name, ignoring case, spaces, hyphens and underscores."""
    key = "".join(ch for ch in (name or "").lower() if ch.isalnum())
    for pose in YogaPose.objects.filter(is_active=True):
        if key in ("".join(ch for ch in pose.slug.lower() if ch.isalnum()),
                   "".join(ch for ch in pose.name.lower() if ch.isalnum())):
            return pose
    return None


# --- posture of one picture -----------------------------------------------------------------------
def keypoints_json(keypoints) -> list[list[float]]:
    """Keypoints as the API and the socket answer them: [x, y] to 0.1 px, score to 0.001."""
    return [[round(float(x), 1), round(float(y), 1), round(float(s), 3)] for x, y, s in keypoints]


def posture_of_keypoints(keypoints, *, model: str, latency_ms: float) -> dict:
    """The posture answer shared by the API and the live socket; geometry.NoPersonDetected when
    there is not enough of a person to score."""
    from . import geometry

    result = geometry.posture_score_from_keypoints(keypoints)
    return {"keypoints": keypoints_json(keypoints), "keypoint_names": list(geometry.KEYPOINT_NAMES),
            "posture_score": result.score, "issues": result.issues, "measures": result.measures, "model": model,
            "latency_ms": latency_ms}


# --- practice sessions -----------------------------------------------------------------------------
def local_date(user: User, moment: datetime):
    """The day `moment` falls on in the user's timezone."""
    try:
        zone = ZoneInfo(user.timezone or "UTC")
    except (KeyError, ValueError):
        zone = ZoneInfo("UTC")
    return moment.astimezone(zone).date()


def _resolved_poses(poses: list[dict]) -> list[PracticePose]:
    resolved, unknown = [], []
    for order, item in enumerate(poses):
        pose = pose_named(item["pose_name"])
        if pose is None:
            unknown.append(item["pose_name"])
            continue
        resolved.append(PracticePose(order=order, pose=pose, pose_name=pose.name, accuracy=item["accuracy"],
                                     feedback=list(item.get("feedback", [])),
                                     improvements=list(item.get("improvements", []))))
    if unknown:
        raise ValidationError({"poses": [f"Unknown pose(s): {', '.join(map(repr, unknown))}; see "
                                         "/api/v1/yoga/poses."]})
    return resolved


def _average(poses: list[PracticePose], given: float | None) -> float | None:
    if given is not None:
        return round(float(given), 2)
    return round(sum(p.accuracy for p in poses) / len(poses), 2) if poses else None


def _snapshot(session: PracticeSession) -> dict:
    return {**audit.snapshot(session), "poses": [{"pose_name": p.pose_name, "accuracy": p.accuracy}
                                                 for p in session.poses.all()]}


@transaction.atomic
def create_practice_session(*, user: User, duration: float, poses: list[dict], avg_accuracy: float | None = None,
                            started_at: datetime | None = None, notes: str = "") -> PracticeSession:
    """A finished practice: `duration` in minutes; `avg_accuracy` from the poses when not given."""
    started_at = started_at or timezone.now()
    resolved = _resolved_poses(poses)
    session = PracticeSession(user=user, started_at=started_at, date=local_date(user, started_at),
                              duration=duration, avg_accuracy=_average(resolved, avg_accuracy), notes=notes)
    session.full_clean()
    session.save()
    for pose in resolved:
        pose.session = session
    PracticePose.objects.bulk_create(resolved)
    audit.record(action=AuditLog.Action.CREATE, actor=user, instance=session, after=_snapshot(session))
    return session


@transaction.atomic
def replace_practice_session(*, user: User, session: PracticeSession, duration: float, poses: list[dict],
                             avg_accuracy: float | None = None, started_at: datetime | None = None,
                             notes: str = "") -> PracticeSession:
    """PUT: the session becomes exactly what was sent (its poses are replaced)."""
    before = _snapshot(session)
    resolved = _resolved_poses(poses)
    if started_at is not None:
        session.started_at, session.date = started_at, local_date(user, started_at)
    session.duration, session.notes = duration, notes
    session.avg_accuracy = _average(resolved, avg_accuracy)
    session.full_clean()
    session.save()
    session.poses.all().delete()
    for pose in resolved:
        pose.session = session
    PracticePose.objects.bulk_create(resolved)
    after = _snapshot(session)
    audit.record(action=AuditLog.Action.UPDATE, actor=user, instance=session, before=before, after=after)
    return session


@transaction.atomic
def delete_practice_session(*, user: User, session: PracticeSession) -> None:
    audit.record(action=AuditLog.Action.DELETE, actor=user, instance=session, before=_snapshot(session))
    session.delete()


# --- posture analyses of videos ----------------------------------------------------------------------
def _fetch_video(url: str, into) -> None:
    """Download a video a user pointed at (http/https, at most POSTURE_MAX_VIDEO_BYTES)."""
    import httpx
    from django.conf import settings

    limit = settings.POSTURE_MAX_VIDEO_BYTES
    with httpx.stream("GET", url, timeout=30, follow_redirects=True) as response:
        if response.status_code != 200:
            raise ValueError(f"The video URL answered HTTP {response.status_code}.")
        size = 0
        for chunk in response.iter_bytes():
            size += len(chunk)
            if size > limit:
                raise ValueError(f"The video at the URL is larger than {limit // (1024 * 1024)} MB.")
            into.write(chunk)
    into.seek(0)


@transaction.atomic
def create_analysis(*, user: User, text: str = "", video=None, video_url: str = "", model: str | None = None,
                    sample_fps: float = 2.0):
    """A posture analysis of an uploaded video or a video URL; the frames are analysed in the
    background (Celery), with `analysis_progress` events to the user."""
    from django.conf import settings

    from training.video import probe_video

    from . import tasks
    from .models import PostureAnalysis

    if bool(video) == bool(video_url):
        raise ValidationError({"video": ["Send either a video file or a video_url (one of them)."]})
    if video is not None:
        try:
            probe_video(video)
        except ValueError as exc:
            raise ValidationError({"video": [str(exc)]}) from exc
    analysis = PostureAnalysis(user=user, text=text, video_url=video_url or "",
                               model=model or settings.DEFAULT_POSE_MODEL, sample_fps=sample_fps)
    analysis.full_clean(exclude=["video"])
    analysis.save()
    if video is not None:
        analysis.video.save(video.name or "video.mp4", video, save=True)
    audit.record(action=AuditLog.Action.CREATE, actor=user, instance=analysis,
                 after={"text": text[:200], "video_url": video_url, "video": analysis.video.name, "model": analysis.model})
    transaction.on_commit(lambda: tasks.analyse_posture_video.delay(analysis.pk))
    return analysis


@transaction.atomic
def delete_analysis(*, user: User, analysis) -> None:
    name = analysis.video.name
    audit.record(action=AuditLog.Action.DELETE, actor=user, instance=analysis,
                 before={"status": analysis.status, "video": name, "video_url": analysis.video_url})
    analysis.delete()
    if name:
        from django.core.files.storage import default_storage

        transaction.on_commit(lambda: default_storage.delete(name))


def _summary(series: list[dict]) -> dict:
    scored = [point["score"] for point in series if point["score"] is not None]
    issues: dict[str, int] = {}
    for point in series:
        for code in point["issues"]:
            issues[code] = issues.get(code, 0) + 1
    return {
        "frames_analysed": len(series), "frames_with_person": len(scored),
        "mean_score": round(sum(scored) / len(scored), 1) if scored else None,
        "min_score": round(min(scored), 1) if scored else None, "max_score": round(max(scored), 1) if scored else None,
        "issues": [{"code": code, "frames": count, "share": round(count / len(scored), 3) if scored else 0.0}
                   for code, count in sorted(issues.items(), key=lambda item: -item[1])],
    }


def run_posture_analysis(*, analysis_id: int):
    """Sample the video, run the pose model and the posture score on each sample, store the series
    and the summary at the end (a crash stores nothing; the retried job starts over)."""
    import tempfile

    from core.events import publish_user_event
    from training.video import grid_frames

    from . import geometry
    from .estimators import ModelUnavailable, get_estimator
    from .models import PostureAnalysis

    analysis = PostureAnalysis.objects.get(pk=analysis_id)
    if analysis.status in (PostureAnalysis.Status.COMPLETED, PostureAnalysis.Status.FAILED):
        return analysis
    PostureAnalysis.objects.filter(pk=analysis.pk).update(status=PostureAnalysis.Status.PROCESSING, progress=0.0)

    def event(**data):
        publish_user_event([analysis.user_id], "analysis_progress", {"analysis_id": analysis.pk, **data})

    def fail(reason: str):
        PostureAnalysis.objects.filter(pk=analysis.pk).update(status=PostureAnalysis.Status.FAILED, error=reason[:500],
                                                              finished_at=timezone.now())
        event(status="failed", error=reason)
        analysis.refresh_from_db()
        return analysis

    event(status="processing", progress=0.0)
    try:
        estimator = get_estimator(analysis.model)
    except ModelUnavailable as exc:
        return fail(str(exc))
    series: list[dict] = []
    with tempfile.TemporaryFile() as spool:
        try:
            if analysis.video:
                with analysis.video.open("rb") as stored:
                    for chunk in iter(lambda: stored.read(1 << 20), b""):
                        spool.write(chunk)
                spool.seek(0)
            else:
                _fetch_video(analysis.video_url, spool)
            rate, _, slots = grid_frames(spool, analysis.sample_fps)
            last_sent = 0.0
            for rgb, new in slots:
                t = round(len(series) / rate, 3)
                if not new and series:
                    series.append({**series[-1], "t": t})
                    continue
                try:
                    result = geometry.posture_score_from_keypoints(estimator.estimate(rgb))
                    series.append({"t": t, "score": round(result.score, 1),
                                   "issues": [issue["code"] for issue in result.issues]})
                except geometry.NoPersonDetected:
                    series.append({"t": t, "score": None, "issues": []})
                if time.monotonic() - last_sent >= 1.0:
                    last_sent = time.monotonic()
                    event(status="processing", frames=len(series))
        except (ValueError, OSError) as exc:
            return fail(str(exc) or "The video could not be read.")
        except Exception as exc:  # httpx errors and the like: the user sees why, the log has the trace
            logger.exception("posture analysis %s failed", analysis.pk)
            return fail(f"The video could not be analysed: {exc.__class__.__name__}.")
    if not series:
        return fail("The video has no frames.")
    summary = _summary(series)
    if not summary["frames_with_person"]:
        return fail("No person detected in the video.")
    PostureAnalysis.objects.filter(pk=analysis.pk).update(status=PostureAnalysis.Status.COMPLETED, progress=1.0,
                                                          series=series, summary=summary, finished_at=timezone.now())
    event(status="completed", progress=1.0, mean_score=summary["mean_score"])
    analysis.refresh_from_db()
    return analysis

"""Every write in posture: the pose catalogue and practice sessions (with their poses)."""

from datetime import datetime
from zoneinfo import ZoneInfo

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from accounts import audit
from accounts.models import AuditLog, User

from .models import PracticePose, PracticeSession, YogaPose


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

"""Reads in posture: a person's practice sessions and their statistics, and the pose catalogue."""

from datetime import date, timedelta

from django.db.models import Avg, Count, Max, Prefetch, QuerySet, Sum
from django.utils import timezone
from rest_framework.exceptions import NotFound

from accounts.models import User

from .models import PracticePose, PracticeSession, YogaPose
from .services import local_date


def poses() -> QuerySet[YogaPose]:
    return YogaPose.objects.filter(is_active=True)


def practice_sessions_for(user: User) -> QuerySet[PracticeSession]:
    return PracticeSession.objects.filter(user=user).prefetch_related(
        Prefetch("poses", queryset=PracticePose.objects.order_by("order", "id")))


def practice_session_for(user: User, session_id) -> PracticeSession:
    session = practice_sessions_for(user).filter(pk=session_id).first() if str(session_id).isdigit() else None
    if session is None:
        raise NotFound("No such practice session.")
    return session


def _streak(days: set[date], today: date) -> int:
    """Consecutive days with practice, ending today — or yesterday, so a streak is not lost before
    today's practice."""
    day = today if today in days else today - timedelta(days=1)
    streak = 0
    while day in days:
        streak += 1
        day -= timedelta(days=1)
    return streak


def practice_stats(user: User, *, days: int = 30, today: date | None = None) -> dict:
    """Dashboard figures in the user's timezone: this week (from Monday), all time, the current
    streak and `days` days of per-day history (days without practice included, for charts)."""
    today = today or local_date(user, timezone.now())
    week_start = today - timedelta(days=today.weekday())
    sessions = PracticeSession.objects.filter(user=user)
    per_day = {row["date"]: row for row in sessions.values("date").annotate(
        minutes=Sum("duration"), sessions=Count("id"), avg_accuracy=Avg("avg_accuracy"))}
    totals = sessions.aggregate(minutes=Sum("duration"), count=Count("id"), accuracy=Avg("avg_accuracy"))
    this_week = [row for day, row in per_day.items() if week_start <= day <= today]
    history = []
    for offset in range(days - 1, -1, -1):
        day = today - timedelta(days=offset)
        row = per_day.get(day)
        history.append({"date": day, "minutes": round(row["minutes"], 1) if row else 0.0,
                        "sessions": row["sessions"] if row else 0,
                        "avg_accuracy": round(row["avg_accuracy"], 1) if row and row["avg_accuracy"] is not None
                        else None})
    return {
        "sessions_this_week": sum(row["sessions"] for row in this_week),
        "minutes_this_week": round(sum(row["minutes"] for row in this_week), 1),
        "mindful_minutes": round(totals["minutes"] or 0.0, 1),
        "current_streak": _streak(set(per_day), today),
        "total_sessions": totals["count"],
        "total_avg_accuracy": round(totals["accuracy"], 1) if totals["accuracy"] is not None else None,
        "timezone": user.timezone,
        "today": today,
        "history": history,
    }


def practice_summary(user: User, *, weeks: int = 12, today: date | None = None) -> dict:
    """Per pose (times held, average and best accuracy, last practised) and per week (last `weeks`)."""
    today = today or local_date(user, timezone.now())
    per_pose = (PracticePose.objects.filter(session__user=user).values("pose_name")
                .annotate(times=Count("id"), avg_accuracy=Avg("accuracy"), best_accuracy=Max("accuracy"),
                          last_practised=Max("session__date")).order_by("-times", "pose_name"))
    first_week = today - timedelta(days=today.weekday(), weeks=weeks - 1)
    weekly: dict[date, dict] = {first_week + timedelta(weeks=k): {"sessions": 0, "minutes": 0.0, "accuracy": []}
                                for k in range(weeks)}
    for day, duration, accuracy in (PracticeSession.objects.filter(user=user, date__gte=first_week, date__lte=today)
                                    .values_list("date", "duration", "avg_accuracy")):
        week = weekly[day - timedelta(days=day.weekday())]
        week["sessions"] += 1
        week["minutes"] += duration
        if accuracy is not None:
            week["accuracy"].append(accuracy)
    return {
        "poses": [{**row, "avg_accuracy": round(row["avg_accuracy"], 1), "best_accuracy": round(row["best_accuracy"], 1)}
                  for row in per_pose],
        "weekly": [{"week_start": start, "sessions": week["sessions"], "minutes": round(week["minutes"], 1),
                    "avg_accuracy": round(sum(week["accuracy"]) / len(week["accuracy"]), 1) if week["accuracy"]
                    else None} for start, week in weekly.items()],
        "most_practised_pose": per_pose[0]["pose_name"] if per_pose else None,
    }

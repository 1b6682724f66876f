"""Yoga practice sessions through HTTP: create/list/get/update/delete, validation, isolation between
people, audit, and the statistics (streaks in the user's timezone)."""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import AuditLog
from accounts.tests.factories import UserFactory
from posture import selectors, services
from posture.models import PracticeSession

pytestmark = pytest.mark.django_db

SESSIONS = "/api/v1/yoga/sessions"


@pytest.fixture(autouse=True)
def catalogue():
    services.load_pose_catalogue()


def practice(user, day: date, minutes: float = 20, accuracy: float = 80.0, poses=("Mountain",)):
    started = datetime(day.year, day.month, day.day, 12, tzinfo=ZoneInfo(user.timezone))
    return services.create_practice_session(
        user=user, duration=minutes, started_at=started,
        poses=[{"pose_name": name, "accuracy": accuracy} for name in poses])


def test_create_as_in_the_source_system(client_for):
    user = UserFactory()
    body = {"duration": 25, "poses": [
        {"pose_name": "Mountain", "accuracy": 92.5, "feedback": ["Good alignment"], "improvements": []},
        {"pose_name": "warrior-ii", "accuracy": 77.5, "feedback": [], "improvements": ["Bend the front knee"]}]}
    response = client_for(user).post(SESSIONS, body, format="json")
    assert response.status_code == 201, response.content
    created = response.json()
    assert created["duration"] == 25 and created["avg_accuracy"] == 85.0  # computed from the poses
    assert [p["pose_name"] for p in created["poses"]] == ["Mountain", "Warrior II"]
    assert created["date"] == timezone.now().date().isoformat()
    row = AuditLog.objects.get(object_type="posture.practicesession", action="create")
    assert row.actor == user and row.after["poses"][1]["accuracy"] == 77.5
    given = client_for(user).post(SESSIONS, {**body, "avg_accuracy": 90}, format="json").json()
    assert given["avg_accuracy"] == 90


@pytest.mark.parametrize("body, field", [
    ({"duration": -1, "poses": []}, "duration"),
    ({"duration": 10, "poses": [{"pose_name": "Mountain", "accuracy": 101}]}, "poses"),
    ({"duration": 10, "poses": [{"pose_name": "Mountain", "accuracy": -3}]}, "poses"),
    ({"duration": 10, "poses": [{"pose_name": "Flying Carpet", "accuracy": 50}]}, "poses"),
    ({"duration": 10, "avg_accuracy": 150}, "avg_accuracy"),
    ({"duration": "long"}, "duration"),
    ({"poses": []}, "duration"),
    ({"duration": 10, "mood": "calm"}, "mood"),
    ({"duration": 10, "started_at": "2999-01-01T00:00:00Z"}, "started_at"),
])
def test_bad_sessions_are_400_with_the_field(client_for, body, field):
    response = client_for(UserFactory()).post(SESSIONS, body, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json()["error"]["fields"]
    assert not PracticeSession.objects.exists()


def test_another_persons_session_is_404(client_for):
    mine, theirs = UserFactory(), UserFactory()
    session = practice(theirs, date.today())
    client = client_for(mine)
    for method in ("get", "delete"):
        assert getattr(client, method)(f"{SESSIONS}/{session.pk}").status_code == 404
    assert client.put(f"{SESSIONS}/{session.pk}", {"duration": 1}, format="json").status_code == 404
    assert client.get(SESSIONS).json()["count"] == 0
    assert PracticeSession.objects.filter(pk=session.pk).exists()


def test_anonymous_is_401(api_client):
    assert api_client.get(SESSIONS).status_code == 401
    assert api_client.get(f"{SESSIONS}/stats").status_code == 401


def test_put_replaces_and_delete_removes_with_audit(client_for):
    user = UserFactory()
    session = practice(user, date.today(), poses=("Mountain", "Chair"))
    client = client_for(user)
    replaced = client.put(f"{SESSIONS}/{session.pk}", {"duration": 40, "poses": [
        {"pose_name": "Tree", "accuracy": 60}]}, format="json")
    assert replaced.status_code == 200, replaced.content
    assert replaced.json()["duration"] == 40 and [p["pose_name"] for p in replaced.json()["poses"]] == ["Tree"]
    assert replaced.json()["avg_accuracy"] == 60
    update = AuditLog.objects.get(object_type="posture.practicesession", action="update")
    assert [p["pose_name"] for p in update.before["poses"]] == ["Mountain", "Chair"]
    assert client.delete(f"{SESSIONS}/{session.pk}").status_code == 204
    assert AuditLog.objects.filter(object_type="posture.practicesession", action="delete").exists()


def test_list_query_count_is_constant(client_for):
    user = UserFactory()
    practice(user, date.today())
    client = client_for(user)
    client.get(SESSIONS)
    with CaptureQueriesContext(connection) as few:
        client.get(SESSIONS)
    for k in range(6):
        practice(user, date.today() - timedelta(days=k), poses=("Mountain", "Chair", "Tree"))
    with CaptureQueriesContext(connection) as many:
        assert client.get(SESSIONS).json()["count"] == 7
    assert len(many) == len(few)


def test_stats_streak_week_and_history(client_for):
    user = UserFactory(timezone="Asia/Tokyo")
    today = datetime.now(ZoneInfo("Asia/Tokyo")).date()
    for k in (0, 1, 2, 4):  # today, yesterday, the day before, then a gap
        practice(user, today - timedelta(days=k), minutes=10 + k, accuracy=70 + k)
    practice(user, today, minutes=5, accuracy=90)
    stats = client_for(user).get(f"{SESSIONS}/stats", {"days": 7}).json()
    assert stats["current_streak"] == 3
    assert stats["mindful_minutes"] == 10 + 11 + 12 + 14 + 5
    assert stats["total_sessions"] == 5
    assert stats["total_avg_accuracy"] == round((70 + 71 + 72 + 74 + 90) / 5, 1)
    week_start = today - timedelta(days=today.weekday())
    expected_week = [d for d in (0, 0, 1, 2, 4) if today - timedelta(days=d) >= week_start]
    assert stats["sessions_this_week"] == len(expected_week)
    assert len(stats["history"]) == 7 and stats["history"][-1]["date"] == today.isoformat()
    assert stats["history"][-1] == {"date": today.isoformat(), "minutes": 15.0, "sessions": 2, "avg_accuracy": 80.0}
    assert stats["history"][-4]["sessions"] == 0 and stats["history"][-4]["avg_accuracy"] is None
    assert client_for(user).get(f"{SESSIONS}/stats", {"days": 0}).status_code == 400


def test_streak_counts_yesterday_and_breaks_after_a_gap():
    user = UserFactory()
    today = date(2026, 11, 27)
    practice(user, today - timedelta(days=1))
    practice(user, today - timedelta(days=2))
    assert selectors.practice_stats(user, today=today)["current_streak"] == 2  # not lost before today's practice
    assert selectors.practice_stats(user, today=today + timedelta(days=1))["current_streak"] == 0


def test_the_day_is_the_users_day():
    user = UserFactory(timezone="America/Los_Angeles")
    late_evening = datetime(2026, 11, 27, 5, 30, tzinfo=UTC)  # 21:30 on the 26th in Los Angeles
    session = services.create_practice_session(user=user, duration=15, started_at=late_evening,
                                               poses=[{"pose_name": "Mountain", "accuracy": 80}])
    assert session.date == date(2026, 11, 26)


def test_summary_per_pose_and_week(client_for):
    user = UserFactory()
    today = timezone.now().date()
    practice(user, today, accuracy=80, poses=("Mountain", "Chair"))
    practice(user, today, accuracy=90, poses=("Mountain",))
    summary = client_for(user).get("/api/v1/yoga/analytics/summary").json()
    mountain = next(p for p in summary["poses"] if p["pose_name"] == "Mountain")
    assert mountain["times"] == 2 and mountain["avg_accuracy"] == 85.0 and mountain["best_accuracy"] == 90.0
    assert summary["most_practised_pose"] == "Mountain"
    assert len(summary["weekly"]) == 12 and summary["weekly"][-1]["sessions"] == 2

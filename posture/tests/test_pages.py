"""The posture and yoga pages through the Django test client: sign-in required, the live posture
page's socket settings, the yoga page's catalogue and the dashboard's figures."""

import json
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.tests.factories import UserFactory
from posture import geometry, services

pytestmark = pytest.mark.django_db

PAGES = ["posture:live", "posture:yoga-practice", "posture:yoga-dashboard"]


@pytest.fixture(autouse=True)
def catalogue():
    services.load_pose_catalogue()


@pytest.fixture
def user(db):
    return UserFactory()


def json_script(body: str, element_id: str) -> dict:
    opening = f'<script id="{element_id}" type="application/json">'
    start = body.index(opening) + len(opening)
    return json.loads(body[start:body.index("</script>", start)])


def practice(user, *, days_ago: int, minutes: float = 20, poses=(("Mountain", 80.0),)):
    return services.create_practice_session(
        user=user, duration=minutes, started_at=timezone.now() - timedelta(days=days_ago),
        poses=[{"pose_name": name, "accuracy": accuracy} for name, accuracy in poses])


@pytest.mark.parametrize("name", PAGES)
def test_anonymous_is_sent_to_sign_in(client, name):
    response = client.get(reverse(name))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


def test_the_pages_live_at_their_paths():
    assert [reverse(name) for name in PAGES] == ["/posture/", "/yoga/", "/yoga/dashboard/"]


def test_posture_page_configures_the_socket_and_the_skeleton(client, user):
    client.force_login(user)
    response = client.get(reverse("posture:live"))
    body = response.content.decode()
    assert response.status_code == 200
    config = json_script(body, "posture-config")
    assert config["socketPath"] == "/ws/v1/posture/mediapipe/"
    assert len(config["keypointNames"]) == 17 and config["keypointNames"][0] == "nose"
    assert config["bones"] == [list(bone) for bone in geometry.BONES]
    assert 'data-testid="score-gauge"' in body and 'data-testid="keypoint-overlay"' in body
    assert 'data-testid="nav-posture" aria-current="page"' in body
    assert "js/posture-live.js" in body
    # A person without an organisation may use it too (practice is personal).
    assert response.context["user"].memberships.count() == 0


def test_yoga_page_lists_the_catalogue(client, user):
    client.force_login(user)
    response = client.get(reverse("posture:yoga-practice"))
    body = response.content.decode()
    assert response.status_code == 200
    config = json_script(body, "yoga-config")
    names = {pose["name"] for pose in config["poses"]}
    assert {"Mountain", "Chair", "Tree", "Warrior II"} <= names and len(names) == 11
    mountain = next(pose for pose in config["poses"] if pose["slug"] == "mountain")
    assert mountain["instructions"] and "targets" in mountain
    assert config["apiRoot"] == "/api/v1/yoga/"
    assert config["dashboardUrl"] == "/yoga/dashboard/"
    assert '<option value="mountain">Mountain' in body
    assert 'data-testid="nav-yoga" aria-current="page"' in body


def test_dashboard_shows_the_figures(client, user):
    for days_ago in (2, 1, 0):
        practice(user, days_ago=days_ago, minutes=15, poses=(("Mountain", 90.0), ("Chair", 70.0)))
    practice(UserFactory(), days_ago=0, minutes=99)  # someone else's practice is not counted
    client.force_login(user)
    response = client.get(reverse("posture:yoga-dashboard"))
    body = response.content.decode()
    assert response.status_code == 200
    assert '<span data-stat="current_streak" data-testid="streak">3</span>' in body
    assert '<dd data-stat="mindful_minutes">45</dd>' in body
    assert '<dd data-stat="total_sessions">3</dd>' in body
    assert '<dd data-stat="total_avg_accuracy">80%</dd>' in body
    assert json_script(body, "yoga-dashboard-config") == {"apiRoot": "/api/v1/yoga/", "days": 30}
    assert 'data-testid="nav-yoga" aria-current="page"' in body


def test_dashboard_renders_without_practice(client, user):
    client.force_login(user)
    body = client.get(reverse("posture:yoga-dashboard")).content.decode()
    assert '<span data-stat="current_streak" data-testid="streak">0</span>' in body
    assert '<dd data-stat="total_avg_accuracy">—</dd>' in body

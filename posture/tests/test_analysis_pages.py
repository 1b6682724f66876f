"""The video analysis pages through the Django test client: sign-in required, owner-only, the
server-drawn score chart and summary of a completed analysis, and a refused upload."""

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from accounts.tests.factories import UserFactory
from posture.models import PostureAnalysis

pytestmark = pytest.mark.django_db

SERIES = [
    {"t": 0.0, "score": 80.0, "issues": []},
    {"t": 0.5, "score": 60.0, "issues": ["neck_inclination"]},
    {"t": 1.0, "score": None, "issues": []},
    {"t": 1.5, "score": 70.0, "issues": ["neck_inclination"]},
    {"t": 2.0, "score": 90.0, "issues": []},
]
SUMMARY = {"frames_analysed": 5, "frames_with_person": 4, "mean_score": 75.0, "min_score": 60.0,
           "max_score": 90.0, "issues": [{"code": "neck_inclination", "frames": 2, "share": 0.5}]}


def completed(user, **fields):
    return PostureAnalysis.objects.create(
        user=user, text="Desk work", video_url="https://example.com/v.mp4", status=PostureAnalysis.Status.COMPLETED,
        progress=1.0, series=SERIES, summary=SUMMARY, finished_at=timezone.now(), **fields)


@pytest.mark.parametrize("url", ["/posture/analyses/", "/posture/analyses/1/"])
def test_anonymous_is_sent_to_sign_in(client, url):
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


def test_the_list_shows_only_own_analyses(client):
    user, other = UserFactory(), UserFactory()
    mine = completed(user)
    theirs = completed(other)
    client.force_login(user)
    body = client.get(reverse("posture:analyses")).content.decode()
    assert f'data-analysis-id="{mine.pk}"' in body
    assert f'data-analysis-id="{theirs.pk}"' not in body
    assert "Completed" in body and "75" in body
    assert reverse("posture:analysis-detail", args=[mine.pk]) in body


def test_another_users_analysis_is_404(client):
    theirs = completed(UserFactory())
    client.force_login(UserFactory())
    assert client.get(reverse("posture:analysis-detail", args=[theirs.pk])).status_code == 404


def test_a_completed_analysis_draws_the_score_chart_and_summary(client):
    user = UserFactory()
    analysis = completed(user)
    client.force_login(user)
    response = client.get(reverse("posture:analysis-detail", args=[analysis.pk]))
    body = response.content.decode()
    assert response.status_code == 200
    assert 'data-points="4"' in body
    # The null score breaks the line: two segments of two points each, one point per scored sample.
    lines = re.findall(r'<polyline class="yoga-chart__line" points="([^"]+)"', body)
    assert [len(points.split()) for points in lines] == [2, 2]
    assert len(re.findall(r"<circle ", body)) == 4
    first = [tuple(map(float, p.split(","))) for p in lines[0].split()]
    second = [tuple(map(float, p.split(","))) for p in lines[1].split()]
    assert first[0][0] == 36.0 and second[-1][0] == 592.0  # t=0 at the left, t=max at the right
    assert first[1][1] > first[0][1]  # a score of 60 sits lower (larger y) than 80
    assert '<dd data-stat="frames_analysed">5</dd>' in body
    assert '<dd data-stat="frames_with_person">4</dd>' in body
    assert '<dd data-stat="mean_score">75</dd>' in body
    assert '<dd data-stat="min_score">60</dd>' in body and '<dd data-stat="max_score">90</dd>' in body
    assert 'data-issue="neck_inclination"' in body and "50%" in body


def test_a_non_video_upload_shows_the_error_and_creates_nothing(client):
    user = UserFactory()
    client.force_login(user)
    upload = SimpleUploadedFile("notes.mp4", b"this is not a video", content_type="video/mp4")
    response = client.post(reverse("posture:analyses"), {"text": "hello", "video": upload})
    body = response.content.decode()
    assert response.status_code == 400
    assert 'data-testid="form-errors"' in body and "not a video" in body
    assert not PostureAnalysis.objects.exists()


def test_an_upload_without_a_file_is_refused(client):
    client.force_login(UserFactory())
    response = client.post(reverse("posture:analyses"), {"text": "hello"})
    assert response.status_code == 400
    assert "Choose a video file" in response.content.decode()
    assert not PostureAnalysis.objects.exists()

"""A person uses the posture and yoga pages in headless Chromium against a live daphne server: the
dashboard draws its charts and streak from three days of practice; the live posture page, fed a
portrait (skimage's astronaut) by a fake camera, scores it through the posture socket and draws the
skeleton; the yoga page analyses the same camera against Mountain and saves the practice."""

from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
from django.utils import timezone

from accounts.tests.factories import UserFactory
from posture import services
from posture.models import PracticeSession
from tests import harness
from tests.browser import sign_in, write_y4m

pytestmark = [pytest.mark.browser, pytest.mark.live, pytest.mark.slow]

CAMERA_SIZE = (640, 480)
SHOTS = Path("/tmp/shots")


@pytest.fixture
def astronaut_camera(tmp_path):
    """A Y4M file showing skimage's astronaut (public domain, 512×512) scaled into a grey 640×480 picture."""
    from skimage import data
    from skimage.transform import resize

    width, height = CAMERA_SIZE
    portrait = (resize(data.astronaut(), (height, height), anti_aliasing=True) * 255).astype(np.uint8)
    picture = np.full((height, width, 3), 128, dtype=np.uint8)
    left = (width - height) // 2
    picture[:, left:left + height] = portrait
    return write_y4m(tmp_path / "astronaut.y4m", picture)


@pytest.fixture
def camera_page(browser, daphne_server, astronaut_camera):
    """A page in a Chromium of its own whose camera plays the astronaut (the shared browser was
    launched without it); started from the same Playwright, which allows one instance per thread."""
    args = [*harness.CHROMIUM_ARGS, f"--use-file-for-fake-video-capture={astronaut_camera}"]
    camera_browser = browser.browser_type.launch(executable_path=harness.CHROMIUM, headless=True, args=args)
    try:
        context = camera_browser.new_context(viewport={"width": 1280, "height": 900})
        context.grant_permissions(["camera"], origin=daphne_server.url)
        page = context.new_page()
        page.set_default_timeout(20_000)
        yield page
    finally:
        camera_browser.close()


@pytest.fixture
def person(transactional_db):
    services.load_pose_catalogue()  # a transactional test's flush removes what the migration loaded
    return UserFactory()


def test_dashboard_draws_three_days_of_practice(page, daphne_server, person):
    for days_ago in (2, 1, 0):
        services.create_practice_session(
            user=person, duration=10 + 5 * days_ago, started_at=timezone.now() - timedelta(days=days_ago),
            poses=[{"pose_name": "Mountain", "accuracy": 70 + 5 * days_ago}, {"pose_name": "Chair", "accuracy": 60}])
    base = daphne_server.url
    sign_in(page, base, person)

    page.goto(f"{base}/yoga/dashboard/")
    page.locator("[data-yoga-dashboard][data-loaded=true]").wait_for()
    assert page.get_attribute("[data-testid=minutes-chart]", "data-bars") == "3"
    assert page.get_attribute("[data-testid=accuracy-chart]", "data-points") == "3"
    assert page.locator("[data-testid=minutes-chart] rect").count() == 3
    assert page.locator("[data-testid=accuracy-chart] polyline").count() == 1
    assert page.locator("[data-testid=streak]").inner_text() == "3"
    rows = page.locator("[data-testid=pose-row]")
    assert rows.count() == 2
    assert rows.nth(0).inner_text().split("\t")[:2] in (["Chair", "3"], ["Mountain", "3"])
    assert page.locator("[data-testid=session-row]").count() == 3
    assert page.locator("[data-testid=dashboard-errors] .notice").count() == 0
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "yoga-dashboard.png"), full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})
    page.reload()
    page.locator("[data-yoga-dashboard][data-loaded=true]").wait_for()
    page.screenshot(path=str(SHOTS / "yoga-dashboard-390.png"), full_page=True)


def test_live_posture_from_a_fake_camera(camera_page, daphne_server, person):
    page = camera_page
    base = daphne_server.url
    sign_in(page, base, person)

    page.goto(f"{base}/posture/")
    page.locator("[data-testid=socket-status][data-state=live]").wait_for()
    page.click("[data-testid=camera-button]")
    page.locator("[data-testid=score-gauge][data-score]").wait_for(timeout=60_000)
    page.wait_for_function(
        "() => document.querySelector('[data-testid=keypoint-overlay]').dataset.keypoints === '17'")
    score = int(page.get_attribute("[data-testid=score-gauge]", "data-score"))
    assert 0 <= score <= 100
    assert page.locator("[data-testid=score-gauge] [data-gauge-number]").text_content() == str(score)
    assert int(page.get_attribute("[data-testid=keypoint-overlay]", "data-keypoints-seen")) >= 5
    # The issues list shows each issue with its penalty, or says there is nothing to adjust.
    assert page.locator("[data-testid=issues] li").count() >= 1
    if score < 100:
        assert page.locator("[data-testid=issue]").first.inner_text().count("−") == 1
    assert page.locator("[data-testid=latency]").inner_text().endswith("ms")
    assert page.locator("[data-testid=posture-errors] .notice--error").count() == 0
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "posture-live.png"), full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})
    page.screenshot(path=str(SHOTS / "posture-live-390.png"), full_page=True)


def test_yoga_practice_is_analysed_and_saved(camera_page, daphne_server, person):
    page = camera_page
    base = daphne_server.url
    sign_in(page, base, person)

    page.goto(f"{base}/yoga/")
    page.select_option("[data-testid=pose-select]", "mountain")
    page.click("[data-testid=camera-button]")
    # The astronaut is a portrait: the API may well answer 422 not_enough_keypoints, shown as a hint.
    page.wait_for_function("""() => {
        const accuracy = document.querySelector("[data-testid=accuracy]").dataset.accuracy;
        const hint = document.querySelector("[data-testid=pose-hint]");
        return accuracy !== undefined || (!hint.hidden && hint.textContent.includes("Not enough of you is visible"));
    }""", timeout=60_000)
    assert page.locator("[data-testid=yoga-errors] .notice--error").count() == 0
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "yoga-practice.png"), full_page=True)

    page.click("[data-testid=save-session]")
    page.locator("[data-testid=saved-dashboard-link]").wait_for()
    session = PracticeSession.objects.get(user=person)
    assert session.duration >= 0.1
    accuracy = page.locator("[data-testid=accuracy]").get_attribute("data-accuracy")
    if accuracy is not None:
        assert [pose.pose_name for pose in session.poses.all()] == ["Mountain"]
    page.set_viewport_size({"width": 390, "height": 844})
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(SHOTS / "yoga-practice-390.png"), full_page=True)

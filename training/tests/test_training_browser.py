"""A person uses the training pages in headless Chromium against a live daphne server: the session
page draws its charts and exports a LeRobot dataset to download; the recording page, fed a real
hand by a fake camera, records an episode through the recording socket."""

import zipfile
from io import BytesIO

import numpy as np
import pytest

from accounts.models import Role
from accounts.tests.factories import OrganizationFactory, member
from tests import harness
from tests.browser import sign_in, write_y4m
from training.models import DatasetExport, Episode

from .factories import hand_photo, recorded_session, training_session

pytestmark = [pytest.mark.browser, pytest.mark.live, pytest.mark.slow]

CAMERA_SIZE = (640, 480)


@pytest.fixture
def hand_camera(tmp_path):
    """A Y4M file showing a real hand in the middle of a grey 640×480 picture."""
    photo = hand_photo()
    if photo is None:
        pytest.fail("ultralytics' assets are missing: make test installs requirements/dev-nodeps.txt")
    width, height = CAMERA_SIZE
    picture = np.full((height, width, 3), 128, dtype=np.uint8)
    top, left = (height - photo.shape[0]) // 2, (width - photo.shape[1]) // 2
    picture[top:top + photo.shape[0], left:left + photo.shape[1]] = photo
    return write_y4m(tmp_path / "hand.y4m", picture)


def test_session_page_charts_and_exports_a_dataset(page, daphne_server, transactional_db):
    organization = OrganizationFactory()
    editor = member(organization, Role.EDITOR)
    session = recorded_session(organization, episodes=(30, 45), owner=editor, name="Browser pinches")
    base = daphne_server.url
    sign_in(page, base, editor)

    page.goto(f"{base}/training/{session.pk}/")
    charts = page.locator("[data-episode] [data-testid=timeline-chart]")
    assert charts.count() == 2
    # Charts load as they scroll into view.
    page.locator("[data-episode='0'] [data-testid=timeline-chart][data-drawn=true]").wait_for()
    page.locator("[data-episode='1'] [data-testid=timeline-chart]").scroll_into_view_if_needed()
    page.locator("[data-episode='1'] [data-testid=timeline-chart][data-drawn=true]").wait_for()
    assert page.get_attribute("[data-episode='1'] [data-testid=timeline-chart]", "data-points") == "45"
    # Something was painted: the canvas is not blank.
    painted = page.evaluate("""() => {
        const canvas = document.querySelector("[data-episode='1'] [data-testid=timeline-chart]");
        const pixels = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
        let coloured = 0;
        for (let i = 3; i < pixels.length; i += 4) if (pixels[i] > 0) coloured += 1;
        return coloured;
    }""")
    assert painted > 500

    page.click("[data-testid=export-button]")
    page.locator("[data-testid=export-progress][value='100']").wait_for(timeout=30_000)
    download = page.locator("[data-testid=export-download]")
    download.wait_for(state="visible")
    export = DatasetExport.objects.get(session=session)
    assert export.status == DatasetExport.Status.COMPLETED
    href = download.get_attribute("href")
    assert href.endswith(f"/api/v1/training/exports/{export.pk}/download")
    page.locator("[data-testid=session-status]").filter(has_text="Exported").wait_for()

    response = page.request.get(href)
    assert response.status == 200
    archive = response.body()
    assert archive[:2] == b"PK"
    names = zipfile.ZipFile(BytesIO(archive)).namelist()
    assert any(name.endswith("meta/info.json") for name in names)


def test_live_recording_from_a_fake_camera(browser, daphne_server, transactional_db, hand_camera):
    organization = OrganizationFactory()
    editor = member(organization, Role.EDITOR)
    session = training_session(organization, owner=editor, name="Live pinches")
    base = daphne_server.url
    args = [*harness.CHROMIUM_ARGS, f"--use-file-for-fake-video-capture={hand_camera}"]
    # A Chromium of its own, whose camera plays the file (the shared one was launched without it);
    # started from the same Playwright, which allows one instance per thread.
    camera_browser = browser.browser_type.launch(executable_path=harness.CHROMIUM, headless=True, args=args)
    try:
        context = camera_browser.new_context(viewport={"width": 1280, "height": 900})
        context.grant_permissions(["camera"], origin=base)
        page = context.new_page()
        page.set_default_timeout(20_000)
        sign_in(page, base, editor)

        page.goto(f"{base}/training/{session.pk}/record/")
        page.locator("[data-testid=socket-status][data-state=live]").wait_for()
        page.click("[data-testid=start-episode]")
        page.locator("[data-testid=stop-episode]").wait_for(state="visible")
        page.wait_for_function(
            "() => Number(document.querySelector('[data-testid=frames-recorded]').textContent) >= 5",
            timeout=60_000)
        # The overlay drew the landmarks of a hand (21 points each) on several replies.
        page.wait_for_function("""() => {
            const overlay = document.querySelector("[data-testid=landmark-overlay]");
            return Number(overlay.dataset.handsSeen) >= 3 && Number(overlay.dataset.landmarks) >= 21;
        }""")
        assert int(page.get_attribute("[data-testid=landmark-overlay]", "data-landmarks")) % 21 == 0
        assert page.locator("[data-testid=latency]").inner_text().endswith("ms")

        page.click("[data-testid=stop-episode]")
        page.locator("[data-testid=takes] li[data-episode='0']").wait_for()
        episode = Episode.objects.get(session=session, index=0)
        assert (episode.source, episode.status) == ("live", "closed")
        assert episode.frame_count >= 5
        assert episode.hands_present_frames >= 3

        # A label on the episode just stopped.
        page.fill("#gesture-name", "open palm")
        page.fill("#gesture-start", "0")
        page.fill("#gesture-end", "2")
        page.click("[data-testid=label-submit]")
        page.locator("[data-testid=labels] [data-testid=label]").filter(has_text="open palm").wait_for()
        assert list(episode.gestures.values_list("name", "start_frame", "end_frame")) == [("open palm", 0, 2)]
    finally:
        camera_browser.close()

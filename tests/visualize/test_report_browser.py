"""The report in a real headless browser (Debian's chromium over the DevTools protocol): every
picture decodes, every section is there, nothing is requested from the network; a screenshot is
written for people to look at. Skipped, with the reason, when chromium or websocket-client is absent."""

import os
from pathlib import Path
from urllib.parse import urlparse

import pytest
from cdp_browser import Browser, find_chromium
from visualize_helpers import decode_png, tiny_cnn_in_registry

from striate.visualize.report import write_report

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(find_chromium() is None, reason="needs Debian's chromium (apt-get install -y chromium)"),
]

SECTION_TITLES = {"overview": "Overview", "config": "Configuration", "summary": "Model summary and receptive fields",
                  "curves": "Training curves", "final": "Final figures",
                  "confusion": "Confusion matrix and most confused pairs", "top-losses": "Top losses",
                  "filters": "Learned filters", "one-image": "One test image through the network",
                  "top-patches": "Top activating patches",
                  "pixels": "What units and classes respond to, in pixels", "monitors": "Layer monitors", "advice": "Bias and variance"}


@pytest.fixture(scope="module")
def opened(tiny_cnn_run, tmp_path_factory):
    pytest.importorskip("websocket", reason="needs the websocket-client package (pip install websocket-client)")
    with tiny_cnn_in_registry():
        path = write_report(tiny_cnn_run, tmp_path_factory.mktemp("report") / "report.html")
    browser = Browser()
    try:
        browser.open(path)
        yield browser, path
    finally:
        browser.close()


def test_every_image_decoded_in_the_browser(opened):
    browser, _ = opened
    images = browser.evaluate("Array.from(document.images).map(i => [i.complete, i.naturalWidth, i.naturalHeight])")
    assert len(images) == 11
    assert all(complete and width > 0 and height > 0 for complete, width, height in images)


def test_every_section_is_present_with_its_heading(opened):
    browser, _ = opened
    found = browser.evaluate("Array.from(document.querySelectorAll('section')).map(s => [s.id, s.querySelector('h2').textContent])")
    assert dict(found) == SECTION_TITLES
    links = browser.evaluate("Array.from(document.querySelectorAll('nav a')).map(a => a.getAttribute('href'))")
    assert links == [f"#{anchor}" for anchor in SECTION_TITLES]


def test_nothing_is_requested_from_the_network(opened):
    browser, path = opened
    urls = browser.requested_urls()
    assert path.resolve().as_uri() in urls  # the recorder saw the page itself
    schemes = {urlparse(url).scheme for url in urls}
    assert schemes <= {"file", "data"}, f"network requests: {[u[:80] for u in urls if not u.startswith(('file:', 'data:'))]}"
    failed = [m for m in browser.events if m.get("method") == "Network.loadingFailed"]
    assert failed == []


def test_the_page_fits_a_laptop_screen_and_a_screenshot_is_written(opened, tmp_path):
    browser, _ = opened
    width = browser.evaluate("document.documentElement.scrollWidth")
    assert width <= 1366  # no horizontal scrolling at 1366 px
    shot = browser.screenshot(tmp_path / "report.png")
    assert decode_png(shot) == (1366, 768)
    full = browser.screenshot(tmp_path / "report-full.png", full_page=True)
    assert decode_png(full)[1] > 2000
    keep = os.environ.get("STRIATE_SCREENSHOT_DIR")  # set it to keep the screenshots for people to look at
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        for picture in (shot, full):
            (Path(keep) / picture.name).write_bytes(picture.read_bytes())


def test_the_request_recorder_does_see_network_requests(tmp_path):
    """The control for the test above: a page that loads a remote image is caught."""
    pytest.importorskip("websocket", reason="needs the websocket-client package (pip install websocket-client)")
    page = tmp_path / "leaky.html"
    page.write_text('<!DOCTYPE html><html><body><img src="http://127.0.0.1:9/pixel.png"></body></html>')
    with Browser() as browser:
        browser.open(page)
        assert "http://127.0.0.1:9/pixel.png" in browser.requested_urls()

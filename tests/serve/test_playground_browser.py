"""The playground end to end in a real headless browser (Debian's chromium driven by Playwright) against
the real 'striate playground' process: pick XOR, widen a layer, press Play, watch the step counter
advance, the test loss fall and the boundary take XOR's colours; Pause, Step, Reset and a changed
setting do what they say; nothing is fetched from elsewhere; a screenshot.

Set STRIATE_DOCS_SCREENSHOT=1 to also copy the screenshot to docs/images/playground.png.
"""

import os
import shutil
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
WAIT_MS = 180_000  # the longest wait for the network to get somewhere (a bound, never a measured figure)

pytestmark = pytest.mark.slow



@pytest.fixture
def served(striate_process):
    """'striate playground --port P' as a child process; yields its URL once the API answers."""
    with striate_process(["playground"], '/api/playground/options') as url:
        yield url


@pytest.fixture
def page(browser_page):
    return browser_page


BOUNDARY_PIXELS = "() => Array.from(document.querySelector('#boundary').getContext('2d').getImageData(0, 0, 320, 320).data)"
# the share of blue (class 1) pixels in a 15 x 15 patch of the boundary canvas around the plane's point (x, y)
BLUE_SHARE = """([x, y]) => {
    const canvas = document.querySelector('#boundary'), extent = 6;
    const cx = Math.round((x + extent) / (2 * extent) * canvas.width), cy = Math.round((extent - y) / (2 * extent) * canvas.height);
    const data = canvas.getContext('2d').getImageData(cx - 7, cy - 7, 15, 15).data;
    let blue = 0; for (let i = 0; i < data.length; i += 4) if (data[i + 2] > data[i] + 40) blue += 1;
    return blue / (data.length / 4); }"""


def wait_idle(page) -> None:
    page.wait_for_function("document.body.dataset.busy === '0'")


def test_xor_trains_live_and_the_page_redraws(served, page, tmp_path):
    requested, errors = [], []
    page.route("**/*", lambda route: (requested.append(route.request.url),
                                      route.continue_() if route.request.url.startswith(served) else route.abort()))
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(f"{served}/playground")
    page.wait_for_function("document.querySelector('#status').textContent.startsWith('ready')")

    page.click("#datasets button[data-data='xor']")  # a new session on XOR: step 0 again, a 4-2 network
    page.select_option("#lr", "0.1")
    for _ in range(2):
        page.click(".column[data-layer='1'] .more")  # the second hidden layer from 2 to 4 units
    page.select_option("#speed", "25")
    wait_idle(page)
    assert page.locator("#datasets button[aria-checked='true']").text_content() == "xor"
    assert page.locator(".column[data-layer='1'] .units-bar span").text_content() == "4 units"
    units = page.eval_on_selector_all("canvas.unit[data-layer]", "cs => cs.map(c => [c.dataset.layer, c.width])")
    assert sorted(units) == [["0", 24]] * 4 + [["1", 24]] * 4  # a canvas for every hidden unit, painted
    assert page.text_content("#step") == "0"
    first_loss = float(page.text_content("#test-loss"))
    first_boundary = page.evaluate(BOUNDARY_PIXELS)

    page.click("#play")
    page.wait_for_function("Number(document.body.dataset.step) >= 100", timeout=WAIT_MS)
    page.wait_for_function(f"parseFloat(document.querySelector('#test-loss').textContent) < {first_loss} - 0.1",
                           timeout=WAIT_MS)
    page.wait_for_function("parseFloat(document.querySelector('#test-accuracy').textContent) >= 95", timeout=WAIT_MS)
    page.click("#play")  # Pause
    wait_idle(page)
    assert page.text_content("#play") == "Play"
    paused_at = page.text_content("#step")
    assert page.evaluate(BOUNDARY_PIXELS) != first_boundary
    for x, y in [(3, 3), (-3, 3), (-3, -3), (3, -3)]:  # XOR: blue (class 1) where x and y share a sign
        share = page.evaluate(BLUE_SHARE, [x, y])
        assert share > 0.5 if x * y > 0 else share < 0.5, (x, y, share)
    spread = page.eval_on_selector_all("canvas.unit[data-layer]", """cs => cs.map(c => {
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data, seen = new Set();
        for (let i = 0; i < d.length; i += 4) seen.add(d[i] + ',' + d[i + 2]); return seen.size; })""")
    assert len(spread) == 8 and min(spread) > 3, spread  # every unit drawn, each a real picture of the plane

    page.wait_for_timeout(300)
    assert page.text_content("#step") == paused_at  # paused: no more steps
    screenshot = tmp_path / "playground.png"
    page.screenshot(path=str(screenshot), full_page=True)
    assert screenshot.stat().st_size > 10_000
    if os.environ.get("STRIATE_DOCS_SCREENSHOT"):
        (REPO_ROOT / "docs" / "images").mkdir(parents=True, exist_ok=True)
        shutil.copy(screenshot, REPO_ROOT / "docs" / "images" / "playground.png")

    page.click("#step-once")  # one update: 25 steps
    page.wait_for_function(f"Number(document.body.dataset.step) === {int(paused_at.replace(',', '')) + 25}")
    page.click("#reset")
    page.wait_for_function("document.body.dataset.step === '0' && document.body.dataset.busy === '0'")
    page.click("#step-once")
    page.wait_for_function("document.body.dataset.step === '25'")
    page.select_option("#activation", "relu")  # a changed setting starts again
    page.wait_for_function("document.body.dataset.step === '0' && document.body.dataset.busy === '0'")
    assert all(url.startswith(served) for url in requested), [u for u in requested if not u.startswith(served)]
    assert not errors, errors

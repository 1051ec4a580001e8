"""End to end in a real headless browser (Debian's chromium driven by Playwright): the real
'striate serve' process, a digit drawn with mouse events, the prediction and every layer's
feature maps appearing, nothing fetched from the network, and a screenshot.

Set STRIATE_DOCS_SCREENSHOT=1 to also copy the screenshot to docs/images/serve.png.
"""

import os
import shutil
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
SEVEN = [(70, 70), (210, 70), (200, 95), (160, 160), (130, 230)]  # a "7" on the 280x280 pad

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def browser_run(tmp_path_factory) -> Path:
    """LeNet-5 after one short epoch on part of the built-in MNIST subset: real conv feature maps."""
    from striate.session import train_run
    from striate.training.config import Config

    config = Config()
    config.data.test_fraction, config.data.val_fraction = 0.6, 0.1  # 1,500 training images keep it quick
    config.optim.epochs, config.optim.batch_size, config.optim.lr = 1, 32, 0.05
    config.run.out_dir, config.run.name, config.run.progress = str(tmp_path_factory.mktemp("runs")), "lenet5", "off"
    return Path(train_run(config)["run_dir"])



@pytest.fixture
def served(browser_run, striate_process):
    """'striate serve RUN --port P' as a child process; yields its URL once /api/model answers."""
    with striate_process(["serve", str(browser_run)], '/api/model') as url:
        yield url


@pytest.fixture
def page(browser_page):
    return browser_page


def draw(page, points) -> None:
    box = page.locator("#pad").bounding_box()
    scale = box["width"] / 280
    page.mouse.move(box["x"] + points[0][0] * scale, box["y"] + points[0][1] * scale)
    page.mouse.down()
    for (x0, y0), (x1, y1) in zip(points, points[1:]):
        for step in range(1, 9):
            t = step / 8
            page.mouse.move(box["x"] + (x0 + t * (x1 - x0)) * scale, box["y"] + (y0 + t * (y1 - y0)) * scale)
            page.wait_for_timeout(15)
    page.mouse.up()


def test_drawing_shows_a_prediction_and_feature_maps(served, page, tmp_path, browser_run):
    requested, predictions, errors = [], [], []
    page.route("**/*", lambda route: (requested.append(route.request.url),
                                      route.continue_() if route.request.url.startswith(served) else route.abort()))
    page.on("request", lambda request: predictions.append(1) if "/api/predict" in request.url else None)
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(served)
    page.wait_for_function("document.querySelector('#model-line').textContent.includes('lenet5')")
    page.wait_for_function("document.querySelectorAll('#filters canvas').length === 6")  # conv1's six 5x5 kernels

    draw(page, SEVEN)
    page.wait_for_function("document.querySelectorAll('#top li').length > 0 && document.body.dataset.busy === '0'")
    layers = page.eval_on_selector_all(".layer", "blocks => blocks.map(b => [b.dataset.name, b.querySelectorAll('canvas').length])")
    names = [name for name, _ in layers]
    assert names[:2] == ["input", "features.conv1"] and names[-1] == "head"
    assert dict(layers)["features.conv1"] == 6 and dict(layers)["features.conv2"] == 16
    spread = page.eval_on_selector(".layer[data-name='features.conv1'] canvas", """canvas => {
        const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
        const values = new Set(); for (let i = 0; i < data.length; i += 4) values.add(data[i]); return values.size; }""")
    assert spread > 3  # a real feature map, not a blank square
    top = page.eval_on_selector_all("#top li", "items => items.map(i => [i.querySelector('.name').textContent, parseFloat(i.querySelector('.value').textContent)])")
    classes = set((browser_run / "model.json").read_text().split('"class_names"')[1].split("]")[0].replace('"', "").replace(",", " ").split())
    assert len(top) == 5 and all(name in classes for name, _ in top)
    assert [p for _, p in top] == sorted((p for _, p in top), reverse=True) and sum(p for _, p in top) <= 100.5
    assert len(predictions) >= 2  # it updated while the stroke was being drawn, not only at the end
    assert all(url.startswith(served) for url in requested), [u for u in requested if not u.startswith(served)]
    assert not errors

    screenshot = tmp_path / "serve.png"
    page.screenshot(path=str(screenshot), full_page=True)
    assert screenshot.stat().st_size > 10_000
    if os.environ.get("STRIATE_DOCS_SCREENSHOT"):
        (REPO_ROOT / "docs" / "images").mkdir(parents=True, exist_ok=True)
        shutil.copy(screenshot, REPO_ROOT / "docs" / "images" / "serve.png")


def test_uploading_a_file_and_a_bad_file(served, page, tmp_path):
    from PIL import Image

    from striate.data import load_source

    digit = tmp_path / "mnist-digit.png"
    Image.fromarray(load_source("mnist5k")["train"].images[0, 0].numpy()).save(digit)
    (tmp_path / "notes.png").write_text("not an image")
    page.goto(served)
    page.wait_for_function("document.querySelector('#model-line').textContent.includes('lenet5')")
    page.set_input_files("#upload", str(digit))
    page.wait_for_function("document.querySelector('#status').textContent.startsWith('mnist-digit.png:')")
    assert page.locator(".layer[data-name='features.conv2'] canvas").count() == 16
    page.set_input_files("#upload", str(tmp_path / "notes.png"))
    page.wait_for_function("document.querySelector('#status').classList.contains('error')")
    assert "not a decodable image" in page.locator("#status").text_content()


def test_on_a_phone_the_page_fits_clear_empties_it_and_every_request_succeeds(served, page):
    """At 390 px wide (a phone) nothing sticks out sideways after a prediction; Clear takes the previous
    drawing's prediction and feature maps away (also those of an answer still on its way); and no request
    fails: the icon included, nothing in the console."""
    failed, errors = [], []
    page.on("response", lambda response: failed.append((response.status, response.url)) if response.status >= 400 else None)
    page.on("requestfailed", lambda request: failed.append((request.failure, request.url)))
    page.on("console", lambda message: errors.append(message.text) if message.type in ("error", "warning") else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(served)
    page.wait_for_function("document.querySelector('#model-line').textContent.includes('lenet5')")
    draw(page, SEVEN)
    page.wait_for_function("document.querySelectorAll('#top li').length > 0 && document.body.dataset.busy === '0'")
    assert page.locator(".layer canvas").count() > 20
    wide = page.evaluate("""Array.from(document.querySelectorAll('body *')).filter(e => e.getBoundingClientRect().right
        > window.innerWidth + 0.5).map(e => e.tagName + (e.id ? '#' + e.id : '') + '.' + e.className)""")
    width = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert width[0] <= width[1], f"the page is {width[0]} px wide in a {width[1]} px window; sticking out: {wide[:6]}"

    page.click("#clear")
    assert page.locator(".layer").count() == 0 and page.locator("#top li").count() == 0
    draw(page, SEVEN[:3])  # a stroke, then Clear while its answers are still coming
    page.click("#clear")
    page.wait_for_function("document.body.dataset.busy === '0'")
    page.wait_for_timeout(300)
    assert page.locator(".layer canvas").count() == 0 and page.locator("#top li").count() == 0
    assert "Draw or upload" in page.locator("#layers").text_content()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")

    # Headless Chromium does not fetch icons by itself (nor would Playwright report it): load the page's
    # declared icon as an image, as a desktop browser does, and require the browser to decode it.
    size = page.evaluate("""() => new Promise((resolve) => {
        const image = new Image(), link = document.querySelector("link[rel='icon']");
        image.onload = () => resolve([link.getAttribute('href'), image.naturalWidth, image.naturalHeight]);
        image.onerror = () => resolve([link.getAttribute('href'), 0, 0]);
        image.src = link.href; document.body.appendChild(image); })""")
    assert size == ["/favicon.ico", 16, 16], size
    assert not failed, failed
    assert not errors, errors

"""A real uvicorn server on a free loopback port, in a thread, for the tests that need sockets."""

import contextlib
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("STRIATE_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"]


@contextlib.contextmanager
def serving(app):
    """``app`` served by uvicorn on 127.0.0.1 (port chosen by the OS), started as 'striate serve' starts
    it (striate.serve.server.server_options); yields its URL and stops it afterwards."""
    uvicorn = pytest.importorskip("uvicorn")
    from striate.serve.server import server_options

    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, **server_options()))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("the uvicorn server did not start within 30 s")
        time.sleep(0.05)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


@pytest.fixture(scope="module")
def live_server(tiny_run):
    """The app for the tiny run served by uvicorn on 127.0.0.1 (port chosen by the OS); yields its URL."""
    pytest.importorskip("uvicorn")
    from striate.serve.app import create_app

    with serving(create_app(tiny_run)) as url:
        yield url


@pytest.fixture(scope="module")
def serve_app():
    """The ``serving`` context manager, for tests that serve an app of their own: ``with serve_app(app) as url``."""
    return serving


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def _striate_process(arguments: list[str], ready: str):
    """'striate ARGUMENTS --port P' as a child process (the real command line); yields its URL once GET ``ready``
    answers 200, and stops it afterwards."""
    httpx = pytest.importorskip("httpx")
    port = _free_port()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO_ROOT / "src"), os.environ.get("PYTHONPATH", "")])}
    process = subprocess.Popen([sys.executable, "-m", "striate.cli.main", *arguments, "--port", str(port)],
                               env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    url, command = f"http://127.0.0.1:{port}", f"striate {arguments[0]}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                pytest.fail(f"'{command}' exited with {process.returncode}: {process.stdout.read()}")
            try:
                if httpx.get(f"{url}{ready}", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"'{command}' did not answer within 60 s")
            time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        process.wait(10)


@pytest.fixture
def striate_process():
    """The ``_striate_process`` context manager: ``with striate_process(["serve", run], "/api/model") as url``."""
    return _striate_process


@pytest.fixture
def browser_page(tmp_path):
    """A page of Debian's chromium, headless, driven by Playwright (1280 x 900; CSP bypassed so that a test can
    evaluate its own checks in the page); skipped without chromium or playwright."""
    if not Path(CHROMIUM).exists():
        pytest.skip(f"needs Debian's chromium at {CHROMIUM} (apt-get install -y chromium)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="needs the playwright package (pip install playwright)")
    with sync_api.sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path / "profile"), executable_path=CHROMIUM, headless=True, args=CHROMIUM_FLAGS,
            viewport={"width": 1280, "height": 900}, bypass_csp=True)
        try:
            yield context.pages[0] if context.pages else context.new_page()
        finally:
            context.close()

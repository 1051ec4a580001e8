"""A real uvicorn server on a free loopback port, in a thread, for the tests that need sockets."""

import contextlib
import threading
import time

import pytest


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

"""A real uvicorn server on a free loopback port, in a thread, for the tests that need sockets."""

import threading
import time

import pytest


@pytest.fixture(scope="module")
def live_server(tiny_run):
    """The app for the tiny run served by uvicorn on 127.0.0.1 (port chosen by the OS); yields its URL."""
    uvicorn = pytest.importorskip("uvicorn")
    from striate.serve.app import create_app

    server = uvicorn.Server(uvicorn.Config(create_app(tiny_run), host="127.0.0.1", port=0, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("the uvicorn server did not start within 30 s")
        time.sleep(0.05)
    port = server.servers[0].sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)

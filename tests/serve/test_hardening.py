"""The server against hostile input: run files that are symbolic links (never followed, the target's
bytes never sent), very long URLs (414) and very large headers (431) on the real uvicorn server, the
icon, and the server still answering afterwards."""

import http.client
import io
import os
import shutil
import socket
import time
import warnings
from urllib.parse import urlsplit

import pytest

pytest.importorskip("fastapi")
with warnings.catch_warnings():  # starlette announces a move from httpx to httpx2
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

from striate.serve.app import create_app
from striate.serve.limits import MAX_HEADER_BYTES, MAX_TARGET_BYTES, RequestHeadLimit
from striate.serve.run_files import read_run_file, run_file_exists

MARKER = "SECRET-MARKER-7f3a9c-do-not-serve"


def symlink(link, target, target_is_directory: bool = False) -> None:
    try:
        os.symlink(target, link, target_is_directory=target_is_directory)
    except (OSError, NotImplementedError) as error:  # Windows without the privilege
        pytest.skip(f"cannot make symbolic links here: {error}")


@pytest.fixture
def outside(tmp_path):
    """A secret file outside the run directory."""
    secret = tmp_path / "outside" / "secret.html"
    secret.parent.mkdir()
    secret.write_text(f"<html><body>{MARKER}</body></html>")
    return secret


@pytest.fixture
def run_copy(tiny_run, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(tiny_run, run)
    return run


def request(url: str, method: str = "GET", target: str = "/", headers: dict | None = None):
    """(status, body) of one request over a fresh http.client connection."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        connection.request(method, target, headers=headers or {})
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def raw_request(url: str, head: bytes, piece: int = 0) -> bytes:
    """Send ``head`` over a raw socket (in pieces of ``piece`` bytes with short pauses, when given, so
    that the parser sees an incomplete request head many times) and read the whole answer."""
    parts = urlsplit(url)
    with socket.create_connection((parts.hostname, parts.port), timeout=30) as sock:
        pieces = [head[start:start + piece] for start in range(0, len(head), piece)] if piece else [head]
        for part in pieces:
            sock.sendall(part)
            if piece:
                time.sleep(0.002)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
            if b"\r\n\r\n" in answer:
                head_part, _, body = answer.partition(b"\r\n\r\n")
                length = [line.split(b":", 1)[1] for line in head_part.split(b"\r\n")
                          if line.lower().startswith(b"content-length:")]
                if length and len(body) >= int(length[0]):
                    break
        return answer


# --- symbolic links in the run directory --------------------------------------------------------------


def test_a_report_that_links_outside_the_run_is_not_served(run_copy, outside):
    symlink(run_copy / "report.html", outside)
    client = TestClient(create_app(run_copy))
    response = client.get("/report")
    assert response.status_code == 404
    assert MARKER not in response.text
    assert client.get("/api/model").json()["report"]["available"] is False


def test_links_are_refused_even_inside_the_run_and_through_folders(run_copy, outside):
    inner = run_copy / "real-report.html"
    inner.write_text(f"<p>{MARKER}</p>")
    symlink(run_copy / "report.html", inner)  # a link to a file in the run: still a link
    (outside.parent / "index.html").write_text(f"<p>{MARKER}</p>")
    symlink(run_copy / "report", outside.parent, target_is_directory=True)  # report/index.html through a link
    client = TestClient(create_app(run_copy))
    response = client.get("/report")
    assert response.status_code == 404 and MARKER not in response.text
    assert read_run_file(run_copy, "report.html") is None
    assert read_run_file(run_copy, "report/index.html") is None


def test_a_linked_summary_is_not_read(run_copy, tmp_path):
    secret = tmp_path / "secret.json"
    secret.write_text(f'{{"marker": "{MARKER}"}}')
    (run_copy / "summary.json").unlink(missing_ok=True)
    symlink(run_copy / "summary.json", secret)
    response = TestClient(create_app(run_copy)).get("/api/model")
    assert response.status_code == 200 and MARKER not in response.text
    assert response.json()["summary"] is None


def test_a_real_report_is_still_served_and_the_run_directory_may_be_a_link(run_copy, tmp_path):
    (run_copy / "report").mkdir()
    (run_copy / "report" / "index.html").write_text("<h1>the report</h1>")
    link = tmp_path / "latest"
    symlink(link, run_copy, target_is_directory=True)  # runs/latest -> runs/<name> is fine
    client = TestClient(create_app(link))
    assert client.get("/api/model").json()["report"]["available"] is True
    response = client.get("/report")
    assert response.status_code == 200 and "the report" in response.text
    assert response.headers["content-type"].startswith("text/html")


def test_read_run_file_refuses_what_is_not_a_regular_file(run_copy):
    (run_copy / "folder.html").mkdir()
    assert read_run_file(run_copy, "folder.html") is None and not run_file_exists(run_copy, "folder.html")
    assert read_run_file(run_copy, "missing.html") is None
    assert read_run_file(run_copy.parent / "no-such-run", "report.html") is None
    if hasattr(os, "mkfifo"):
        os.mkfifo(run_copy / "report.html")  # opening a FIFO would block: it must be refused, not opened
        assert read_run_file(run_copy, "report.html") is None
    for name in ("../secret", "/etc/passwd", ""):
        with pytest.raises(ValueError):
            read_run_file(run_copy, name)
    (run_copy / "plain.txt").write_bytes(b"plain")
    assert read_run_file(run_copy, "plain.txt") == b"plain" and run_file_exists(run_copy, "plain.txt")


def test_the_real_server_does_not_send_a_linked_report(run_copy, outside, serve_app):
    symlink(run_copy / "report.html", outside)
    with serve_app(create_app(run_copy)) as url:
        status, body = request(url, target="/report")
        assert status == 404 and MARKER.encode() not in body
        status, body = request(url, "HEAD", "/report")
        assert status in (404, 405) and MARKER.encode() not in body
        assert request(url, target="/api/model")[0] == 200


# --- oversized request heads ----------------------------------------------------------------------------


def test_a_20_kb_url_gets_414_and_the_server_keeps_answering(live_server):
    status, body = request(live_server, target="/api/model?x=" + "a" * 20_000)
    assert status == 414 and b"URL is longer" in body
    status, body = request(live_server, target="/" + "p" * 20_000)
    assert status == 414
    assert request(live_server, target="/api/model")[0] == 200


def test_40_kb_of_headers_get_431_and_the_server_keeps_answering(live_server):
    headers = {f"X-Filler-{index}": "v" * 1000 for index in range(40)}
    status, body = request(live_server, target="/api/model", headers=headers)
    assert status == 431 and b"headers are larger" in body
    status, _ = request(live_server, target="/api/model", headers={"X-One-Big": "v" * 40_000})
    assert status == 431
    assert request(live_server, target="/api/model")[0] == 200


def test_oversized_heads_sent_in_small_pieces_are_answered_not_reset(live_server):
    """h11 gives up on a request head it has not seen whole once it passes its buffer limit (16 KiB by
    default), so a head that arrives slowly was answered by a dropped connection; now it is 414/431."""
    host = urlsplit(live_server).netloc.encode()
    long_url = b"GET /?q=" + b"a" * 20_000 + b" HTTP/1.1\r\nHost: " + host + b"\r\nConnection: close\r\n\r\n"
    assert raw_request(live_server, long_url, piece=2048).startswith(b"HTTP/1.1 414 ")
    filler = b"".join(b"X-Filler-%d: %s\r\n" % (index, b"v" * 1000) for index in range(40))
    big_headers = b"GET /api/model HTTP/1.1\r\nHost: " + host + b"\r\n" + filler + b"Connection: close\r\n\r\n"
    assert raw_request(live_server, big_headers, piece=2048).startswith(b"HTTP/1.1 431 ")
    normal = b"GET /api/model HTTP/1.1\r\nHost: " + host + b"\r\nConnection: close\r\n\r\n"
    assert raw_request(live_server, normal, piece=16).startswith(b"HTTP/1.1 200 ")


def test_the_limits_sit_at_8_and_16_kib(tiny_run):
    client = TestClient(create_app(tiny_run))
    query = "a" * (MAX_TARGET_BYTES - len("/api/model?"))
    assert client.get(f"/api/model?{query}").status_code == 200  # exactly 8 KiB of target
    assert client.get(f"/api/model?{query}a").status_code == 414
    assert client.get("/api/model", headers={"x-filler": "v" * 8000}).status_code == 200
    assert client.get("/api/model", headers={"x-filler": "v" * MAX_HEADER_BYTES}).status_code == 431
    scope = {"type": "http", "raw_path": b"/a", "query_string": b"b=1", "headers": [(b"host", b"x")]}
    assert RequestHeadLimit.target_bytes(scope) == len("/a?b=1")
    assert RequestHeadLimit.header_bytes(scope) == len("host: x\r\n")


# --- the icon -------------------------------------------------------------------------------------------


def test_the_favicon_is_a_small_icon(tiny_run, live_server):
    from PIL import Image

    status, body = request(live_server, target="/favicon.ico")
    assert status == 200 and 0 < len(body) < 4096
    image = Image.open(io.BytesIO(body))
    image.load()
    assert image.format == "ICO" and image.size == (16, 16)
    assert TestClient(create_app(tiny_run)).get("/favicon.ico").headers["content-type"] == "image/x-icon"

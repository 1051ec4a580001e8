"""The real server on loopback: a few hundred requests from concurrent clients all succeed,
bad requests in between get 4xx, and 'striate serve' refuses bad flags in one line."""

import io
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from PIL import Image

from striate.cli.main import main

httpx = pytest.importorskip("httpx")


def encoded(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, "PNG")
    return buffer.getvalue()


def test_a_few_hundred_requests_all_succeed(live_server):
    rng = np.random.default_rng(0)
    images = [encoded(rng.integers(0, 256, (8, 8), dtype=np.uint8)) for _ in range(10)]
    with httpx.Client(base_url=live_server, timeout=30) as client:
        expected = [client.post("/api/predict", files={"image": ("x.png", data, "image/png")}).json() for data in images]

    def request(index: int):
        with httpx.Client(base_url=live_server, timeout=30) as client:
            answers = []
            for step in range(30):
                number = (index + step) % len(images)
                response = client.post("/api/predict", files={"image": ("x.png", images[number], "image/png")})
                answers.append((response.status_code, number, response.json()))
            return answers

    with ThreadPoolExecutor(max_workers=10) as pool:
        results = [answer for answers in pool.map(request, range(10)) for answer in answers]
    assert len(results) == 300
    assert all(status == 200 for status, _, _ in results)
    assert all(body == expected[number] for _, number, body in results)


def test_bad_requests_do_not_stop_the_server(live_server):
    with httpx.Client(base_url=live_server, timeout=30) as client:
        good = encoded(np.zeros((8, 8), np.uint8))
        bad = [client.post("/api/predict", files={"image": ("x.png", b"not an image", "image/png")}),
               client.post("/api/predict", files={"image": ("x.png", good[:30], "image/png")}),
               client.post("/api/predict", content=b"\x00" * (5 * 1024 * 1024)),
               client.delete("/api/predict"),
               client.post("/api/predict", content=b"--x\r\nbroken", headers={"content-type": "multipart/form-data; boundary=x"})]
        assert [r.status_code for r in bad] == [415, 415, 413, 405, 422]
        assert all(r.json()["detail"] for r in bad)
        assert client.post("/api/predict", files={"image": ("x.png", good, "image/png")}).status_code == 200
        assert client.get("/api/model").json()["name"] == "mlp"


def test_serve_refuses_a_bad_port_and_a_missing_run(tiny_run, tmp_path, capsys):
    assert main(["serve", str(tiny_run), "--port", "70000"]) == 2
    assert "--port must be between 1 and 65535" in capsys.readouterr().err
    assert main(["serve", str(tmp_path / "nothing")]) == 2
    assert "run directory not found" in capsys.readouterr().err


def test_serve_listens_on_loopback_unless_told_otherwise():
    from striate.cli.main import build_parser

    args = build_parser().parse_args(["serve", "runs/x"])
    assert (args.host, args.port) == ("127.0.0.1", 8000)
    assert build_parser().parse_args(["serve", "runs/x", "--host", "0.0.0.0"]).host == "0.0.0.0"

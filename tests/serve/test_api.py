"""The JSON API with good and bad requests: clear 4xx errors, and the app keeps answering."""

import io
import shutil
import warnings

import numpy as np
import pytest
import torch
from PIL import Image

pytest.importorskip("fastapi")
with warnings.catch_warnings():  # starlette announces a move from httpx to httpx2
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

from striate.export import Predictor
from striate.serve.app import create_app


def png(array: np.ndarray, format: str = "PNG") -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def client(tiny_run):
    return TestClient(create_app(tiny_run, max_upload_bytes=200_000))


@pytest.fixture(scope="module")
def digit() -> np.ndarray:
    from striate.data import load_source

    return load_source("digits")["train"].images[7, 0].numpy()


def upload(client, data: bytes, query: str = "", name: str = "digit.png"):
    return client.post(f"/api/predict{query}", files={"image": (name, data, "image/png")})


def test_predict_gives_the_predictors_answer(client, tiny_run, digit):
    response = upload(client, png(digit), "?top_k=4")
    assert response.status_code == 200
    expected = Predictor.from_run(tiny_run).predict([digit], top_k=4)[0]
    top = response.json()["top"]
    assert [t["class"] for t in top] == [t["class"] for t in expected]
    assert np.allclose([t["probability"] for t in top], [t["probability"] for t in expected], atol=1e-6)
    assert "layers" not in response.json()


def test_activations_cover_every_layer(client, tiny_run, digit):
    body = upload(client, png(digit), "?activations=true").json()
    predictor = Predictor.from_run(tiny_run)
    assert [layer["name"] for layer in body["layers"]] == predictor.layer_names()
    head = body["layers"][-1]
    assert head["kind"] == "vector" and head["output_shape"] == [len(predictor.class_names)]
    logits = predictor.explain(digit)["layers"][-1][1]
    assert head["min"] == pytest.approx(float(logits.min()), abs=1e-5)
    assert body["input"]["output_shape"] == predictor.meta["input_shape"]


def test_model_and_filters(client, tiny_run):
    info = client.get("/api/model").json()
    assert info["name"] == "mlp" and info["parameters"] == sum(p.numel() for p in Predictor.from_run(tiny_run).model.parameters())
    assert info["report"]["available"] is False and "striate report" in info["report"]["how"]
    filters = client.get("/api/filters").json()
    assert filters["name"] == "features.fc1" and filters["shape"] == [32, 8, 8]  # MLP rows seen as 8x8 templates


@pytest.mark.parametrize("data, status, words", [
    (b"\x00" * 300_000, 413, "larger than the limit"),
    (b"this is a text file, not a picture", 415, "not a decodable image"),
    (b"", 415, "not a decodable image"),
])
def test_bad_uploads_get_clear_4xx(client, digit, data, status, words):
    response = upload(client, data)
    assert response.status_code == status and words in response.json()["detail"]
    assert upload(client, png(digit)).status_code == 200  # and the app keeps serving


def test_truncated_image_and_decompression_bomb(client, digit):
    jpeg = png(np.tile(digit, (8, 8)), "JPEG")
    response = upload(client, jpeg[: len(jpeg) // 2], name="cut.jpg")
    assert response.status_code == 400 and "truncated" in response.json()["detail"]
    Image.MAX_IMAGE_PIXELS, saved = None, Image.MAX_IMAGE_PIXELS  # make the bomb with Pillow's own guard off
    try:
        bomb = png(np.zeros((5000, 4000), np.uint8))  # 20 Mpixels in a few kB
    finally:
        Image.MAX_IMAGE_PIXELS = saved
    assert len(bomb) < 200_000
    response = upload(client, bomb)
    assert response.status_code == 413 and "20,000,000 pixels" in response.json()["detail"]
    assert upload(client, png(digit)).status_code == 200


def test_wrong_method_missing_field_and_bad_query(client, digit):
    assert client.get("/api/predict").status_code == 405
    assert client.put("/api/model").status_code == 405
    for response, words in [(client.post("/api/predict"), "form field 'image' is missing"),
                            (upload(client, png(digit), "?top_k=0"), "query parameter 'top_k' is '0'"),
                            (upload(client, png(digit), "?activations=maybe"), "query parameter 'activations'")]:
        assert response.status_code == 422
        detail = response.json()["detail"]  # the documented one-line string, not FastAPI's list of objects
        assert isinstance(detail, str) and words in detail and "\n" not in detail, detail
    assert client.get("/static/../app.py").status_code == 404
    assert client.get("/static/secret.txt").status_code == 404


def test_every_413_names_the_limit_that_api_model_reports(client, tiny_run, digit):
    """One limit: the number in /api/model and in each 413 (declared or streamed body) is the same, and a
    request of that many bytes passes while one byte more does not."""
    from striate.serve.app import MAX_UPLOAD_BYTES

    limit = client.get("/api/model").json()["limits"]["max_upload_bytes"]
    assert limit == 200_000
    declared = client.post("/api/predict", content=b"\x00" * (limit + 1))
    streamed = client.post("/api/predict", content=iter([b"\x00" * (limit // 2)] * 3),
                           headers={"content-type": "multipart/form-data; boundary=x"})
    for response in (declared, streamed, upload(client, b"\x00" * limit)):
        assert response.status_code == 413 and f"limit of {limit:,} bytes" in response.json()["detail"]
    envelope = len(client.build_request("POST", "/api/predict", files={"image": ("digit.png", b"", "image/png")}).read())
    padding = b"\x00" * (limit - envelope - len(png(digit)))  # PNG readers ignore bytes after the end chunk
    assert upload(client, png(digit) + padding).status_code == 200
    assert upload(client, png(digit) + padding + b"\x00").status_code == 413
    default = TestClient(create_app(tiny_run))
    assert default.get("/api/model").json()["limits"]["max_upload_bytes"] == MAX_UPLOAD_BYTES
    assert f"{MAX_UPLOAD_BYTES:,} bytes" in default.post("/api/predict", content=b"\x00" * (MAX_UPLOAD_BYTES + 1)).json()["detail"]


def test_a_streamed_body_past_the_limit_is_cut_off(client, digit):
    def chunks():  # no Content-Length: the limit is enforced while reading
        for _ in range(30):
            yield b"\x00" * 10_000

    response = client.post("/api/predict", content=chunks(), headers={"content-type": "multipart/form-data; boundary=x"})
    assert response.status_code == 413
    assert upload(client, png(digit)).status_code == 200


def test_page_and_openapi_are_self_contained(client):
    page = client.get("/")
    assert page.status_code == 200 and "default-src 'self'" in page.headers["content-security-policy"]
    for text in (page.text, client.get("/static/app.js").text, client.get("/static/style.css").text):
        assert "http://" not in text and "https://" not in text and "//cdn" not in text
    schema = client.get("/openapi.json").json()
    assert {"/api/predict", "/api/model"} <= set(schema["paths"])
    assert "413" in schema["paths"]["/api/predict"]["post"]["responses"]
    assert client.get("/docs").status_code == 404  # the Swagger page would load its JS from a CDN


def test_report_is_linked_once_it_exists(tiny_run, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(tiny_run, run)
    client = TestClient(create_app(run))
    assert client.get("/report").status_code == 404
    (run / "report.html").write_text("<html><body><h1>the report</h1></body></html>")
    info = client.get("/api/model").json()
    assert info["report"] == {"available": True, "url": "/report", "how": info["report"]["how"]}
    assert "the report" in client.get("/report").text


def test_predict_handles_colour_uploads_for_a_grey_model(client, tiny_run, digit):
    colour = np.stack([digit] * 3, axis=-1)
    body = upload(client, png(colour)).json()
    expected = Predictor.from_run(tiny_run).predict([torch.from_numpy(digit)], top_k=3)[0]
    assert [t["class"] for t in body["top"]] == [t["class"] for t in expected]


def test_deep_networks_show_an_even_spread_of_layers(tiny_run):
    from striate.errors import ModelError
    from striate.serve.pictures import drawn_layers

    names = [f"block{index}" for index in range(500)]
    chosen = drawn_layers(names, 32)
    assert len(chosen) == 32 and chosen[0] == "block0" and chosen[-1] == "block499"
    assert chosen == sorted(set(chosen), key=names.index)  # distinct, in forward order
    predictor = Predictor.from_run(tiny_run)
    assert [name for name, _ in predictor.explain(np.zeros((8, 8), np.uint8), layers=["head"])["layers"]] == ["head"]
    with pytest.raises(ModelError, match="did you mean 'head'"):
        predictor.explain(np.zeros((8, 8), np.uint8), layers=["haed"])

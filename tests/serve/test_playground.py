"""The playground's API: a small MLP learns XOR where a linear model cannot, the boundary picture shows
what it learned where it learned it, every hidden unit is drawn, the regularisers do what they say,
bad settings answer 422 with one line, and the sessions stay bounded."""

import base64
import warnings

import numpy as np
import pytest
import torch

pytest.importorskip("fastapi")
with warnings.catch_warnings():  # starlette announces a move from httpx to httpx2
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

from striate.data.toy2d import EXTENT
from striate.serve.app import create_playground_app
from striate.serve.playground import BOUNDARY_SIZE, MAX_SESSIONS, UNIT_SIZE, PlaygroundSession
from striate.serve.playground_settings import PlaygroundSettings

XOR = {"data": "xor", "points": 300, "seed": 1, "features": ["x", "y"], "activation": "tanh", "lr": 0.1,
       "batch_size": 10}


@pytest.fixture
def client():
    return TestClient(create_playground_app())


def start(client, **settings) -> dict:
    response = client.post("/api/playground/sessions", json=settings)
    assert response.status_code == 200, response.text
    return response.json()


def train_until(client, session: str, accuracy: float, rounds: int, count: int = 100) -> list[dict]:
    """Ask for ``count`` steps at a time, at most ``rounds`` times; stop once the test accuracy reaches ``accuracy``."""
    answers = []
    for _ in range(rounds):
        response = client.post(f"/api/playground/sessions/{session}/steps?count={count}")
        assert response.status_code == 200, response.text
        answers.append(response.json())
        if answers[-1]["test_accuracy"] >= accuracy:
            break
    return answers


def level_at(picture: dict, x: float, y: float) -> int:
    """The picture's level (0: -scale, 128: 0, 255: +scale) at the point (x, y) of the plane."""
    size, levels = picture["size"], np.frombuffer(base64.b64decode(picture["data"]), dtype=np.uint8)
    assert levels.size == size * size
    column, row = int((x + EXTENT) / (2 * EXTENT) * size), int((EXTENT - y) / (2 * EXTENT) * size)
    return int(levels.reshape(size, size)[row, column])


def test_xor_needs_hidden_layers_two_tanh_layers_learn_it_a_linear_model_stays_near_chance(client):
    deep = start(client, **XOR, hidden=[4, 4])
    answers = train_until(client, deep["session"], 0.9, rounds=20)
    assert answers[-1]["test_accuracy"] >= 0.9, [a["test_accuracy"] for a in answers]
    assert answers[-1]["step"] == 100 * len(answers) and answers[-1]["epoch"] == answers[-1]["step"] * 10 // 150
    assert answers[-1]["test_loss"] < deep["test_loss"] and answers[-1]["train_loss"] < deep["train_loss"]

    linear = start(client, **XOR, hidden=[])
    assert linear["layers"] == [] and linear["parameters"] == 2 * 2 + 2  # two inputs, two logits, no hidden unit
    answers = train_until(client, linear["session"], 2.0, rounds=6)  # never reached: all six rounds
    accuracies = [answer["test_accuracy"] for answer in answers]
    assert len(accuracies) == 6 and max(accuracies) < 0.8, accuracies  # a line cuts XOR right at most 3/4 of the way


def test_after_training_the_boundary_has_each_quadrants_colour_at_its_centre(client):
    session = start(client, **XOR, hidden=[4, 4])
    untrained = session["boundary"]
    answers = train_until(client, session["session"], 0.95, rounds=20)
    assert answers[-1]["test_accuracy"] >= 0.95
    boundary = answers[-1]["boundary"]
    assert boundary["size"] == BOUNDARY_SIZE and boundary["scale"] == 1.0
    for x, y in [(3, 3), (-3, 3), (-3, -3), (3, -3)]:
        label = int(x * y > 0)  # XOR: class 1 (blue, levels above 128) where x and y share a sign
        level = level_at(boundary, x, y)
        assert (level > 128) == bool(label), (x, y, level)
        assert abs(level - 128) > 40, (x, y, level)  # clearly one colour, not the undecided white
    assert boundary["data"] != untrained["data"]


def test_every_hidden_unit_and_input_feature_is_drawn_over_the_plane(client):
    body = start(client, data="circles", points=100, hidden=[3, 5, 2], features=["x", "y", "x2"])
    assert [len(layer) for layer in body["layers"]] == [3, 5, 2]
    for picture in [unit for layer in body["layers"] for unit in layer] + body["features"]:
        levels = np.frombuffer(base64.b64decode(picture["data"]), dtype=np.uint8)
        assert picture["size"] == UNIT_SIZE and levels.size == UNIT_SIZE**2 and picture["scale"] > 0
    assert [feature["name"] for feature in body["features"] if feature["used"]] == ["x", "y", "x2"]
    assert [feature["name"] for feature in body["features"]] == ["x", "y", "x2", "y2", "xy", "sinx", "siny"]
    x_picture = body["features"][0]
    assert level_at(x_picture, -5.9, 0) < 10 and level_at(x_picture, 5.9, 0) > 245  # x runs left to right
    assert len(body["train"]) == 50 and len(body["test"]) == 50 and all(len(p) == 3 for p in body["train"])


def test_a_seed_fixes_the_points_and_the_first_weights(client):
    first, again, other = (start(client, data="spirals", points=100, seed=seed) for seed in (5, 5, 6))
    assert first["train"] == again["train"] and first["boundary"] == again["boundary"]
    assert first["train"] != other["train"]


def decayed_weight_size(regularization: str, rate: float) -> float:
    session = PlaygroundSession(PlaygroundSettings(data="circles", points=100, hidden=[4, 4], lr=0.1, seed=0,
                                                   regularization=regularization, regularization_rate=rate))
    session.train(300)
    return float(sum(p.detach().abs().sum() for p in session.options.l1_parameters))


def test_l1_and_l2_shrink_the_weights_and_leave_out_the_biases():
    plain = decayed_weight_size("none", 0.3)  # the rate does nothing without a regulariser
    assert decayed_weight_size("l1", 0.03) < 0.6 * plain
    assert decayed_weight_size("l2", 0.03) < 0.8 * plain
    session = PlaygroundSession(PlaygroundSettings(regularization="l2", regularization_rate=0.1))
    decays = {group["weight_decay"] for group in session.optimizer.param_groups}
    assert decays == {0.0, 0.1} and all(p.dim() == 2 for p in session.options.l1_parameters)  # weights, not biases


def test_a_diverging_loss_is_reported_and_stops_training(client):
    body = start(client, data="circles", points=100, hidden=[8, 8, 8], activation="linear", lr=10,
                 features=["x2", "y2", "xy"])
    answer = client.post(f"/api/playground/sessions/{body['session']}/steps?count=50").json()
    assert answer["diverged"] is True and answer["train_loss"] is None and answer["step"] < 50
    again = client.post(f"/api/playground/sessions/{body['session']}/steps?count=50").json()
    assert again["step"] == answer["step"]


@pytest.mark.parametrize("settings, words", [
    ({"hidden": [4, 9]}, "hidden layer 2 has 9 units; each layer takes 1 to 8"),
    ({"hidden": [2] * 7}, "hidden must be a list of 0 to 6 layer widths"),
    ({"hidden": "4,2"}, "hidden must be a list"),
    ({"lr": 0}, "lr must be between 1e-05 and 10.0, got 0"),
    ({"lr": 100}, "lr must be between"),
    ({"noise": 0.7}, "noise must be between 0.0 and 0.5"),
    ({"train_fraction": 1}, "train_fraction must be between 0.1 and 0.9"),
    ({"points": 100_000}, "points must be between 50 and 1000"),
    ({"points": 99.5}, "points must be an integer"),
    ({"batch_size": 0}, "batch_size must be between 1 and 100"),
    ({"batch_size": True}, "batch_size must be an integer"),
    ({"regularization_rate": -1}, "regularization_rate must be between"),
    ({"data": "xro"}, "data must be one of ['circles', 'xor', 'spirals', 'blobs'], got 'xro' (did you mean 'xor'?)"),
    ({"activation": "softplus"}, "activation must be one of ['relu', 'tanh', 'sigmoid', 'linear']"),
    ({"regularization": "l3"}, "regularization must be one of ['none', 'l1', 'l2']"),
    ({"features": []}, "features must be a non-empty list"),
    ({"features": ["x", "cosx"]}, "unknown input feature 'cosx'"),
    ({"learning_rate": 0.1}, "unknown setting 'learning_rate'"),
])
def test_bad_settings_answer_422_with_one_line_that_names_them(client, settings, words):
    response = client.post("/api/playground/sessions", json=settings)
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert words in detail and "\n" not in detail


@pytest.mark.parametrize("body, words", [
    (b"not json", "the settings are not JSON"), (b"[1, 2]", "the settings must be a JSON object"),
    (b'{"lr": NaN}', "lr must be between"),
])
def test_a_body_that_is_not_a_settings_object_answers_422(client, body, words):
    response = client.post("/api/playground/sessions", content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 422 and words in response.json()["detail"]


def test_steps_are_bounded_and_sessions_are_few(client):
    first = start(client, points=50)["session"]
    response = client.post(f"/api/playground/sessions/{first}/steps?count=1001")
    assert response.status_code == 422 and "'count'" in response.json()["detail"]
    assert client.post(f"/api/playground/sessions/{first}/steps?count=0").json()["step"] == 0
    later = [start(client, points=50)["session"] for _ in range(MAX_SESSIONS)]  # one more than fits
    assert client.post(f"/api/playground/sessions/{first}/steps?count=1").status_code == 404  # the oldest went
    assert client.post(f"/api/playground/sessions/{later[0]}/steps?count=1").status_code == 200
    assert client.delete(f"/api/playground/sessions/{later[0]}").status_code == 204
    response = client.post(f"/api/playground/sessions/{later[0]}/steps?count=1")
    assert response.status_code == 404 and "start a new one" in response.json()["detail"]


def test_the_page_and_its_files_come_from_memory_under_the_csp(client):
    page = client.get("/playground")
    assert page.status_code == 200 and "default-src 'self'" in page.headers["content-security-policy"]
    assert 'src="/playground/app.js"' in page.text and "<script>" not in page.text  # no inline script
    assert client.get("/playground/app.js").headers["content-type"].startswith("text/javascript")
    assert client.get("/playground/style.css").status_code == 200
    assert client.get("/playground/..%2Fapp.py").status_code == 404
    assert client.get("/playground/index.html").status_code == 404  # only the page's own two files
    assert client.get("/", follow_redirects=False).headers["location"] == "/playground"
    options = client.get("/api/playground/options").json()
    assert options["defaults"]["hidden"] == [4, 2]
    assert options["choices"]["data"] == ["circles", "xor", "spirals", "blobs"]
    assert all(options["ranges"]["lr"][0] <= lr <= options["ranges"]["lr"][1] for lr in options["suggested"]["lr"])


def test_the_run_app_serves_the_playground_too(tiny_run):
    from striate.serve.app import create_app

    client = TestClient(create_app(tiny_run))
    assert client.get("/playground").status_code == 200
    assert start(client, points=50, hidden=[2])["step"] == 0


def test_the_session_trains_with_torchs_global_generator_left_alone():
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    PlaygroundSession(PlaygroundSettings(points=50, seed=7))
    assert torch.equal(torch.rand(3), expected)


def test_a_body_over_the_playgrounds_limit_answers_413_in_the_playgrounds_words(client):
    from striate.serve.app import PLAYGROUND_MAX_BODY_BYTES

    answer = client.post("/api/playground/sessions", content=b"{" + b" " * PLAYGROUND_MAX_BODY_BYTES + b"}",
                         headers={"Content-Type": "application/json"})
    assert answer.status_code == 413
    assert "playground's settings" in answer.json()["detail"] and "image" not in answer.json()["detail"]

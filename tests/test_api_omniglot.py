"""Classification with the trained Omniglot models, the quiz's model answers, and MAML adapting
to a quiz task step by step, over HTTP."""

import base64
import io

import pytest
from fastapi.testclient import TestClient
from PIL import Image

from app.settings import Settings
from app.web.main import create_app
from app.web.quiz_tasks import make_task


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    settings = Settings(data_dir=tmp_path_factory.mktemp("data"), classify_per_minute=10_000)
    with TestClient(create_app(settings)) as c:
        yield c


@pytest.fixture(scope="module")
def served(client):
    models = client.get("/api/omniglot/models").json()
    if not models:
        pytest.skip("no trained Omniglot model in models/")
    return models


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def episode(client, characters, drawing=0, query_drawing=7):
    data = client.app.state.omniglot.get()
    support = [{"label": f"c{c}", "image": b64(data.original_png(c, drawing))} for c in characters]
    queries = [b64(data.original_png(c, query_drawing)) for c in characters]
    return support, queries


def test_models_are_listed_with_their_measured_accuracy(served):
    for model in served:
        assert {"id", "method", "ways", "shots", "accuracy", "interval"} <= set(model)
        assert 0 < model["accuracy"] <= 1 and model["interval"] > 0


def test_every_model_classifies_an_episode_of_held_out_characters(client, served):
    support, queries = episode(client, [700, 720, 740, 760, 780])
    for model in served:
        response = client.post(
            "/api/omniglot/classify",
            json={"id": model["id"], "support": support, "queries": queries},
        )
        assert response.status_code == 200, response.text
        predictions = response.json()["predictions"]
        assert len(predictions) == 5
        for p in predictions:
            assert set(p["probabilities"]) == {s["label"] for s in support}
            assert sum(p["probabilities"].values()) == pytest.approx(1, abs=1e-3)
            assert p["label"] == max(p["probabilities"], key=p["probabilities"].get)
        right = sum(p["label"] == s["label"] for p, s in zip(predictions, support, strict=True))
        assert right >= 2, f"{model['id']} got {right} of 5"


def test_any_size_and_k_up_to_five(client, served):
    data = client.app.state.omniglot.get()
    big = Image.open(io.BytesIO(data.original_png(701, 1))).resize((300, 300))
    out = io.BytesIO()
    big.convert("RGB").save(out, format="JPEG")
    support = [
        {"label": label, "image": b64(data.original_png(c, d))}
        for label, c in (("x", 701), ("y", 702))
        for d in range(5)
    ]
    metric = next(m for m in served if m["method"] == "protonet")
    response = client.post(
        "/api/omniglot/classify",
        json={
            "method": "protonet",
            "ways": metric["ways"],
            "support": support,
            "queries": [b64(out.getvalue())],
        },
    )
    assert response.status_code == 200
    assert response.json()["predictions"][0]["label"] == "x"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"id": None}, "body"),
        ({"support": "few"}, "support"),
        ({"queries": []}, "queries"),
        ({"queries": ["@@not base64@@"]}, "queries.0"),
        ({"queries": [b64(b"not an image")]}, "queries.0"),
        ({"queries": ["A" * 400_000]}, "queries.0"),
        ({"id": "../../etc/passwd"}, "id"),
        ({"colour": 1}, "colour"),
    ],
)
def test_bad_requests_name_the_field(client, served, change, field):
    support, queries = episode(client, [700, 720, 740])
    body = dict({"id": served[0]["id"], "support": support, "queries": queries}, **change)
    response = client.post("/api/omniglot/classify", json=body)
    assert response.status_code in (413, 422)
    if response.status_code == 422:
        assert response.json()["message"].startswith(field)


def test_limits_on_labels_and_examples(client, served):
    data = client.app.state.omniglot.get()
    many = [{"label": f"l{i}", "image": b64(data.original_png(600 + i, 0))} for i in range(21)]
    response = client.post(
        "/api/omniglot/classify",
        json={"id": served[0]["id"], "support": many, "queries": [many[0]["image"]]},
    )
    assert response.status_code == 422 and "allowed 2 to 20" in response.json()["message"]
    six = [{"label": "a", "image": many[0]["image"]}] * 6 + [many[1]]
    response = client.post(
        "/api/omniglot/classify",
        json={"id": served[0]["id"], "support": six, "queries": [many[0]["image"]]},
    )
    assert response.status_code == 422 and "at most 5" in response.json()["message"]
    fixed = [m for m in served if m["family"] != "metric" and m["ways"] < 20]
    if fixed:
        response = client.post(
            "/api/omniglot/classify",
            json={"id": fixed[0]["id"], "support": many[:20], "queries": [many[0]["image"]]},
        )
        assert response.status_code == 422 and "answers at most" in response.json()["message"]
    assert (
        client.post(
            "/api/omniglot/classify",
            json={"id": "omniglot-nothing", "support": many[:3], "queries": [many[0]["image"]]},
        ).status_code
        == 404
    )


def test_quiz_shows_model_answers_only_after_the_reader_answered(client, served):
    task = client.get("/api/quiz/task?ways=5").json()["task"]
    assert client.get("/api/quiz/models", params={"task": task}).status_code == 409
    client.post("/api/quiz/answer", json={"task": task, "choice": 0, "ms": 1200})
    answers = client.get("/api/quiz/models", params={"task": task}).json()
    assert answers and len({a["id"] for a in answers}) == len(answers)
    truth = make_task(client.app.state.omniglot.get(), task).answer
    for a in answers:
        assert 0 <= a["answer"] < 5 and 0 < a["confidence"] <= 1
        assert a["correct"] == (a["answer"] == truth)


def maml_model(served, ways):
    model = next((m for m in served if m["method"] == "maml" and m["ways"] == ways), None)
    if model is None:
        pytest.skip(f"no {ways}-way MAML model in models/")
    return model


@pytest.mark.parametrize("ways", [5, 20])
def test_adapt_shows_every_inner_step_on_a_quiz_task(client, served, ways):
    model = maml_model(served, ways)
    task = client.get(f"/api/quiz/task?ways={ways}").json()
    response = client.post("/api/omniglot/adapt", json={"task": task["task"]})
    assert response.status_code == 200, response.text
    result = response.json()
    config = client.app.state.classifiers.get(model["id"]).classifier.config
    hyper = config.hyper(evaluation=True)
    k = hyper.inner_steps
    assert result["model"]["id"] == model["id"]
    assert result["model"]["steps"] == k and result["model"]["alpha"] == hyper.alpha
    assert (result["query"], result["choices"]) == (task["query"], task["choices"])
    assert result["answer"] == make_task(client.app.state.omniglot.get(), task["task"]).answer
    assert len(result["probabilities"]) == len(result["support_losses"]) == k + 1
    for p in result["probabilities"]:
        assert len(p) == ways and sum(p) == pytest.approx(1, abs=1e-3)
    losses = result["support_losses"]
    assert losses[-1] < losses[0]


def test_adapt_shows_the_answer_only_of_tasks_no_one_can_answer_afterwards(client, served):
    maml_model(served, 5)
    fresh, answered = (client.get("/api/quiz/task?ways=5").json()["task"] for _ in range(2))
    ok = client.post("/api/quiz/answer", json={"task": answered, "choice": 0, "ms": 1500})
    assert ok.status_code == 200
    for task in (fresh, answered):
        assert client.post("/api/omniglot/adapt", json={"task": task}).status_code == 200
    late = client.post("/api/quiz/answer", json={"task": fresh, "choice": 0, "ms": 1500})
    assert late.status_code == 409 and "shown" in late.json()["detail"]
    assert client.get("/api/quiz/models", params={"task": answered}).status_code == 200


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "task"),
        ({"task": 5}, "task"),
        ({"task": "7-1"}, "task"),
        ({"task": "5-1; DROP TABLE answers"}, "task"),
        ({"task": "5-9999999999999999"}, "task"),  # well formed, but no seed this server uses
        ({"task": "5-1"}, "task"),  # a token this server never issued
        ({"task": "ISSUED", "steps": 100}, "steps"),
    ],
)
def test_adapt_rejects_bad_or_unknown_tasks_naming_the_field(client, body, field):
    if body.get("task") == "ISSUED":
        body = dict(body, task=client.get("/api/quiz/task").json()["task"])
    response = client.post("/api/omniglot/adapt", json=body)
    assert response.status_code == 422
    answer = response.json()
    assert (answer.get("message") or answer["detail"]).startswith(field + ":")


def test_adapt_is_rate_limited_and_needs_a_maml_model(tmp_path):
    with TestClient(create_app(Settings(data_dir=tmp_path, classify_per_minute=4))) as c:
        tasks = [c.get("/api/quiz/task").json()["task"] for _ in range(4)]
        codes = [c.post("/api/omniglot/adapt", json={"task": task}) for task in tasks]
    limited = [r for r in codes if r.status_code == 429]
    assert limited and int(limited[0].headers["retry-after"]) >= 1
    assert codes[0].status_code != 429
    settings = Settings(data_dir=tmp_path / "d", models_dir=tmp_path / "none")
    with TestClient(create_app(settings)) as c:
        task = c.get("/api/quiz/task?ways=20").json()["task"]
        response = c.post("/api/omniglot/adapt", json={"task": task})
    assert response.status_code == 503 and "20-way MAML" in response.json()["detail"]

"""The landscape figures' API through the real app: shapes, values, validation, caching."""

import pytest
import torch
from fastapi.testclient import TestClient

from app.meta import landscape, landscape_views, toy
from app.meta.algorithms import ALGORITHMS, Hyper
from app.meta.params import flatten, leaves
from app.settings import Settings
from app.web.api import landscape as api
from app.web.api import updates as updates_api
from app.web.main import create_app

THETA = [0.5, -0.5]


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    with TestClient(create_app(Settings(data_dir=tmp_path_factory.mktemp("data")))) as c:
        yield c


def post(client, url, body):
    response = client.post(url, json=body)
    assert response.status_code == 200, response.text
    return response.json()


def test_toy_surfaces_have_the_grid_shapes_and_the_engine_values(client):
    data = post(client, "/api/landscape/toy", {"n": 11, "max_steps": 3, "alpha": 0.2})
    assert len(data["xs"]) == len(data["ys"]) == 11
    assert torch.tensor(data["task_losses"]).shape == (2, 11, 11)
    assert torch.tensor(data["meta_losses"]).shape == (4, 11, 11)
    assert len(data["meta_minima"]) == len(data["meta_minimum_values"]) == 4
    view = landscape.toy_landscape(n=11, alpha=0.2, max_steps=3)
    assert torch.allclose(torch.tensor(data["meta_losses"]), view.meta_losses, atol=1e-4)
    assert data["tasks"] == [list(t) for t in toy.TASKS] and data["box"] == list(toy.BOX)


def test_two_tasks_takes_one_inner_step_per_task(client):
    data = post(client, "/api/landscape/two-tasks", {"theta": THETA, "alpha": 0.3})
    view = landscape_views.adapted_view(toy.theta(*THETA), Hyper(inner_steps=1, alpha=0.3))
    assert torch.allclose(torch.tensor(data["phi"]), view.paths[:, 1])
    assert len(data["losses"]) == 2 and len(data["losses"][0]) == 2
    assert data["meta_loss"] == pytest.approx(sum(row[1] for row in data["losses"]), rel=1e-6)
    assert data["loss_before"] == pytest.approx(sum(row[0] for row in data["losses"]), rel=1e-6)
    assert data["meta_loss"] < data["loss_before"]


def test_reptile_with_one_step_is_a_gradient_step(client):
    one = post(client, "/api/landscape/reptile", {"theta": THETA, "inner_steps": 1, "beta": 0.7})
    assert one["new_theta"] == pytest.approx(one["gradient_step"], abs=1e-6)
    five = post(client, "/api/landscape/reptile", {"theta": THETA, "inner_steps": 5, "beta": 0.7})
    assert torch.tensor(five["paths"]).shape == (2, 6, 2)
    assert five["paths"][0][0] == THETA == five["theta"]
    assert five["new_theta"] != pytest.approx(five["gradient_step"], abs=1e-3)


def test_imaml_surface_and_balance_of_forces(client):
    data = post(client, "/api/landscape/imaml", {"theta": THETA, "lam": 2.0, "n": 21, "task": 2})
    assert torch.tensor(data["regularised"]).shape == (21, 21) and len(data["xs"]) == 21
    task = torch.tensor(data["task_gradient"])
    spring = torch.tensor(data["proximal_gradient"])
    assert torch.allclose(task, -spring, atol=2e-3)
    hp = landscape_views.proximal_hyper(2.0)
    assert data["solver"] == {"alpha": hp.alpha, "inner_steps": hp.inner_steps}
    view = landscape.implicit_view(toy.theta(*THETA), hp)
    assert torch.allclose(torch.tensor(data["phi"]), view.phi, atol=1e-6)
    surface = landscape_views.proximal_landscape(toy.theta(*THETA), 2.0, n=21)
    assert torch.allclose(torch.tensor(data["regularised"]), surface.regularised[1], atol=1e-4)


def test_imaml_cg_converges_to_the_exact_gradient(client):
    body = {"theta": THETA, "lam": 0.5, "cg_steps": 4, "damping": 0.1}
    data = post(client, "/api/landscape/imaml-cg", body)
    iterates = torch.tensor(data["iterates"])
    assert iterates.shape == (5, 2, 2) and iterates[0].abs().max() == 0
    assert torch.allclose(iterates[-1], torch.tensor(data["exact"]), atol=1e-5)
    errors = torch.tensor(data["errors"])
    assert errors.shape == (5, 2) and errors[-1].max() < 1e-5 < errors[0].min()
    assert all(c is None or c >= 1 for c in data["condition"])


def test_quadratic_gradients_agree_without_curvature(client):
    flat = post(client, "/api/landscape/quadratic", {"a": 0, "b": 0, "c": 0, "n": 5})
    assert torch.tensor(flat["arrows"]["maml"]).shape == (5, 5, 2)
    assert flat["arrows"]["maml"] == flat["arrows"]["fomaml"]
    assert max(map(max, flat["heat"]["angle_deg"])) == 0
    curved = post(client, "/api/landscape/quadratic", {"a": 6, "b": 0, "c": 1, "heatmap_n": 11})
    assert curved["eigenvalues"] == pytest.approx([1.0, 6.0])
    assert curved["maml_factors"] == pytest.approx([0.75, -0.5])
    assert max(map(max, curved["heat"]["angle_deg"])) > 90  # αλ > 1 reverses a component
    assert torch.tensor(curved["heat"]["error"]).shape == (11, 11)


@pytest.mark.parametrize(
    "body",
    [
        {"theta": THETA, "lam": 1.0, "baseline": False},
        {"theta": [-2.5, 2.5], "inner_steps": 4, "baseline": False},
    ],
)
def test_updates_are_update_directions_and_the_algorithms(client, body):
    data = post(client, "/api/updates", body)
    assert set(data) == {"maml", "fomaml", "reptile", "imaml"}
    request = updates_api.UpdatesRequest(**body)
    hp, overrides = updates_api.updates_hyper(request)
    lam = request.lam
    assert hp == Hyper(inner_steps=request.inner_steps, alpha=0.1, beta=1.0, lam=lam, cg_steps=5)
    assert overrides == {"imaml": landscape_views.proximal_hyper(lam, cg_steps=5)}
    theta = toy.theta(*body["theta"])
    expected = landscape.update_directions(theta, hp, overrides=overrides)
    model, batch = toy.neuron(), toy.two_tasks()
    for name, direction in expected.items():
        assert data[name] == pytest.approx(direction.tolist(), rel=1e-6, abs=1e-9)
        step = ALGORITHMS[name].meta_gradient(
            model, leaves(theta), batch, overrides.get(name, hp), True
        )
        assert data[name] == pytest.approx((-flatten(step.direction)).tolist(), rel=1e-5, abs=1e-7)


def test_updates_take_hyperparameters_and_the_baseline(client):
    body = {"theta": THETA, "alpha": 0.2, "inner_steps": 3, "lam": 5.0, "cg_steps": 2}
    data = post(client, "/api/updates", body)
    assert set(data) == {"maml", "fomaml", "reptile", "imaml", "pretrained"}  # by default
    assert data["maml"] != post(client, "/api/updates", {"theta": THETA})["maml"]
    hp = Hyper(inner_steps=3, alpha=0.2, lam=5.0, cg_steps=2)
    step = ALGORITHMS["pretrained"].meta_gradient(
        toy.neuron(), leaves(toy.theta(*THETA)), toy.two_tasks(), hp, True
    )
    assert data["pretrained"] == pytest.approx((-flatten(step.direction)).tolist(), rel=1e-6)


def test_cost_is_measured_for_each_algorithm_and_k(client):
    body = {"algorithms": ["maml", "fomaml"], "inner_steps": [1, 4], "repeats": 1}
    data = post(client, "/api/landscape/cost", body)
    rows = {(r["algorithm"], r["inner_steps"]): r for r in data["results"]}
    assert set(rows) == {("maml", 1), ("maml", 4), ("fomaml", 1), ("fomaml", 4)}
    assert rows["maml", 4]["peak_mb"] > 2 * rows["maml", 1]["peak_mb"]
    assert rows["fomaml", 4]["peak_mb"] == rows["fomaml", 1]["peak_mb"]
    assert all(r["ms"] > 0 and len(r["times_ms"]) == 1 for r in rows.values())
    assert data["tasks"] == 25 and data["shots"] == 10


@pytest.mark.parametrize(
    ("url", "body", "field"),
    [
        ("/api/updates", {"theta": [4.0, 0.0]}, "theta.0"),
        ("/api/updates", {"theta": [0.0, -3.5]}, "theta.1"),
        ("/api/updates", {"theta": [0.0]}, "theta.1"),
        ("/api/updates", {"theta": THETA, "lam": 0.01}, "lam"),
        ("/api/updates", {"theta": THETA, "alpha": 0.9}, "alpha"),
        ("/api/updates", {"theta": THETA, "inner_steps": 11}, "inner_steps"),
        ("/api/updates", {"theta": THETA, "cg_steps": 0}, "cg_steps"),
        ("/api/updates", {"theta": THETA, "beta": 0}, "beta"),
        ("/api/updates", {"theta": THETA, "gamma": 1}, "gamma"),
        ("/api/updates", {"theta": None}, "theta"),
        ("/api/landscape/toy", {"n": 1000}, "n"),
        ("/api/landscape/toy", {"max_steps": 21}, "max_steps"),
        ("/api/landscape/reptile", {"theta": THETA, "beta": 1.5}, "beta"),
        ("/api/landscape/imaml", {"theta": THETA, "lam": 200}, "lam"),
        ("/api/landscape/imaml", {"theta": THETA, "task": 3}, "task"),
        ("/api/landscape/imaml-cg", {"theta": THETA, "damping": -1}, "damping"),
        ("/api/landscape/quadratic", {"b": 4}, "b"),
        ("/api/landscape/quadratic", {"heatmap_n": 500}, "heatmap_n"),
        ("/api/landscape/cost", {"inner_steps": [1, 32]}, "inner_steps.1"),
        ("/api/landscape/cost", {"algorithms": ["reptile"]}, "algorithms.0"),
        ("/api/landscape/cost", {"inner_steps": [1, 2, 3, 4, 5, 6]}, "inner_steps"),
    ],
)
def test_validation_names_the_field(client, url, body, field):
    response = client.post(url, json=body)
    assert response.status_code == 422
    message = response.json()["message"]
    assert message.startswith(f"{field}:") or f"; {field}:" in message, message


def test_validation_messages_give_the_bound(client):
    message = client.post("/api/landscape/imaml", json={"theta": THETA, "lam": 200}).json()
    assert "less than or equal to 100" in message["message"]


def test_repeated_requests_are_answered_from_the_cache(client):
    updates_api.updates_json.cache_clear()
    body = {"theta": [0.123, -0.456], "inner_steps": 2}
    first = client.post("/api/updates", json=body)
    second = client.post("/api/updates", json=body)
    info = updates_api.updates_json.cache_info()
    assert (info.hits, info.misses) == (1, 1)
    assert first.content == second.content
    client.post("/api/updates", json=body | {"inner_steps": 3})
    assert updates_api.updates_json.cache_info().misses == 2
    before = api.reptile_json.cache_info().hits
    for _ in range(2):
        client.post("/api/landscape/reptile", json={"theta": [0.2, 0.2]})
    assert api.reptile_json.cache_info().hits == before + 1


def test_cost_measurements_are_rate_limited_per_client(tmp_path):
    settings = Settings(data_dir=tmp_path, cost_per_minute=1)
    body = {"algorithms": ["fomaml"], "inner_steps": [1], "repeats": 1}
    with TestClient(create_app(settings)) as c:
        assert c.post("/api/landscape/cost", json=body).status_code == 200
        refused = c.post("/api/landscape/cost", json=body)
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) >= 1
    assert "cost measurements" in refused.json()["detail"]

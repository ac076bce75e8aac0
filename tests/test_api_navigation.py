"""The navigation figure's endpoint, through the real app: shapes, bounds, 422s, the cache."""

import pytest
import torch
from fastapi.testclient import TestClient

from app.meta.rl import gaussian_mlp
from app.meta.rl_train import adapted_returns, load_checkpoint
from app.settings import ROOT, Settings
from app.web.api.navigation import adapt_answer
from app.web.main import create_app

BODY = {"goal": [0.3, -0.2], "models": ["pretrained", "maml"], "steps": 3, "seed": 5}


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    with TestClient(create_app(Settings(data_dir=tmp_path_factory.mktemp("data")))) as c:
        yield c


def test_every_step_of_both_policies(client):
    response = client.post("/api/navigation/adapt", json=BODY)
    assert response.status_code == 200
    result = response.json()
    assert result["goal"] == BODY["goal"]
    assert list(result["models"]) == ["pretrained", "maml"]
    for model in result["models"].values():
        assert len(model["returns"]) == len(model["trajectories"]) == 4
        assert all(r < 0 for r in model["returns"])  # every reward is −‖x − g‖² ≤ 0
        for step in model["trajectories"]:
            assert len(step) == 20
            for path in step:
                assert 2 <= len(path) <= 101
                assert path[0] == [0.0, 0.0]
                moves = torch.tensor(path).diff(dim=0).abs()
                assert float(moves.max()) <= 0.1 + 1e-3  # speeds are clipped to 0.1


def test_the_answer_is_the_engine_s(client):
    result = client.post("/api/navigation/adapt", json=dict(BODY, models=["maml"])).json()
    config, theta = load_checkpoint(ROOT / "models" / "navigation-maml.pt")
    rollouts = adapted_returns(
        gaussian_mlp(),
        theta,
        torch.tensor([BODY["goal"]]),
        config.alpha,
        3,
        20,
        torch.Generator().manual_seed(BODY["seed"]),
    )
    expected = [float(r.returns.mean()) for r in rollouts]
    assert result["models"]["maml"]["returns"] == pytest.approx(expected, rel=1e-5)


def test_fewer_steps_and_another_seed(client):
    zero = client.post("/api/navigation/adapt", json=dict(BODY, steps=0)).json()
    assert all(len(m["returns"]) == 1 for m in zero["models"].values())
    other = client.post("/api/navigation/adapt", json=dict(BODY, seed=6)).json()
    same = client.post("/api/navigation/adapt", json=BODY).json()
    assert other["models"]["maml"]["trajectories"] != same["models"]["maml"]["trajectories"]


def test_identical_requests_are_cached(client):
    body = dict(BODY, seed=123)
    first = client.post("/api/navigation/adapt", json=body).json()
    hits = adapt_answer.cache_info().hits
    assert client.post("/api/navigation/adapt", json=body).json() == first
    assert adapt_answer.cache_info().hits == hits + 1


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"goal": [0.6, 0.0]}, "goal.0"),
        ({"goal": [0.0, -0.51]}, "goal.1"),
        ({"goal": [0.0]}, "goal.1"),
        ({"models": []}, "models"),
        ({"models": ["nope"]}, "models.0"),
        ({"models": ["maml", "maml"]}, "models"),
        ({"steps": 4}, "steps"),
        ({"steps": -1}, "steps"),
        ({"seed": -1}, "seed"),
        ({"seed": 2**31}, "seed"),
        ({"alpha": 0.1}, "alpha"),
    ],
)
def test_bad_input_names_the_field(client, change, field):
    response = client.post("/api/navigation/adapt", json=dict(BODY, **change))
    assert response.status_code == 422
    assert response.json()["message"].startswith(field + ":")


def test_missing_reference_model_is_503(tmp_path):
    with TestClient(create_app(Settings(models_dir=tmp_path, data_dir=tmp_path))) as c:
        response = c.post("/api/navigation/adapt", json=dict(BODY, seed=77))
    assert response.status_code == 503
    assert "navigation-pretrained.pt" in response.json()["detail"]

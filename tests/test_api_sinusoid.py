"""The sinusoid fine-tuning figure's endpoint, through the real app."""

import httpx
import pytest
import torch
from fastapi.testclient import TestClient

from app.meta.adaptation_curves import finetune_curves
from app.meta.checkpoint import load_checkpoint
from app.meta.nets import regression_mlp
from app.settings import ROOT, Settings
from app.web.main import create_app
from tests.sse import stream

BODY = {"amplitude": 2.0, "phase": 0.5, "xs": [-3.0, -1.0, 0.5, 2.0, 4.0]}


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    with TestClient(create_app(Settings(data_dir=tmp_path_factory.mktemp("data")))) as c:
        yield c


def test_finetune_returns_every_step_for_both_reference_models(client):
    response = client.post("/api/sinusoid/finetune", json=BODY)
    assert response.status_code == 200
    result = response.json()
    assert [m["id"] for m in result["models"]] == ["pretrained", "maml"]
    assert len(result["x"]) == len(result["target"]) == 200
    assert result["support"]["y"] == pytest.approx(
        [2.0 * torch.sin(torch.tensor(x - 0.5)).item() for x in BODY["xs"]], abs=1e-6
    )
    for model in result["models"]:
        assert len(model["predictions"]) == len(model["losses"]) == 11

    config, params, _ = load_checkpoint(ROOT / "models" / "sinusoid-maml.pt")
    xs = torch.tensor(BODY["xs"])[:, None]
    ys = 2.0 * torch.sin(xs - 0.5)
    curves = finetune_curves(
        regression_mlp(), params, xs, ys, config.alpha, 10, torch.tensor(result["x"])[:, None]
    )
    assert result["models"][1]["losses"] == pytest.approx(curves.support_losses.tolist(), rel=1e-5)


def test_maml_adapts_where_the_baseline_does_not(client):
    models = client.post("/api/sinusoid/finetune", json=BODY).json()["models"]
    pretrained, maml = (m["losses"][1] for m in models)
    assert maml < 0.5 * pretrained


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"xs": []}, "xs"),
        ({"xs": [6.0]}, "xs.0"),
        ({"amplitude": 9}, "amplitude"),
        ({"steps": 50}, "steps"),
        ({"xs": [0.0] * 11}, "xs"),
    ],
)
def test_bad_input_names_the_field(client, change, field):
    response = client.post("/api/sinusoid/finetune", json=dict(BODY, **change))
    assert response.status_code == 422
    assert response.json()["message"].startswith(field + ":")


def test_unknown_model_is_404(client):
    response = client.post("/api/sinusoid/finetune", json=dict(BODY, models=["nope"]))
    assert response.status_code == 404


def test_a_trained_job_can_be_fine_tuned(live_server):
    job = httpx.post(
        live_server + "/api/jobs", json={"algo": "fomaml", "steps": 20, "meta_batch": 3, "seed": 2}
    ).json()
    assert stream(live_server, job["events"])[-1][0] == "done"
    result = httpx.post(
        live_server + "/api/sinusoid/finetune", json=dict(BODY, models=[job["id"]])
    ).json()
    assert result["models"][0]["title"] == "Your fomaml model"


def test_missing_reference_model_is_503(tmp_path):
    with TestClient(create_app(Settings(models_dir=tmp_path, data_dir=tmp_path))) as c:
        response = c.post("/api/sinusoid/finetune", json=BODY)
    assert response.status_code == 503
    assert "sinusoid-pretrained.pt" in response.json()["detail"]

"""Navigation training jobs through the real app: the stream, its evaluation, limits, 422s
(the cache and cancellation: ``tests/test_api_jobs.py``)."""

import httpx
import pytest

from app.meta.config import NavigationConfig
from app.meta.rl_train import evaluate, run
from app.web.job_cost import cost_problem
from tests.sse import stream
from tests.test_api_jobs import start

SMALL = {"task": "navigation", "algo": "maml", "steps": 4, "meta_batch": 2, "trajectories": 4}


def test_a_navigation_job_streams_returns_and_trajectories_then_the_cards_evaluation(
    live_server,
):
    events = stream(live_server, start(live_server, SMALL)["events"])
    names = [name for name, _ in events]
    assert names[0] == "start" and names[-1] == "done" and "result" not in names
    assert events[0][1]["probe"] == {"goal": [0.35, -0.3], "box": [-0.5, 0.5]}
    losses = [d for n, d in events if n == "progress" and "returns" not in d]
    assert [p["step"] for p in losses] == [1, 2, 3, 4]
    held_out = [d for n, d in events if n == "progress" and "returns" in d]
    assert held_out and set(held_out[-1]["returns"]) == {"0", "1"}
    snapshot = [d for n, d in events if n == "snapshot"][-1]
    assert snapshot["step"] == 4 and len(snapshot["trajectories"]) == 2  # before, after 1 step
    assert all(len(paths) == 5 and paths[0][0] == [0.0, 0.0] for paths in snapshot["trajectories"])
    assert all(len(p[0]) == 2 for paths in snapshot["trajectories"] for p in paths)
    # the job's final evaluation is the model cards': same goals, noise and steps
    theta = run(NavigationConfig(**SMALL), lambda progress: None)
    card = evaluate(theta, 0.1)
    done = events[-1][1]["eval"]
    assert done["goals"] == 100 and set(done["returns"]) == {"0", "1", "2", "3"}
    for j, value in card["return"].items():
        assert done["returns"][j] == pytest.approx(value, abs=1e-3)


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ({"algo": "reptile"}, "algo", "'maml', 'fomaml' or 'pretrained'"),
        ({"trajectories": 0}, "trajectories", "greater than or equal to 1"),
        ({"inner_steps": 6}, "inner_steps", "less than or equal to 5"),
        ({"shots": 5}, "shots", "Extra inputs are not permitted"),
        ({"steps": 1001}, "steps", "less than or equal to 1000 for navigation jobs"),
        ({"meta_batch": 100, "trajectories": 200}, None, "reduce meta_batch, trajectories"),
    ],
)
def test_bad_navigation_jobs_get_a_422_that_names_the_field(live_server, change, field, words):
    response = httpx.post(live_server + "/api/jobs", json=SMALL | change, timeout=60)
    assert response.status_code == 422, response.text
    detail = response.json()["detail"]
    if field:
        assert any(field in d["loc"] for d in detail), detail
    assert any(words in d["msg"] for d in detail), detail


def test_the_default_navigation_job_fits_the_servers_cost_limit():
    assert cost_problem(NavigationConfig()) is None
    assert cost_problem(NavigationConfig(algo="fomaml", inner_steps=2)) is None


def test_a_navigation_job_is_not_a_sinusoid_model_for_the_finetune_figure(live_server):
    job = start(live_server, dict(SMALL, algo="pretrained", steps=1, seed=9))
    stream(live_server, job["events"])
    body = {"models": [job["id"]], "xs": [0.0], "amplitude": 1.0, "phase": 0.0}
    response = httpx.post(live_server + "/api/sinusoid/finetune", json=body, timeout=60)
    assert response.status_code == 404 and "sinusoid training job" in response.text

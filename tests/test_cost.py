"""Measuring a meta-gradient: the saved-tensor meter, and MAML's memory growing with k."""

import pytest
import torch

from app.meta import cost


def test_meter_counts_each_saved_storage_once_and_releases_it():
    x = torch.randn(1000, requires_grad=True)
    with cost.SavedTensorMeter() as meter:
        y = (x * x).sum()  # mul saves x twice: one storage
        assert meter.current == 4000
        z = torch.exp(y.detach().requires_grad_(True) + x)  # exp saves its 1000-float output
        assert meter.current == 8000
        (z.sum() + y).backward()
        assert meter.current == 0
    assert meter.peak == 8000


def test_meter_sees_nothing_without_grad():
    x = torch.randn(100)
    with cost.SavedTensorMeter() as meter:
        (x * x).sum()
    assert meter.peak == 0


@pytest.fixture(scope="module")
def problem():
    return cost.sinusoid_problem(tasks=5, shots=5)


def test_maml_memory_grows_linearly_and_first_order_memory_does_not(problem):
    peaks = {
        name: [cost.peak_saved_bytes(name, problem, cost.hyper_for(k)) for k in (1, 2, 3, 5)]
        for name in cost.COST_ALGORITHMS
    }
    maml = peaks["maml"]
    per_step = maml[1] - maml[0]
    assert per_step > 0
    assert maml[2] - maml[1] == pytest.approx(per_step, rel=0.02)
    assert maml[3] - maml[2] == pytest.approx(2 * per_step, rel=0.02)
    for name in ("fomaml", "imaml"):
        assert len(set(peaks[name])) == 1, name  # the same at every k
        assert peaks[name][0] < maml[-1]


def test_cost_table_reports_every_configuration(problem):
    table = cost.cost_table(("maml", "fomaml"), (1, 2), repeats=2, problem=problem)
    assert [(c.algorithm, c.inner_steps) for c in table] == [
        ("maml", 1),
        ("maml", 2),
        ("fomaml", 1),
        ("fomaml", 2),
    ]
    for c in table:
        assert len(c.times_ms) == 2 and c.ms > 0 and c.peak_mb > 0
        assert min(c.times_ms) <= c.ms <= max(c.times_ms)

"""Schemathesis against the live app's own OpenAPI schema: every operation, valid and invalid
inputs, and not one 5xx answer or hang.

The app validates with pydantic and answers 4xx (422, 404, 409, 413, 429) to bad input; a 5xx
or a request slower than ``TIMEOUT`` is a bug. Nothing is excluded. Rate limits are raised so
that generated requests reach the routes, and ``job_max_steps`` and ``omniglot_job_max_steps``
are small so that generated training jobs stay short (larger ``steps`` are a 422).
"""

from __future__ import annotations

import time

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hypothesis_settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode

from tests.conftest import server_settings, serving

TIMEOUT = 10.0  # seconds: a slower answer counts as a hang
EXAMPLES = 20  # per operation and generation mode (positive and negative)


def exercise(operation, mode: GenerationMode, base: str, failures: list[str]) -> int:
    """Run ``EXAMPLES`` generated requests of one mode against one operation; returns how many."""
    calls = 0

    @given(case=operation.as_strategy(generation_mode=mode))
    @hypothesis_settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],  # failures are collected, not shrunk
        suppress_health_check=list(HealthCheck),
    )
    def run(case) -> None:
        nonlocal calls
        calls += 1
        label = f"{operation.label} [{mode.value}]"
        start = time.monotonic()
        try:
            response = case.call(base_url=base, timeout=TIMEOUT)
        except requests.Timeout:
            failures.append(f"{label}: no answer within {TIMEOUT} s\n  {case.as_curl_command()}")
            return
        elapsed = time.monotonic() - start
        if response.status_code >= 500:
            failures.append(
                f"{label}: {response.status_code} {response.text[:300]}\n  {case.as_curl_command()}"
            )
        elif elapsed > TIMEOUT:
            failures.append(f"{label}: {elapsed:.1f} s\n  {case.as_curl_command()}")

    try:
        run()
    except Unsatisfiable:  # nothing to negate (no parameters or body): no invalid request exists
        assert mode is GenerationMode.NEGATIVE and calls == 0
    return calls


@pytest.mark.slow
@pytest.mark.timeout(400)
def test_no_server_error_and_no_hang_on_any_operation(tmp_path):
    settings = server_settings(
        tmp_path,
        jobs_per_minute=100_000,
        quiz_answers_per_minute=100_000,
        classify_per_minute=100_000,
        cost_per_minute=100_000,
        job_max_steps=50,
        omniglot_job_max_steps=5,
    )
    with serving(settings) as (base, app):
        assert app.state.omniglot.ready.wait(120), "Omniglot did not load"
        schema = schemathesis.openapi.from_url(base + "/openapi.json")
        operations = [result.ok() for result in schema.get_all_operations()]
        assert len(operations) >= 15
        failures: list[str] = []
        counts = {}
        for operation in operations:
            for mode in GenerationMode:
                counts[operation.label, mode.value] = exercise(operation, mode, base, failures)
    for (label, mode), n in counts.items():
        print(f"{label:55} {mode:8} {n:3} examples")
    print(f"{len(operations)} operations, {sum(counts.values())} requests")
    assert not failures, "\n".join(failures)

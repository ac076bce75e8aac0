"""What this server trains on request: which algorithms, how large, how many steps.

A job within the configuration's own bounds may still be refused here: Omniglot jobs are
limited to the algorithms, meta-batches and N of :data:`OMNIGLOT_WEB_ALGORITHMS` and its
neighbours, steps to the settings' limits, and every job to what :mod:`app.web.job_cost`
estimates a piece of it costs. The pages offer the same algorithms.
"""

from __future__ import annotations

from app.meta.config import AnyConfig
from app.web.job_cost import cost_problem

OMNIGLOT_WEB_ALGORITHMS = ("protonet", "fomaml")


OMNIGLOT_WEB_MAX_BATCH = 4


OMNIGLOT_WEB_MAX_WAYS = 20


def web_limits(config: AnyConfig, settings) -> dict | None:
    """What this server will not train on request (beyond the config's own bounds)."""

    def error(field: str, msg: str) -> dict:
        return {"loc": ["body", field], "type": "value_error", "msg": msg}

    limit = settings.job_max_steps
    if config.task == "navigation":
        limit = settings.navigation_job_max_steps
    if config.task == "omniglot":
        if config.algo not in OMNIGLOT_WEB_ALGORITHMS:
            return error("algo", f"Omniglot jobs on this server: one of {OMNIGLOT_WEB_ALGORITHMS}")
        if config.meta_batch > OMNIGLOT_WEB_MAX_BATCH:
            return error(
                "meta_batch", f"Input should be at most {OMNIGLOT_WEB_MAX_BATCH} for Omniglot jobs"
            )
        if config.ways > OMNIGLOT_WEB_MAX_WAYS:
            return error("ways", f"Input should be at most {OMNIGLOT_WEB_MAX_WAYS}")
        if config.pretrain_steps:
            return error("pretrain_steps", "Input should be 0 for jobs on this server")
        limit = settings.omniglot_job_max_steps
    if config.steps > limit:
        return {
            "loc": ["body", "steps"],
            "type": "less_than_equal",
            "msg": f"Input should be less than or equal to {limit} for {config.task} jobs "
            "on this server",
        }
    too_heavy = cost_problem(config)
    if too_heavy:
        return {"loc": ["body"], "type": "value_error", "msg": too_heavy}
    return None

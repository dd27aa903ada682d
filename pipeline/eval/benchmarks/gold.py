"""Gold checks: each benchmark's own reference answer, written as a response, through its scorer.

The strongest test of an adapter and its verifier together: a math set's reference answers must
all score 1 (exceptions listed), MMLU-Pro's correct option scores 1 and a wrong one 0,
BigCodeBench's canonical solutions pass where their libraries are installed, and an obviously
wrong LiveCodeBench program fails.
"""

from __future__ import annotations

from typing import Any, Callable

from ...data.prompts import user_text
from ...rewards.total import RewardModel, Sample
from .base import BENCHMARKS


def score_responses(records: list[dict[str, Any]], responses: list[str], rewards: RewardModel) -> list[float | None]:
    """The primary (accuracy) component of each response."""
    scored = rewards.score([Sample(r["task"], user_text(r["prompt"]), response, r["reference"], r["meta"])
                            for r, response in zip(records, responses)])
    return [s.components["accuracy"] for s in scored]


def gold_check(name: str, records: list[dict[str, Any]], rewards: RewardModel,
               respond: Callable[[dict[str, Any]], str] | None = None) -> dict[str, Any]:
    """Rate at which ``respond(record)`` (default: the benchmark's gold response) scores 1, with the ids
    that did not."""
    respond = respond or BENCHMARKS[name].gold
    scores = score_responses(records, [respond(r) for r in records], rewards)
    failed = [r["id"] for r, s in zip(records, scores) if s != 1.0]
    return {"benchmark": name, "n": len(records), "passed": len(records) - len(failed),
            "rate": (len(records) - len(failed)) / len(records), "failed": failed}

"""The reward-kind registry: a primary reward (the ``accuracy`` component of R_k) and what the rest of the
pipeline needs to know of it, declared where it is registered. :mod:`.total` registers the paper's kinds and
scores batches; :mod:`.kinds` holds more, one module each (docs/extending.md)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Sequence

from ..registry import Registry


@dataclass(frozen=True)
class Sample:
    """What a reward needs: the prompt text, the response, the reference and the record's meta."""

    task: str
    question: str
    response: str
    reference: str
    meta: dict[str, Any]


Primary = Callable[[Any, Sequence[Sample]], list[float | None]]
"""A primary reward: (the :class:`~pipeline.rewards.total.RewardModel` scoring the batch, which holds the
verifiers and the judge, the samples) → a score per sample, None where there is no verdict."""


@dataclass(frozen=True)
class RewardKind:
    """A primary reward (the ``accuracy`` component) and what the rest of the pipeline needs to know of it,
    declared where it is registered: ``keep_at``, the primary reward from which RFT keeps a sampled response;
    ``judged``, whether the judge scores it (its API calls in the cost table, "model" style in verl's parquet)."""

    score: Primary
    keep_at: float = 1.0
    judged: bool = False


REWARD_KINDS: Registry[RewardKind] = Registry("reward kind")
"""Every reward kind, by name: the only list of them (``rewards.tasks.<t>.kind`` is checked against it)."""


def register_reward_kind(name: str, keep_at: float = 1.0, judged: bool = False) -> Callable[[Primary], Primary]:
    """Register ``score`` as reward kind ``name`` with its properties (:class:`RewardKind`)."""
    def decorate(score: Primary) -> Primary:
        REWARD_KINDS.register(name)(RewardKind(score, keep_at, judged))
        return score

    return decorate

"""Multi-task schedules (Section 2.3).

A schedule is a sequence of batches ``(B_s)``: pairwise disjoint within an epoch and
covering ``∪_k D_k`` exactly once per epoch. Items are ``(task, index)`` pairs.

- **single-task**: one task's data only;
- **joint**: each batch drawn uniformly without replacement from all remaining items,
  disregarding tasks (a shuffle of the union, cut into batches);
- **curriculum** σ: *pure* batches (one task each) from task σ(1) until its data is
  exhausted, then σ(2), …; with several epochs, each task's epochs run back to back
  before the next task starts (one verl run per task segment at scale). The last
  batch of a task may be smaller than ``batch_size``: it is never topped up from the
  next task, which would break purity.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Mapping, Sequence

import numpy as np

from ..errors import UserError

Item = tuple[str, int]


@dataclass(frozen=True)
class Batch:
    items: tuple[Item, ...]
    epoch: int
    segment: str  # task name for curriculum/single segments, "joint" otherwise


@dataclass(frozen=True)
class Segment:
    """A maximal run of consecutive batches with the same ``segment`` name: batches ``start .. stop - 1`` of the
    schedule, the ``number``-th segment (from 1). One verl run, one optimizer, one ``segments/<number>-<name>``."""

    name: str
    number: int
    start: int
    stop: int


def segment_spans(schedule: Sequence[Batch]) -> list[Segment]:
    """The segments of ``schedule``, in order (one for a single-task or joint run, K for a curriculum)."""
    spans: list[Segment] = []
    for index, batch in enumerate(schedule):
        if spans and spans[-1].name == batch.segment:
            last = spans[-1]
            spans[-1] = Segment(last.name, last.number, last.start, index + 1)
        else:
            spans.append(Segment(batch.segment, len(spans) + 1, index, index + 1))
    return spans


def _chunks(items: list[Item], size: int, epoch: int, segment: str) -> list[Batch]:
    return [Batch(tuple(items[i:i + size]), epoch, segment) for i in range(0, len(items), size)]


def _shuffled(items: list[Item], rng: np.random.Generator) -> list[Item]:
    return [items[i] for i in rng.permutation(len(items))]


def single_schedule(sizes: dict[str, int], task: str, batch_size: int, epochs: int,
                    rng: np.random.Generator) -> list[Batch]:
    """Batches from ``task`` only."""
    return curriculum_schedule(sizes, [task], batch_size, epochs, rng)


def joint_schedule(sizes: dict[str, int], batch_size: int, epochs: int, rng: np.random.Generator) -> list[Batch]:
    """Uniform without replacement over the union of all tasks, per epoch."""
    union = [(t, i) for t, n in sizes.items() for i in range(n)]
    return [b for e in range(epochs) for b in _chunks(_shuffled(union, rng), batch_size, e, "joint")]


def curriculum_schedule(sizes: dict[str, int], order: Sequence[str], batch_size: int | Mapping[str, int], epochs: int,
                        rng: np.random.Generator) -> list[Batch]:
    """Pure batches, task by task in ``order``, each task until exhaustion (all its epochs); ``batch_size``
    may differ per task (a mapping), as each segment is its own run at scale."""
    unknown = [t for t in order if t not in sizes]
    if unknown or len(set(order)) != len(order):
        raise ValueError(f"curriculum order {list(order)} must list distinct known tasks (have {sorted(sizes)})")
    batches: list[Batch] = []
    for task in order:
        items = [(task, i) for i in range(sizes[task])]
        for e in range(epochs):
            size = batch_size[task] if isinstance(batch_size, Mapping) else batch_size
            batches += _chunks(_shuffled(items, rng), size, e, task)
    return batches


SCHEDULES: dict[str, Callable[..., list[Batch]]] = {
    "single": single_schedule, "joint": joint_schedule, "curriculum": curriculum_schedule,
}


def capped_sizes(sizes: dict[str, int], steps: dict[str, int | None], batch_size: dict[str, int]) -> dict[str, int]:
    """Prompts each task contributes per epoch: its first ``steps[t] × batch_size[t]`` records (all when
    ``steps[t]`` is None). Single-task, joint and curriculum runs built on these sizes see the very same
    prompts of each task, so the schedules differ only in order (Section 2.3's comparison)."""
    out = {}
    for t, n in sizes.items():
        cap = steps.get(t)
        out[t] = n if cap is None else min(n, cap * batch_size[t])
    return out


def snapshot_interval(keep_every: int, keep_snapshots: int, steps: int, where: str = "train.grpo") -> int:
    """Steps between the snapshots a single-task run keeps for checkpoint selection (0: none, the final model
    only). ``keep_every`` is taken as given but refused when it leaves no snapshot before the final step (a
    selection with one candidate); otherwise ``keep_snapshots`` n is spread evenly: every ``steps // (n + 1)``
    steps (at least 1), which keeps at least min(n, steps − 1) snapshots before the final step (a little more
    when n + 1 does not divide the run)."""
    if keep_every:
        if keep_every >= steps:
            raise UserError(f"{where}.keep_every: {keep_every} leaves no snapshot before the final step of this "
                            f"{steps}-step run, so checkpoint selection would have the final model only; use "
                            f"keep_every < {steps}, or keep_every: 0 with keep_snapshots: N to derive it")
        return keep_every
    if keep_snapshots:
        return max(1, steps // (keep_snapshots + 1))
    return 0

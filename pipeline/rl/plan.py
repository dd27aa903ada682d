"""What a GRPO run trains on, independent of the backend that runs it.

Every task contributes the same prompts in every mode: the first ``max_steps × batch_size`` of
its train split under its single-task settings (``train.overrides``). A curriculum segment runs
with its task's single-task settings and a fresh optimizer (one verl run per segment at scale);
a joint run uses ``train.grpo`` for its mixed batches.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..config import GRPOParams, Params
from ..errors import UserError
from .schedules import (
    Batch,
    capped_sizes,
    curriculum_schedule,
    joint_schedule,
    segment_spans,
    single_schedule,
    snapshot_interval,
)


@dataclass(frozen=True)
class TrainPlan:
    mode: str                                    # single | joint | curriculum
    tasks: list[str]                             # the run's tasks (params order)
    records: dict[str, list[dict[str, Any]]]     # train records per task
    sizes: dict[str, int]                        # prompts each task contributes per epoch
    schedule: list[Batch]                        # the batches, in order
    grpo: GRPOParams                             # run-level settings (single: the task's; joint: train.grpo)
    segment_params: dict[str, GRPOParams] | None  # curriculum: each segment's settings
    curated: Path                                # folder of curate outputs (val splits for verl)

    def segments(self) -> list[tuple[str, list[Batch]]]:
        """Consecutive runs of batches with the same segment name (one verl run each)."""
        return [(s.name, self.schedule[s.start:s.stop]) for s in segment_spans(self.schedule)]


def plan_training(params: Params, mode: str, curated: Path, task: str | None = None,
                  order: list[str] | None = None) -> TrainPlan:
    """Read the train splits and build the schedule of a single, joint or curriculum run (seeded by ``params.seed``)."""
    from ..data.schema import read_split

    tasks = [task] if mode == "single" else list(params.tasks)
    per_task = {t: params.train.for_single(t) for t in tasks}
    grpo = per_task[task] if mode == "single" else params.train.grpo.model_copy(update={"keep_every": 0})
    records = {}
    for t in tasks:
        path = Path(curated) / t / "train.parquet"
        if not path.exists():
            raise UserError(f"{path}: file not found (run curate for task '{t}' first)")
        records[t] = read_split(path, task=t)
    sizes = capped_sizes({t: len(r) for t, r in records.items()},
                         {t: p.max_steps for t, p in per_task.items()},
                         {t: p.batch_size for t, p in per_task.items()})
    rng = np.random.default_rng(params.seed)
    segment_params = None
    if mode == "single":
        schedule = single_schedule(sizes, task, grpo.batch_size, grpo.epochs, rng)
        steps = (sum(len(b.items) == grpo.batch_size for b in schedule) if params.train.backend == "verl"
                 else len(schedule))  # verl drops a last partial batch
        where = f"train.overrides.{task}" if "keep_every" in params.train.overrides.get(task, {}) else "train.grpo"
        grpo = grpo.model_copy(update={"keep_every": snapshot_interval(grpo.keep_every, grpo.keep_snapshots, steps,
                                                                       where)})
    elif mode == "joint":
        schedule = joint_schedule(sizes, grpo.batch_size, grpo.epochs, rng)
    else:
        segment_params = {t: p.model_copy(update={"keep_every": 0}) for t, p in per_task.items()}
        schedule = curriculum_schedule(sizes, order, {t: p.batch_size for t, p in per_task.items()},
                                       grpo.epochs, rng)
    return TrainPlan(mode, tasks, records, sizes, schedule, grpo, segment_params, Path(curated))

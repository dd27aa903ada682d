"""One training run, whatever the backend: plan it (:mod:`.plan`), then hand it to ``train.backend``."""

from __future__ import annotations

from pathlib import Path

from ..io import run_folder_lock
from .backends import train_backend
from .plan import plan_training


def train_run(params, mode: str, base: Path, curated: Path, out: Path, task: str | None = None,
              order: list[str] | None = None, dry_run: bool = False, singles: Path | None = None,
              pairs: Path | None = None) -> dict:
    """One GRPO run with ``train.backend``; writes ``out/{model,log.jsonl,metrics.json,checkpoints,segments}``
    and returns the summary (with ``dry_run``: prints what it would run and writes nothing). ``singles`` and
    ``pairs``: the single-task runs and pair runs (``train-pairs``) a curriculum may start from (see ``train
    --singles``)."""
    plan = plan_training(params, mode, curated, task=task, order=order)
    run = train_backend(params.train.backend)
    if dry_run:
        return run(params, plan, base, out, dry_run=True, singles=singles, pairs=pairs)
    with run_folder_lock(out):  # one run at a time per folder: two would interleave one log
        return run(params, plan, base, out, singles=singles, pairs=pairs)

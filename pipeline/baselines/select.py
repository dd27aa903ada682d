"""Checkpoint selection for the merge baseline (Section 4: "the best checkpoints with the help of a
validation set for each training run").

A single-task run leaves HF snapshots in ``checkpoints/step-<n>/`` (every ``train.grpo.keep_every``
steps) and its final model in ``model/``. Each candidate is evaluated on its own task's
validation split; the best accuracy wins, and ties go to the later step (more training for
the same validation score).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from ..errors import UserError


def candidates(run_dir: Path) -> list[tuple[int, Path]]:
    """(step, model folder) of every saved checkpoint of a run, in step order; the final model last."""
    metrics = run_dir / "metrics.json"
    if not (run_dir / "model").is_dir() or not metrics.exists():
        raise UserError(f"{run_dir}: not a finished training run (no model/ or metrics.json)")
    final_step = int(json.loads(metrics.read_text())["steps"])
    found = []
    for path in sorted((run_dir / "checkpoints").glob("step-*")):
        match = re.fullmatch(r"step-(\d+)", path.name)
        if match and int(match.group(1)) < final_step:
            found.append((int(match.group(1)), path))
    return sorted(found) + [(final_step, run_dir / "model")]


def best_checkpoint(accuracies: list[tuple[int, float]]) -> int:
    """The step with the highest validation accuracy; ties go to the later step."""
    if not accuracies:
        raise ValueError("no checkpoints to select from")
    return max(accuracies, key=lambda sa: (sa[1], sa[0]))[0]

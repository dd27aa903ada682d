"""What a verl GRPO run keeps on disk: the newest checkpoint whole, and the HF folders of its snapshot steps.

A run saves every ``trainer.save_freq`` steps (:func:`~.verl_config.save_frequency`), so that a preempted or
timed-out job resumes at most that many steps back. At 7B a checkpoint is about 120 GB (fp32 model shards and
AdamW moments, the HF folder of the master weights); a run that saved every step and kept them all would fill
terabytes. verl 0.9.1's V1 trainer calls ``trainer.checkpoint_callback_class``'s ``on_save`` on the driver after
each save, once ``latest_checkpointed_iteration.txt`` names the new one; :class:`PruneCheckpoints` then removes
every older checkpoint but the snapshot steps' ``actor/huggingface`` folders (checkpoint selection of the merge
baseline reads those only). verl's own ``max_actor_ckpt_to_keep`` would delete the snapshots with the rest.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Iterable

from verl.trainer.ppo.checkpoint_callback import CheckpointCallback

KEEP_KEY = "omni_keep_hf_steps"  # trainer.<this>: the run's snapshot steps (verl_config.grpo_overrides)
_STEP = re.compile(r"^global_step_(\d+)$")
HF_FOLDER = Path("actor") / "huggingface"


def prune_checkpoints(root: Path, latest: int, snapshots: Iterable[int]) -> list[Path]:
    """Under ``root`` (``trainer.default_local_dir``), remove every ``global_step_<n>`` with ``n < latest`` except
    the snapshot steps, of which only ``actor/huggingface`` is kept. ``latest`` and later are never touched.
    Returns what was removed."""
    keep = set(snapshots)
    removed: list[Path] = []
    for folder in sorted(Path(root).glob("global_step_*")):
        match = _STEP.match(folder.name)
        if not match or not folder.is_dir() or int(match.group(1)) >= latest:
            continue
        if int(match.group(1)) not in keep:
            shutil.rmtree(folder)
            removed.append(folder)
            continue
        hf = folder / HF_FOLDER
        for path in sorted(folder.rglob("*"), key=lambda p: len(p.parts), reverse=True):
            if path == hf or hf in path.parents or path in hf.parents:
                continue
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            else:
                path.unlink()
            removed.append(path)
    return removed


class PruneCheckpoints(CheckpointCallback):
    """verl's checkpoint callback (``trainer.checkpoint_callback_class``): :func:`prune_checkpoints` after each
    synchronous save, with the snapshot steps of ``trainer.omni_keep_hf_steps``."""

    def on_save(self, trainer, global_step: int, checkpoint_dir: str, async_save: bool = False, **kwargs) -> None:
        if async_save:  # the new checkpoint may not be on disk yet: keep the older ones
            return
        snapshots = [int(s) for s in (self.config.trainer.get(KEEP_KEY) or [])] if self.config is not None else []
        removed = prune_checkpoints(Path(checkpoint_dir).parent, int(global_step), snapshots)
        if removed:
            print(f"checkpoints: kept global_step_{global_step} and the HF folders of snapshot steps "
                  f"{sorted(s for s in snapshots if s < global_step)}; removed {len(removed)} older path(s)",
                  flush=True)

"""Training backends: ``train.backend`` → the function that runs a :class:`~pipeline.rl.plan.TrainPlan`.

Each writes the same run folder: ``model/`` (HF), ``log.jsonl``, ``metrics.json``,
``checkpoints/index.json`` (+ ``checkpoints/step-<n>/`` snapshots for checkpoint selection)
and, for a curriculum, ``segments/<i>-<task>/`` (the HF model at each task boundary).
"""

from __future__ import annotations

import importlib
import json
import os
import shutil
from pathlib import Path
from typing import Callable

from ..errors import UserError
from ..registry import Registry
from .plan import TrainPlan

TRAIN_BACKENDS: Registry[Callable[..., dict]] = Registry("training backend")
BACKEND_MODULES = {"local": "pipeline.rl.backends", "verl": "pipeline.scale.verl_run"}
"""Where each backend registers itself, imported on first use (as the CLI loads its commands), so that the
core ``rl`` package never imports its ``scale`` plugin."""


def train_backend(name: str) -> Callable[..., dict]:
    """The backend registered as ``name``, importing its module first."""
    if name not in BACKEND_MODULES:
        raise UserError(f"train.backend: unknown training backend {name!r}; known: "
                        f"{', '.join(sorted(BACKEND_MODULES))}")
    importlib.import_module(BACKEND_MODULES[name])
    return TRAIN_BACKENDS[name]


@TRAIN_BACKENDS.register("local")
def train_local(params, plan: TrainPlan, base: Path, out: Path, dry_run: bool = False,
                singles: Path | None = None, pairs: Path | None = None) -> dict:
    """Our MT-GRPO loop (:class:`~pipeline.rl.trainer.GRPOTrainer`) on CPU or one GPU; resumable from
    ``out/work`` (snapshots for checkpoint selection, ``keep_every``, are kept for single-task runs only).
    A curriculum starts from ``pairs/runs/<first>-<second>`` when that pair run is exactly its first two
    segments, else from ``singles/<first task>`` when that single-task run is exactly its first segment. A run
    already finished in ``out`` (the same key, :meth:`GRPOTrainer.finished_in`) is kept, not trained again (DVC
    and Snakemake remove a stage's outputs before running it; this serves direct reruns, such as an interrupted
    ``validate-predictions``)."""
    import numpy as np

    from ..io import read_json, staged_outputs, write_json_atomic
    from ..models.tiny import load_model, save_tokenizer
    from ..rewards.total import RewardModel
    from .trainer import FINAL_STATE, TIMINGS, GRPOTrainer

    if dry_run:
        print(describe(plan))
        return {"mode": plan.mode, "steps": len(plan.schedule), "dry_run": True}
    per_task = plan.segment_params or {t: params.train.for_single(t) for t in plan.tasks}
    model, tokenizer = load_model(base)
    betas = [v for p in (plan.grpo, *per_task.values()) for v in p.beta.values()]
    ref = load_model(base)[0] if any(v > 0 for v in betas) else None
    rewards = RewardModel(params.rewards)
    try:
        trainer = GRPOTrainer(model, tokenizer, plan.records, plan.schedule, plan.grpo, rewards, out / "work",
                              params.seed, ref, segment_params=plan.segment_params,
                              keep_segments=plan.mode == "curriculum", threads=params.train.threads)
        if trainer.finished_in(out) and (out / "metrics.json").exists():
            print(f"{out}: this run is already trained there (same θ0, batches, settings, seed and rewards); "
                  "kept (delete the folder to train it again)", flush=True)
            timings = out / "timings.json"
            return {**read_json(out / "metrics.json"), **(read_json(timings) if timings.exists() else {})}
        if plan.mode == "curriculum":
            trainer.adopt_prefix(prefix_runs(plan, singles, pairs))
        last = trainer.train()
    finally:
        rewards.close()
    logs = [json.loads(line) for line in (out / "work" / "log.jsonl").read_text().splitlines()]
    timed = [json.loads(line) for line in (out / "work" / TIMINGS).read_text().splitlines()] \
        if (out / "work" / TIMINGS).exists() else []
    summary = {"mode": plan.mode, "backend": "local", "device": str(next(model.parameters()).device),
               "steps": len(logs),
               "schedule": [name for name, _ in plan.segments()], "prompts": plan.sizes,
               "final": last.get("tasks", {})}
    timings = {"steps_timed": len(timed), "seconds": float(sum(t["step_s"] for t in timed)),
               "tokens_per_s": float(np.mean([t["tokens_per_s"] for t in timed])) if timed else 0.0}
    with staged_outputs(out) as stage:
        model.save_pretrained(stage / "model")
        save_tokenizer(tokenizer, stage / "model")
        if (out / "work" / FINAL_STATE).exists():
            shutil.copy(out / "work" / FINAL_STATE, stage / "model" / FINAL_STATE)
        write_json_atomic(stage / "metrics.json", summary)
        write_json_atomic(stage / "timings.json", timings)  # .dvcignore'd: a rerun's timings change no hash
        shutil.copy(out / "work" / "log.jsonl", stage / "log.jsonl")
        steps = sorted(int(d.name.split("-")[1]) for d in (out / "work" / "checkpoints").glob("step-*"))
        write_json_atomic(stage / "checkpoints" / "index.json", {"steps": steps, "final": summary["steps"]})
        for kept in ("segments", "checkpoints"):
            if (out / "work" / kept).is_dir():
                shutil.copytree(out / "work" / kept, stage / kept, dirs_exist_ok=True)
            shutil.rmtree(out / kept, ignore_errors=True)  # snapshots of an earlier run must not linger
        # The final resumable state stays in OUT/work (not an output): Slurm marks a job that ends after its
        # time limit TIMEOUT even when it succeeded, and the retry must not train again from step 0.
        os.rename(out / "work", stage / "work")
    return {**summary, **timings}


def prefix_runs(plan: TrainPlan, singles: Path | None, pairs: Path | None) -> list[Path]:
    """The finished runs a curriculum may start from: its first task's single-task run and, with three tasks or
    more, the pair run of its first two (``train-pairs``)."""
    order = [name for name, _ in plan.segments()]
    runs = [Path(singles) / order[0]] if singles is not None and order else []
    if pairs is not None and len(order) > 2:
        runs.append(Path(pairs) / "runs" / f"{order[0]}-{order[1]}")
    return runs


def describe(plan: TrainPlan) -> str:
    """A human-readable plan: per segment, its batches, prompts and settings."""
    lines = [f"{plan.mode} run: {len(plan.schedule)} steps; prompts per task and epoch {plan.sizes}"]
    for i, (name, batches) in enumerate(plan.segments(), start=1):
        settings = (plan.segment_params or {}).get(name, plan.grpo)
        keys = ("batch_size", "group_size", "epochs", "lr", "lr_schedule", "max_new_tokens", "temperature",
                "eps_low", "eps_high", "beta")
        lines.append(f"  segment {i} {name}: {len(batches)} batches; "
                     + ", ".join(f"{k}={getattr(settings, k)}" for k in keys))
    return "\n".join(lines)


"""``train``: MT-GRPO on one task (single), all tasks mixed (joint) or task by task (curriculum)."""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

from ..cli import command
from ..config import DEFAULT_PARAMS, load_params
from ..errors import UserError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--mode", required=True, choices=["single", "joint", "curriculum"], help="schedule (Section 2.3)")
    parser.add_argument("--task", help="the task of a single-task run")
    parser.add_argument("--order", help="curriculum: curriculum.json from `order` (its recommended order) or a "
                                        "comma-separated task list")
    parser.add_argument("--base", default="data/models/base", help="θ0 folder (HF format)")
    parser.add_argument("--curated", default="data/curated", help="folder of curate outputs")
    parser.add_argument("--out", required=True, metavar="DIR",
                        help="run folder: model/, log.jsonl, metrics.json, checkpoints/step-<n>/ (train.grpo.keep_every) "
                             "and, for a curriculum, segments/<i>-<task>/; "
                             "work/ holds the resumable checkpoint while the run is in progress")
    parser.add_argument("--params", default=str(DEFAULT_PARAMS), help="parameters file (default: params.yaml)")


def _order(spec: str, tasks: list[str]) -> list[str]:
    """A curriculum order from curriculum.json (its recommended ``order``) or a comma-separated list."""
    path = Path(spec)
    if path.suffix == ".json":
        if not path.exists():
            raise UserError(f"{path}: file not found")
        order = json.loads(path.read_text())["order"]
    else:
        order = [t.strip() for t in spec.split(",") if t.strip()]
    if sorted(order) != sorted(tasks):
        raise UserError(f"curriculum order {order} must list each task of params exactly once ({tasks})")
    return order


@command("train", help="MT-GRPO training (local backend) with a single-task, joint or curriculum schedule.")
def run(args: argparse.Namespace) -> int:
    params = load_params(args.params)
    if args.mode == "single" and args.task not in params.tasks:
        raise UserError(f"--task must be one of {params.tasks} for --mode single")
    if args.mode == "curriculum" and not args.order:
        raise UserError("--mode curriculum needs --order (curriculum.json or a comma-separated list)")
    order = _order(args.order, list(params.tasks)) if args.mode == "curriculum" else None
    summary = train_run(params, args.mode, Path(args.base), Path(args.curated), Path(args.out),
                        task=args.task, order=order)
    print(f"trained ({args.mode}) {summary['steps']} steps in {summary['seconds']:.0f} s -> {Path(args.out) / 'model'}")
    return 0


def train_run(params, mode: str, base: Path, curated: Path, out: Path, task: str | None = None,
              order: list[str] | None = None) -> dict:
    """One GRPO run; writes ``out/{model,log.jsonl,metrics.json,checkpoints,segments}`` and returns the summary.

    Every task contributes the same prompts in every mode: the first ``max_steps × batch_size`` of its
    train split under its single-task settings (``train.overrides``). A curriculum segment runs with its
    task's single-task settings and a fresh optimizer (one verl run per segment at scale); a joint run
    uses ``train.grpo`` for its mixed batches. Snapshots for checkpoint selection (``keep_every``) are
    kept for single-task runs only.
    """
    import numpy as np

    from ..data.schema import read_split
    from ..io import staged_outputs, write_json_atomic
    from ..models.tiny import load_model
    from ..rewards.total import RewardModel
    from ..rl.schedules import capped_sizes, curriculum_schedule, joint_schedule, single_schedule
    from ..rl.trainer import GRPOTrainer

    tasks = [task] if mode == "single" else list(params.tasks)
    per_task = {t: params.train.for_single(t) for t in tasks}
    grpo = per_task[task] if mode == "single" else params.train.grpo.model_copy(update={"keep_every": 0})
    records = {}
    for t in tasks:
        path = curated / t / "train.parquet"
        if not path.exists():
            raise UserError(f"{path}: file not found (run curate for task '{t}' first)")
        records[t] = read_split(path)
    sizes = capped_sizes({t: len(r) for t, r in records.items()}, {t: p.max_steps for t, p in per_task.items()},
                         {t: p.batch_size for t, p in per_task.items()})
    rng = np.random.default_rng(params.seed)
    segment_params = None
    if mode == "single":
        schedule = single_schedule(sizes, task, grpo.batch_size, grpo.epochs, rng)
    elif mode == "joint":
        schedule = joint_schedule(sizes, grpo.batch_size, grpo.epochs, rng)
    else:
        segment_params = {t: p.model_copy(update={"keep_every": 0}) for t, p in per_task.items()}
        schedule = curriculum_schedule(sizes, order, {t: p.batch_size for t, p in per_task.items()},
                                       grpo.epochs, rng)
    model, tokenizer = load_model(base)
    betas = [v for p in (grpo, *per_task.values()) for v in p.beta.values()]
    ref = load_model(base)[0] if any(v > 0 for v in betas) else None
    rewards = RewardModel(params.rewards)
    try:
        trainer = GRPOTrainer(model, tokenizer, records, schedule, grpo, rewards, out / "work", params.seed, ref,
                              segment_params=segment_params)
        last = trainer.train()
    finally:
        rewards.close()
    logs = [json.loads(line) for line in (out / "work" / "log.jsonl").read_text().splitlines()]
    summary = {"mode": mode, "steps": len(logs), "schedule": list(dict.fromkeys(b.segment for b in schedule)),
               "prompts": sizes,
               "tokens_per_s": float(np.mean([m["tokens_per_s"] for m in logs])) if logs else 0.0,
               "seconds": float(sum(m["step_s"] for m in logs)),
               "final": last.get("tasks", {})}
    with staged_outputs(out) as stage:
        model.save_pretrained(stage / "model")
        tokenizer.save_pretrained(stage / "model")
        write_json_atomic(stage / "metrics.json", summary)
        shutil.copy(out / "work" / "log.jsonl", stage / "log.jsonl")
        steps = sorted(int(d.name.split("-")[1]) for d in (out / "work" / "checkpoints").glob("step-*"))
        write_json_atomic(stage / "checkpoints" / "index.json", {"steps": steps, "final": summary["steps"]})
        for kept in ("segments", "checkpoints"):
            if (out / "work" / kept).is_dir():
                shutil.copytree(out / "work" / kept, stage / kept, dirs_exist_ok=True)
            shutil.rmtree(out / kept, ignore_errors=True)  # snapshots of an earlier run must not linger
    shutil.rmtree(out / "work")  # the resumable state is only needed until the run completes
    return summary

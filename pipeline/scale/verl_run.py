"""The verl backend: a :class:`~pipeline.rl.plan.TrainPlan` as ``verl.trainer.main_ppo`` runs.

- **single** and **joint**: one run on the schedule's file;
- **curriculum**: one run per task segment; segment i starts from segment i − 1's last
  checkpoint, converted to HF with ``python -m verl.model_merger merge``; every segment's HF
  model is kept (``segments/<i>-<task>/``) for per-stage evaluation.

Each run's data is its part of the schedule written as verl parquet in batch order (epochs
unrolled; ``data.shuffle=false``), so the batches are those of the local backend. verl's
dataloader drops a last partial batch (``drop_last``); we say so when it happens.

Work files live in ``out/work/verl/<i>-<name>/`` (``train.parquet``, ``val.parquet``,
``checkpoints/``, ``verl_log.jsonl``, ``hf/``). A run is skipped when its ``hf/`` exists, so
rerunning the stage after a failure resumes at the failed segment, and verl's
``trainer.resume_mode=auto`` resumes inside it.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from ..errors import UserError
from ..rl.backends import TRAIN_BACKENDS
from ..rl.plan import TrainPlan
from .verl_config import VerlRun, grpo_overrides, main_ppo_command, model_merger_command


def run_beta(plan: TrainPlan, name: str) -> float:
    """β of one run: its task's β (single, curriculum segment); a joint run needs one β for all tasks,
    since verl has a single ``kl_loss_coef``."""
    if plan.mode == "joint":
        betas = {plan.grpo.beta.get(t, 0.0) for t in plan.tasks}
        if len(betas) > 1:
            raise UserError(f"train.grpo.beta: the verl backend trains a joint run with one KL coefficient; got "
                            f"different β per task {dict(plan.grpo.beta)}")
        return betas.pop()
    settings = (plan.segment_params or {}).get(name, plan.grpo)
    return settings.beta.get(name, 0.0)


def plan_runs(plan: TrainPlan, base: str, work: Path) -> list[tuple[VerlRun, list[dict[str, Any]]]]:
    """The verl runs of a plan, each with its rows in batch order (partial last batches left out)."""
    runs = []
    model = base
    for i, (name, batches) in enumerate(plan.segments(), start=1):
        settings = (plan.segment_params or {}).get(name, plan.grpo)
        full = [b for b in batches if len(b.items) == settings.batch_size]
        if len(full) < len(batches):
            print(f"verl: segment {name}: {len(batches) - len(full)} partial batch(es) dropped (verl's drop_last)",
                  file=sys.stderr)
        if not full:
            raise UserError(f"segment {name}: no full batch of {settings.batch_size} prompts to train on")
        rows = [plan.records[t][k] for b in full for t, k in b.items]
        run_name = {"curriculum": f"curriculum-{i}-{name}", "joint": "joint"}.get(plan.mode, f"{plan.mode}-{name}")
        folder = work / f"{i}-{name}"
        runs.append((VerlRun(name=run_name, model=model, train_file=folder / "train.parquet",
                             val_file=folder / "val.parquet", steps=len(full),
                             checkpoint_dir=folder / "checkpoints", grpo=settings,
                             beta=run_beta(plan, name)), rows))
        model = str(folder / "hf")
    return runs


def compose_config(overrides: list[str]):
    """verl's ``ppo_trainer.yaml`` composed with ``overrides`` (Hydra's compose API: what main_ppo sees)."""
    import verl
    from hydra import compose, initialize_config_dir

    config_dir = Path(verl.__file__).resolve().parent / "trainer" / "config"
    with initialize_config_dir(config_dir=str(config_dir), version_base=None):
        return compose(config_name="ppo_trainer", overrides=overrides)


def latest_actor(checkpoint_dir: Path) -> tuple[int, Path]:
    """verl's last saved step and its actor folder (``latest_checkpointed_iteration.txt``)."""
    marker = checkpoint_dir / "latest_checkpointed_iteration.txt"
    if not marker.exists():
        raise UserError(f"{marker}: not found (verl saved no checkpoint)")
    step = int(marker.read_text().strip())
    return step, checkpoint_dir / f"global_step_{step}" / "actor"


def read_verl_log(path: Path, task: str, offset: int) -> list[dict[str, Any]]:
    """verl's file logger (``{"step", "data"}`` lines) → our ``log.jsonl`` rows (0-based steps, per task:
    ``reward`` = critic/score/mean and, when verl logged it, ``reward_accuracy``)."""
    rows = []
    if not path.exists():
        return rows
    for line in path.read_text(encoding="utf-8").splitlines():
        entry = json.loads(line)
        data = entry.get("data", {})
        values = {"reward": data.get("critic/score/mean")}
        accuracy = [v for k, v in data.items() if k.endswith("accuracy/mean")]
        if accuracy:
            values["reward_accuracy"] = accuracy[0]
        rows.append({"step": offset + int(entry["step"]) - 1, "segment": task, "tasks": {task: values},
                     "step_s": data.get("timing_s/step", 0.0), "verl": data})
    return rows


def _run(cmd: list[str], env: dict[str, str], what: str) -> None:
    print(f"verl: {what}: {shlex.join(cmd)}", flush=True)
    proc = subprocess.run(cmd, env=env)
    if proc.returncode != 0:
        raise UserError(f"{what} failed with exit code {proc.returncode} (command above)")


@TRAIN_BACKENDS.register("verl")
def train_verl(params, plan: TrainPlan, base: Path, out: Path, dry_run: bool = False,
               params_file: Path | None = None, singles: Path | None = None) -> dict:
    """Run ``plan`` as verl runs; with ``dry_run``, print each command and its rendered config instead.
    ``singles`` is not used: verl runs are not bit-reproducible, so a curriculum trains its first segment."""
    from omegaconf import OmegaConf

    from ..data.schema import read_split
    from ..data.verl_export import write_verl_parquet
    from ..io import staged_outputs, write_json_atomic

    if importlib.util.find_spec("verl") is None:
        raise UserError("train.backend: verl needs the verl package (pip install -e '.[gpu]' on a CUDA machine; "
                        "the [dev] extra has it for --dry-run)")
    params_file = Path(params_file or os.environ.get("OMNI_THINKER_PARAMS") or "params.yaml").resolve()
    work = Path(out).resolve() / "work" / "verl"
    base_ref = str(Path(base).resolve()) if Path(base).exists() else str(base)
    runs = plan_runs(plan, base_ref, work)
    commands = []
    for run, rows in runs:
        api_judge = params.rewards.judge.backend == "llm" and any(
            params.rewards.for_task(t).kind == "judge" for t in {row["task"] for row in rows})
        judge = params.rewards.judge if api_judge else None  # rate-limited reward manager for API judge calls
        overrides = grpo_overrides(run, params.train.verl, judge, params_file, params.seed)
        commands.append((run, overrides, main_ppo_command(sys.executable, overrides)))
    if dry_run:
        for run, overrides, cmd in commands:
            print(f"# run {run.name}: {run.steps} steps from {run.model}")
            print(shlex.join(cmd))
            print(f"# rendered config of {run.name}")
            print(OmegaConf.to_yaml(compose_config(overrides)))
        return {"mode": plan.mode, "backend": "verl", "runs": [r.name for r, _, _ in commands], "dry_run": True}

    env = {**os.environ, "OMNI_THINKER_PARAMS": str(params_file)}
    logs: list[dict[str, Any]] = []
    offset = 0
    for (run, rows), (_, overrides, cmd) in zip(runs, commands):
        folder = run.train_file.parent
        hf = folder / "hf"
        if not (hf / "config.json").exists():
            folder.mkdir(parents=True, exist_ok=True)
            write_verl_parquet(rows, run.train_file)
            tasks = list(dict.fromkeys(row["task"] for row in rows))
            write_verl_parquet([r for t in tasks for r in read_split(plan.curated / t / "val.parquet")], run.val_file)
            _run(cmd, {**env, "VERL_FILE_LOGGER_PATH": str(folder / "verl_log.jsonl")}, f"verl run {run.name}")
            _, actor = latest_actor(run.checkpoint_dir)
            _run(model_merger_command(sys.executable, actor, hf), env, f"model_merger of {run.name}")
        logs += read_verl_log(folder / "verl_log.jsonl", rows[0]["task"] if plan.mode != "joint" else "joint",
                              offset)
        offset += run.steps
    summary = {"mode": plan.mode, "backend": "verl", "steps": offset, "runs": [r.name for r, _ in runs],
               "schedule": [name for name, _ in plan.segments()], "prompts": plan.sizes,
               "seconds": float(sum(m.get("step_s") or 0.0 for m in logs)),
               "final": logs[-1]["tasks"] if logs else {}}
    with staged_outputs(out) as stage:
        last_hf = runs[-1][0].train_file.parent / "hf"
        shutil.copytree(last_hf, stage / "model")
        (stage / "log.jsonl").write_text("".join(json.dumps(m) + "\n" for m in logs), encoding="utf-8")
        write_json_atomic(stage / "metrics.json", summary)
        steps = []
        if plan.mode == "single" and plan.grpo.keep_every:  # snapshots for checkpoint selection (merge baseline)
            run = runs[0][0]
            for ckpt in sorted(run.checkpoint_dir.glob("global_step_*")):
                step = int(ckpt.name.rsplit("_", 1)[1])
                if step < run.steps:
                    _run(model_merger_command(sys.executable, ckpt / "actor", stage / "checkpoints" / f"step-{step}"),
                         env, f"model_merger of {run.name} step {step}")
                    steps.append(step)
        write_json_atomic(stage / "checkpoints" / "index.json", {"steps": steps, "final": offset})
        if plan.mode == "curriculum":
            for i, (run, _) in enumerate(runs, start=1):
                shutil.copytree(run.train_file.parent / "hf", stage / "segments" / f"{i}-{plan.segments()[i - 1][0]}")
        for kept in ("segments", "checkpoints"):
            shutil.rmtree(out / kept, ignore_errors=True)
    shutil.rmtree(Path(out) / "work")
    return summary

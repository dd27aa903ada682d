"""The verl backend: a :class:`~pipeline.rl.plan.TrainPlan` as ``verl.trainer.main_ppo`` runs.

- **single** and **joint**: one run on the schedule's file;
- **curriculum**: one run per task segment; segment i starts from segment i − 1's last
  checkpoint's HF folder (``save_contents`` ``hf_model``: the fp32 master weights, so no
  bf16 rounding between segments, :func:`~.verl_config.hf_checkpoint`); every segment's HF
  model is kept (``segments/<i>-<task>/``) for per-stage evaluation. verl's reference model
  is the run's start model, so β > 0 (Eq. 5's KL to θ0) is refused after the first segment.

Each run's data is its part of the schedule written as verl parquet in batch order (epochs
unrolled; ``data.shuffle=false``), so the batches are those of the local backend. verl's
dataloader drops a last partial batch (``drop_last``); we say so when it happens.

Work files live in ``out/work/verl/<i>-<name>/`` (``train.parquet``, ``val.parquet``,
``checkpoints/``, ``verl_log.jsonl``, ``judge_events.jsonl``, ``done.json``). A run is skipped
when its ``done.json`` exists, so rerunning the stage after a failure resumes at the failed
segment, and verl's ``trainer.resume_mode=auto`` resumes inside it. verl opens its file log
with ``"wb"``, so a resumed run's earlier log is first moved aside (``verl_log.<k>.jsonl``)
and read back with it. A run saves every ``train.grpo.checkpoint_every`` steps (its snapshot steps too), and
after each save only the newest checkpoint and the snapshots' HF folders are kept (:mod:`.verl_checkpoints`).
A run that ends without a checkpoint of its last step is an error.

Environment that verl's Ray workers need goes to them explicitly, so that it also reaches a
cluster started before the stage, whose workers inherit nothing from the driver: the params
file and the file-log path through ``ray_kwargs.ray_init.runtime_env.env_vars`` (merged by
verl's ``run_ppo`` with its own runtime env), the judge's endpoint and key through a file
readable only by the user (``judge_env.json``, removed after the run), named to the reward
function, so that the key is never on a command line or in verl's printed config.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shlex
import shutil
import subprocess
import sys
from contextlib import nullcontext
from pathlib import Path
from typing import Any

from ..errors import UserError
from ..rl.backends import TRAIN_BACKENDS
from ..rl.plan import TrainPlan
from .ray_slurm import ray_cluster_for_job
from .verl_advantage import MAX_SHARE_ENV, UNDEFINED_LOG_ENV, read_undefined_log
from .verl_config import (
    VerlRun,
    compose_verl_config,
    grpo_overrides,
    hf_checkpoint,
    main_ppo_command,
    resume_identity,
    worker_env_overrides,
)


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
        beta = run_beta(plan, name)
        if i > 1 and beta > 0:
            raise UserError(f"train.grpo.beta: {name} has β = {beta}, but verl's KL reference is the run's start "
                            f"model (segment {i - 1}'s end), not θ0 as Eq. 5 needs; use β = 0 or train.backend: local")
        full = [b for b in batches if len(b.items) == settings.batch_size]
        if len(full) < len(batches):
            print(f"verl: segment {name}: {len(batches) - len(full)} partial batch(es) dropped (verl's drop_last)",
                  file=sys.stderr)
        if not full:
            raise UserError(f"segment {name}: no full batch of {settings.batch_size} prompts to train on")
        rows = [plan.records[t][k] for b in full for t, k in b.items]
        run_name = {"curriculum": f"curriculum-{i}-{name}", "joint": "joint"}.get(plan.mode, f"{plan.mode}-{name}")
        folder = work / f"{i}-{name}"
        every = settings.keep_every if plan.mode == "single" else 0  # snapshots for checkpoint selection
        runs.append((VerlRun(name=run_name, model=model, train_file=folder / "train.parquet",
                             val_file=folder / "val.parquet", steps=len(full),
                             checkpoint_dir=folder / "checkpoints", grpo=settings, beta=beta,
                             judge_log=folder / "judge_events.jsonl",
                             snapshots=tuple(range(every, len(full), every)) if every else ()), rows))
        model = str(hf_checkpoint(folder / "checkpoints", len(full)))
    return runs


def run_fingerprints(runs: list[tuple[VerlRun, list[dict[str, Any]]]], overrides: list[list[str]], params,
                     base: str) -> list[str]:
    """Each verl run's work key: its overrides (every verl setting but the save interval, paths included:
    :func:`~.verl_config.resume_identity`), its rows in batch order, the reward settings its workers read, the
    seed, and its start model: θ0's files for the first run, the previous run's key for a chained segment (a
    changed segment changes every later one)."""
    import hashlib

    from ..io import folder_identity

    start: Any = folder_identity(base)
    keys = []
    for (_, rows), run_overrides in zip(runs, overrides):
        blob = json.dumps({"overrides": resume_identity(run_overrides), "rows": rows,
                           "rewards": params.rewards.identity(row["task"] for row in rows),
                           "seed": params.seed, "start": start}, sort_keys=True, default=str)
        start = hashlib.sha256(blob.encode()).hexdigest()
        keys.append(start)
    return keys


def run_done(run: VerlRun, fingerprint: str) -> bool:
    """The run finished in its folder with exactly these settings and inputs (``done.json`` holds its key)."""
    done = run.train_file.parent / "done.json"
    try:
        return done.exists() and json.loads(done.read_text(encoding="utf-8")).get("fingerprint") == fingerprint
    except (OSError, ValueError, AttributeError):
        return False


def compose_config(overrides: list[str]):
    """verl's ``ppo_trainer.yaml`` composed with ``overrides`` (Hydra's compose API: what main_ppo sees)."""
    return compose_verl_config("ppo_trainer", overrides)


def final_checkpoint(run: VerlRun) -> Path:
    """The HF folder of the run's last step; an error naming the run when verl did not save that step."""
    marker = run.checkpoint_dir / "latest_checkpointed_iteration.txt"
    step = int(marker.read_text().strip()) if marker.exists() else None
    hf = hf_checkpoint(run.checkpoint_dir, run.steps)
    if step != run.steps or not (hf / "config.json").exists():
        raise UserError(f"verl run {run.name} ended without a checkpoint of its final step {run.steps} "
                        f"(last saved: {step}; expected {hf})")
    return hf


def keep_log_parts(path: Path) -> None:
    """Move an earlier attempt's verl log aside (``<stem>.<k>.jsonl``): verl reopens the file with ``"wb"``."""
    if path.exists() and path.stat().st_size:
        k = 1 + len(list(path.parent.glob(f"{path.stem}.*{path.suffix}")))
        path.rename(path.with_name(f"{path.stem}.{k}{path.suffix}"))


def log_parts(path: Path) -> list[Path]:
    """The attempts' logs in the order they were written (moved-aside parts, then the current file)."""
    parts = sorted(path.parent.glob(f"{path.stem}.*{path.suffix}"), key=lambda p: int(p.suffixes[-2][1:]))
    return parts + ([path] if path.exists() else [])


def count_judge_timeouts(path: Path | None) -> int:
    """Judge verdicts that timed out in a run's reward workers (``judge_events.jsonl``)."""
    if path is None or not path.exists():
        return 0
    return sum(json.loads(line).get("timeouts", 0) for line in path.read_text(encoding="utf-8").splitlines() if line)


UNDEFINED_LOG = "undefined.jsonl"
"""Per update of a run: how many rewards were undefined (written by the ``omni_grpo`` estimator)."""


def undefined_stop(run: VerlRun, limit: float) -> str | None:
    """The one line of a run that stopped on too many undefined rewards (its last update's count over
    ``limit``, and the first cause its reward workers logged), or None when that is not why it stopped."""
    updates = read_undefined_log(run.train_file.parent / UNDEFINED_LOG)
    if not updates or updates[-1]["undefined"] <= limit * updates[-1]["samples"]:
        return None
    last = updates[-1]
    return (f"verl run {run.name}: update {last['update']}: {last['undefined']} of {last['samples']} rewards "
            f"undefined (more than rewards.max_undefined_share = {limit}); first cause: "
            f"{first_cause(run.judge_log) or 'not logged'}")


def probe_judge(judge) -> None:
    """One request to the API judge with the run's key, endpoint and model, from this node (where the job's
    reward workers run), before Ray starts or a model loads: a wrong key or model, or an endpoint out of
    reach, is one line in seconds (:class:`~pipeline.rewards.judge.JudgeUnavailable`)."""
    from ..rewards.judge import LLMJudge

    llm = LLMJudge(judge)
    try:
        llm.probe()
    finally:
        llm.close()
    print(f"verl: the judge answers ({judge.model} at {llm.base_url or 'api.openai.com'})", flush=True)


def first_cause(path: Path | None) -> str | None:
    """The first cause of undefined rewards the run's reward workers logged (``judge_events.jsonl``), or None."""
    if path is None or not path.exists():
        return None
    causes = [json.loads(line).get("cause") for line in path.read_text(encoding="utf-8").splitlines() if line]
    return next((c for c in causes if c), None)


def write_judge_env(path: Path, names: list[str]) -> Path | None:
    """The judge's environment variables that are set (key, endpoint) in a file only the user can read, for the
    reward workers (:func:`pipeline.rewards.verl_entry.compute_score` ``judge_env``); None when none is set."""
    values = {k: os.environ[k] for k in names if os.environ.get(k)}
    if not values:
        return None
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(values, f)
    return path


def _latest_entries(path: Path) -> dict[int, dict[str, Any]]:
    """verl's file-log entries (``{"step", "data"}``) over every attempt's part, by step; a step logged by
    several attempts (a resumed run redoes the steps after its last checkpoint) is the last one's, whose
    update the weights hold."""
    latest: dict[int, dict[str, Any]] = {}
    for part in log_parts(path):
        for line in part.read_text(encoding="utf-8").splitlines():
            if line:
                entry = json.loads(line)
                latest[int(entry["step"])] = entry
    return latest


MACHINE_DEPENDENT = ("timing_s/", "timing_per_token_ms/", "perf/")  # kept out of log.jsonl (hashed by DVC)


def read_verl_log(path: Path, task: str, offset: int) -> list[dict[str, Any]]:
    """verl's file log → our ``log.jsonl`` rows (0-based steps, per task: ``reward`` = critic/score/mean and,
    when verl logged it, ``reward_accuracy``; verl's other metrics without its timings)."""
    rows = []
    for step, entry in sorted(_latest_entries(path).items()):
        data = entry.get("data", {})
        values = {"reward": data.get("critic/score/mean")}
        accuracy = [v for k, v in data.items() if k.endswith("accuracy/mean")]
        if accuracy:
            values["reward_accuracy"] = accuracy[0]
        kept = {k: v for k, v in data.items() if not k.startswith(MACHINE_DEPENDENT)}
        rows.append({"step": offset + step - 1, "segment": task, "tasks": {task: values}, "verl": kept})
    return rows


def verl_seconds(path: Path) -> float:
    """Wall-clock seconds of a run's steps (``timing_s/step``), for timings.json."""
    return float(sum(float(e.get("data", {}).get("timing_s/step", 0.0)) for e in _latest_entries(path).values()))


def _run(cmd: list[str], env: dict[str, str], what: str) -> None:
    print(f"verl: {what}: {shlex.join(cmd)}", flush=True)
    proc = subprocess.run(cmd, env=env)
    if proc.returncode != 0:
        raise UserError(f"{what} failed with exit code {proc.returncode} (command above)")


def _train_runs(params, plan: TrainPlan, runs: list[tuple[VerlRun, list[dict[str, Any]]]],
                commands: list[tuple[VerlRun, list[str], list[str]]], keys: list[str], params_file: Path,
                ray_env: dict[str, str]) -> None:
    """Run every verl run not done with its key (in order; each writes ``done.json`` on success), with
    ``ray_env``. A run's folder holds only its own key's work: another key's checkpoints are removed first
    (verl's ``resume_mode=auto`` would resume from them), this key's are resumed."""
    from ..data.prompt_length import check_prompt_lengths, load_tokenizer, within_prompt_length
    from ..data.schema import read_split
    from ..data.verl_export import write_verl_parquet
    from ..io import keyed_work_folder, write_json_atomic
    from ..rewards.total import verl_reward_fields

    rewards = {task: verl_reward_fields(params.rewards, task) for task in params.tasks}
    tokenizer = None
    for (run, rows), (_, _overrides, cmd), key in zip(runs, commands, keys):
        folder = run.train_file.parent
        if keyed_work_folder(folder, key, f"verl run {run.name}") and run_done(run, key):
            continue
        if tokenizer is None:
            tokenizer = load_tokenizer(runs[0][0].model)
        check_prompt_lengths(rows, tokenizer, params.train.verl.max_prompt_length, run.name)
        write_verl_parquet(rows, run.train_file, rewards)
        tasks = list(dict.fromkeys(row["task"] for row in rows))
        val = [r for t in tasks for r in read_split(plan.curated / t / "val.parquet", task=t)]
        write_verl_parquet(within_prompt_length(val, tokenizer, params.train.verl.max_prompt_length), run.val_file,
                           rewards)
        log = folder / "verl_log.jsonl"
        keep_log_parts(log)
        secrets = write_judge_env(folder / "judge_env.json", [params.rewards.judge.api_key_env, "OPENAI_BASE_URL"])
        try:
            _run(cmd, {**os.environ, **ray_env, "OMNI_THINKER_PARAMS": str(params_file),
                       "VERL_FILE_LOGGER_PATH": str(log)}, f"verl run {run.name}")
        except UserError:
            stop = undefined_stop(run, params.rewards.max_undefined_share)
            if stop is not None:
                raise UserError(stop) from None
            raise
        finally:
            if secrets is not None:
                secrets.unlink(missing_ok=True)
        final_checkpoint(run)
        write_json_atomic(folder / "done.json", {"run": run.name, "steps": run.steps, "fingerprint": key})


def worker_params(params, root: Path | None = None):
    """The parameters the reward workers read: relative paths made absolute against ``root`` (default the
    working directory, the repository root the stage runs from), since Ray starts its workers elsewhere."""
    code = params.rewards.code
    if code.python and not Path(code.python).expanduser().is_absolute():
        python = str((root or Path.cwd()) / code.python)
        params = params.model_copy(update={"rewards": params.rewards.model_copy(
            update={"code": code.model_copy(update={"python": python})})})
    return params


@TRAIN_BACKENDS.register("verl")
def train_verl(params, plan: TrainPlan, base: Path, out: Path, dry_run: bool = False,
               singles: Path | None = None, pairs: Path | None = None) -> dict:
    """Run ``plan`` as verl runs; with ``dry_run``, print each command and its rendered config instead.
    ``singles`` and ``pairs`` are not used: verl runs are not bit-reproducible, so a curriculum trains every
    segment.
    The reward workers read the run's resolved parameters from ``out/work/params.yaml`` (written here), so a
    run started from params.yaml and overlays, or from a DVC experiment, scores with exactly its own."""
    from omegaconf import OmegaConf

    from ..config import dump_params
    from ..io import staged_outputs, write_json_atomic, write_text_atomic
    from ..rewards.total import REWARD_KINDS

    if importlib.util.find_spec("verl") is None:
        raise UserError("train.backend: verl needs the verl package (pip install -e '.[gpu]' on a CUDA machine; "
                        "the [dev] extra has it for --dry-run)")
    work = Path(out).resolve() / "work" / "verl"
    params_file = work.parent / "params.yaml"
    base_ref = str(Path(base).resolve()) if Path(base).exists() else str(base)
    runs = plan_runs(plan, base_ref, work)
    commands, judges = [], []
    for run, rows in runs:
        api_judge = params.rewards.judge.backend == "llm" and any(
            REWARD_KINDS[params.rewards.for_task(t).kind].judged for t in {row["task"] for row in rows})
        judge = params.rewards.judge if api_judge else None  # its concurrency is split between reward workers
        overrides = grpo_overrides(run, params.train.verl, judge, params_file, params.seed)
        overrides += worker_env_overrides({"OMNI_THINKER_PARAMS": str(params_file),
                                           "VERL_FILE_LOGGER_PATH": str(run.train_file.parent / "verl_log.jsonl"),
                                           UNDEFINED_LOG_ENV: str(run.train_file.parent / UNDEFINED_LOG),
                                           MAX_SHARE_ENV: str(params.rewards.max_undefined_share)})
        if api_judge:
            overrides.append(f"+reward.custom_reward_function.reward_kwargs.judge_env="
                             f"{run.train_file.parent / 'judge_env.json'}")
        commands.append((run, overrides, main_ppo_command(sys.executable, overrides)))
        judges.append(judge)
    if dry_run:
        for run, overrides, cmd in commands:
            print(f"# run {run.name}: {run.steps} steps from {run.model}")
            print(shlex.join(cmd))
            print(f"# rendered config of {run.name}")
            print(OmegaConf.to_yaml(compose_config(overrides)))
        return {"mode": plan.mode, "backend": "verl", "runs": [r.name for r, _, _ in commands], "dry_run": True}

    write_text_atomic(params_file, dump_params(worker_params(params)))
    keys = run_fingerprints(runs, [o for _, o, _ in commands], params, base_ref)
    pending = [run for (run, _), key in zip(runs, keys) if not run_done(run, key)]
    if pending and any(j is not None for j in judges):  # a wrong key or endpoint: one line now, not after hours
        probe_judge(params.rewards.judge)
    verl = params.train.verl
    cluster = ray_cluster_for_job(verl.nnodes, verl.n_gpus_per_node, verl.ray_timeout_s) if pending else nullcontext({})
    with cluster as ray_env:  # inside a Slurm job: one Ray cluster over its nodes for every run (docs/slurm.md)
        _train_runs(params, plan, runs, commands, keys, params_file, ray_env)
    logs: list[dict[str, Any]] = []
    offset, timeouts, seconds, undefined = 0, 0, 0.0, 0
    for run, rows in runs:
        folder = run.train_file.parent
        run_logs = read_verl_log(folder / "verl_log.jsonl", rows[0]["task"] if plan.mode != "joint" else "joint",
                                 offset)
        updates = read_undefined_log(folder / UNDEFINED_LOG)
        undefined += sum(u["undefined"] for u in updates)
        if len(updates) == len(run_logs):  # one attempt: update k is step k (a resumed run redid some)
            for row, update in zip(run_logs, updates):
                row["undefined"] = update["undefined"]
        logs += run_logs
        timeouts += count_judge_timeouts(run.judge_log)
        seconds += verl_seconds(folder / "verl_log.jsonl")
        offset += run.steps
    if timeouts:
        print(f"verl: {timeouts} judge verdict(s) timed out (left undefined, see metrics.json judge_timeouts)",
              file=sys.stderr)
    summary = {"mode": plan.mode, "backend": "verl", "steps": offset, "runs": [r.name for r, _ in runs],
               "schedule": [name for name, _ in plan.segments()], "prompts": plan.sizes,
               "judge_timeouts": timeouts, "undefined_rewards": undefined,
               "final": logs[-1]["tasks"] if logs else {}}
    with staged_outputs(out) as stage:
        _link_tree(final_checkpoint(runs[-1][0]), stage / "model")
        (stage / "log.jsonl").write_text("".join(json.dumps(m) + "\n" for m in logs), encoding="utf-8")
        write_json_atomic(stage / "metrics.json", summary)
        write_json_atomic(stage / "timings.json", {"seconds": seconds})  # .dvcignore'd
        run = runs[0][0]
        for step in run.snapshots:  # single-task runs: snapshots for checkpoint selection (merge baseline)
            snapshot = hf_checkpoint(run.checkpoint_dir, step)
            if not (snapshot / "config.json").exists():
                raise UserError(f"verl run {run.name}: no HF model of snapshot step {step} ({snapshot})")
            _link_tree(snapshot, stage / "checkpoints" / f"step-{step}")
        write_json_atomic(stage / "checkpoints" / "index.json", {"steps": list(run.snapshots), "final": offset})
        if plan.mode == "curriculum":
            for i, (run, _) in enumerate(runs, start=1):
                _link_tree(final_checkpoint(run), stage / "segments" / f"{i}-{plan.segments()[i - 1][0]}")
        for kept in ("segments", "checkpoints"):
            shutil.rmtree(out / kept, ignore_errors=True)
        # The finished runs stay in OUT/work (not an output), slimmed to what the outputs are made of: Slurm
        # marks a job that ends after its time limit TIMEOUT even when it succeeded, and the retry then finds
        # every run done (done.json) and only writes the outputs again, instead of training for days.
        for run, _ in runs:
            slim_checkpoints(run.checkpoint_dir)
        os.rename(Path(out) / "work", stage / "work")
    return {**summary, "seconds": seconds}


def slim_checkpoints(checkpoint_dir: Path) -> None:
    """Keep only the HF folders (``global_step_<n>/actor/huggingface``) of a finished run's checkpoints: the
    final model and the snapshots its outputs are made of. The sharded weights and optimizer states (about
    100 GB at 7B) go; ``latest_checkpointed_iteration.txt`` stays, so :func:`final_checkpoint` still finds
    the final step."""
    for step in Path(checkpoint_dir).glob("global_step_*"):
        for entry in step.iterdir():
            if entry.name != "actor":
                shutil.rmtree(entry) if entry.is_dir() else entry.unlink()
        actor = step / "actor"
        if actor.is_dir():
            for entry in actor.iterdir():
                if entry.name != "huggingface":
                    shutil.rmtree(entry) if entry.is_dir() else entry.unlink()


def _link_tree(src: Path, dst: Path) -> None:
    """``dst`` as a copy of ``src`` made of hard links (no second copy of a model on disk; the files are never
    written in place), or of copies where the filesystem refuses links."""
    def link(a: str, b: str) -> None:
        try:
            os.link(a, b)
        except OSError:
            shutil.copy2(a, b)

    shutil.copytree(src, dst, copy_function=link)

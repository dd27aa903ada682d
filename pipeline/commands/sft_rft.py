"""``sft-rft``: the rejection-sampling SFT baseline (Section 4)."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from ..cli import command
from ..errors import UserError
from .args import add_params_argument, add_seed_argument, load_stage_params


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--base", default="data/models/base", help="θ0 folder (HF format)")
    parser.add_argument("--curated", default="data/curated", help="folder of curate outputs")
    parser.add_argument("--out", required=True, metavar="DIR",
                        help="writes model/ (HF), rft.json (kept prompts and responses per task) and "
                             "rft_data.jsonl (the kept responses)")
    parser.add_argument("--dry-run", action="store_true",
                        help="with train.backend: verl, print the verl SFT command and its composed config "
                             "(sft_trainer_engine.yaml with baselines.rft) and stop")
    add_params_argument(parser)
    add_seed_argument(parser)


@command("sft-rft", help="RFT baseline: sample from θ0, keep correct responses, fine-tune θ0 on them.")
def run(args: argparse.Namespace) -> int:
    import torch

    from ..baselines.rft import collect
    from ..baselines.sft import sft_epochs
    from ..data.schema import read_split
    from ..eval.engines import open_engines
    from ..io import staged_outputs, write_json_atomic
    from ..models.determinism import deterministic_training
    from ..models.tiny import load_model
    from ..rewards.total import RewardModel

    params = load_stage_params(args)
    p = params.baselines.rft
    if args.dry_run:
        return _dry_run(params, Path(args.base), Path(args.out))
    records = {}
    for task in params.tasks:
        path = Path(args.curated) / task / "train.parquet"
        if not path.exists():
            raise UserError(f"{path}: file not found (run curate for task '{task}' first)")
        records[task] = read_split(path, task=task)[: p.max_prompts]
    deterministic_training(params.train.threads)  # sampling on a CPU included: both tools' runs give the same bytes
    generator = open_engines(args.base, params, params.seed)  # eval.backend's engines over the job's GPUs
    t0 = time.perf_counter()
    rewards = RewardModel(params.rewards)
    kept, stats = [], {}
    try:
        torch.manual_seed(params.seed)
        work = _sampling_work(params, Path(args.base), Path(args.out))
        for i, task in enumerate(params.tasks):
            examples, task_stats = collect(generator, records[task], rewards, params.rewards.for_task(task).kind,
                                           p.samples, p.temperature, p.top_p, p.top_k, p.max_new_tokens,
                                           p.max_per_prompt, p.prompts_per_batch, params.seed, i, work / task)
            kept += examples
            stats[task] = task_stats.as_dict()
            print(f"RFT {task:<8} kept {task_stats.kept} responses for {task_stats.prompts_kept}/{task_stats.prompts} "
                  f"prompts ({task_stats.correct} correct of {task_stats.sampled}, {task_stats.duplicates} duplicates)")
    finally:
        rewards.close()
        generator.close()
    sample_s = time.perf_counter() - t0
    if not kept:  # an outcome, not an input error: the baseline is then θ0 itself
        print(f"warning: no response sampled from {args.base} passed the reward filter; the RFT model is θ0 "
              "unchanged (raise baselines.rft.samples or check the rewards)", file=sys.stderr)
    if params.train.backend == "verl":  # paper scale: verl's SFT trainer (FSDP, packing, bf16) on the node's GPUs
        model_dir, losses = _verl_sft(params, Path(args.base), Path(args.out), kept)
        model = tokenizer = None  # verl's HF folder is copied as it is (7B: no load and re-save in fp32)
    else:
        model, tokenizer = load_model(args.base)
        losses = sft_epochs(model, tokenizer, kept, p.epochs, p.batch_size, p.lr, p.lr_schedule, p.max_len,
                            params.seed, desc="RFT SFT", threads=params.train.threads,
                            checkpoints=_sft_work(params, Path(args.base), Path(args.out), kept))
    summary = {"tasks": stats, "examples": len(kept), "steps": len(losses),
               "final_loss": float(sum(losses[-20:]) / len(losses[-20:])) if losses else None}
    timings = {"sampling_s": sample_s, "sft_s": time.perf_counter() - t0 - sample_s}
    with staged_outputs(args.out) as stage:
        if model is None:
            copy_model_folder(model_dir, stage / "model", tokenizer_from=Path(args.base))
        else:
            model.save_pretrained(stage / "model")
            tokenizer.save_pretrained(stage / "model")
        write_json_atomic(stage / "rft.json", summary)
        write_json_atomic(stage / "timings.json", timings)  # .dvcignore'd: machine-dependent
        (stage / "rft_data.jsonl").write_text("".join(json.dumps(e) + "\n" for e in kept), encoding="utf-8")
    print(f"RFT: {len(kept)} responses, {len(losses)} SFT steps -> {Path(args.out) / 'model'}")
    return 0


def copy_model_folder(source: Path, dest: Path, tokenizer_from: Path) -> None:
    """The trained model's HF folder copied to ``dest`` file by file; the tokenizer of ``tokenizer_from`` (θ0)
    saved beside it when the folder has none (the SFT run does not change the tokenizer)."""
    import shutil

    from transformers import AutoTokenizer

    if not (source / "config.json").exists():
        raise UserError(f"{source}: no config.json (not a Hugging Face model folder)")
    shutil.copytree(source, dest)
    if not (dest / "tokenizer_config.json").exists():
        AutoTokenizer.from_pretrained(tokenizer_from).save_pretrained(dest)


def _sampling_work(params, base: Path, out: Path) -> Path:
    """``out/work/rft``: the finished sampling batches of a cut run, kept only while the run is the same one
    (sampling, reward and evaluation settings, seed, tasks, and θ0's files); otherwise started afresh."""
    import hashlib

    from ..io import folder_identity, keyed_work_folder

    work = out / "work" / "rft"
    run = {"rft": params.baselines.rft.model_dump(mode="json", exclude={"checkpoint_every"}),
           "rewards": params.rewards.model_dump(mode="json"),
           "eval": params.eval.model_dump(mode="json"), "seed": params.seed, "tasks": list(params.tasks),
           "base": folder_identity(base)}
    fingerprint = hashlib.sha256(json.dumps(run, sort_keys=True).encode()).hexdigest()
    if keyed_work_folder(work, fingerprint, "RFT sampling") and any(work.rglob("batch-*.json")):
        print(f"RFT: resuming the sampling from {work}", file=sys.stderr)
    return work


def _sft_work(params, base: Path, out: Path, kept: list[dict]):
    """``out/work/sft``: the local SFT's checkpoints, every ``baselines.rft.checkpoint_every`` steps, kept only
    while the run is the same one (kept responses, SFT settings, seed, threads, θ0's files)."""
    import hashlib

    from ..baselines.sft import SFTCheckpoints
    from ..io import folder_identity, keyed_work_folder

    p = params.baselines.rft
    work = out / "work" / "sft"
    run = {"examples": kept, "rft": p.model_dump(mode="json", exclude={"checkpoint_every"}), "seed": params.seed,
           "threads": params.train.threads, "base": folder_identity(base)}
    keyed_work_folder(work, hashlib.sha256(json.dumps(run, sort_keys=True).encode()).hexdigest(), "RFT SFT")
    return SFTCheckpoints(work, p.checkpoint_every)


def _verl_sft_plan(params, base: Path, out: Path):
    from ..scale.verl_sft import sft_overrides, torchrun_command

    work = out.resolve() / "work" / "verl_sft"
    train_file, checkpoints = work / "train.parquet", work / "checkpoints"
    model = str(base.resolve()) if base.exists() else str(base)
    overrides = sft_overrides(params.baselines.rft, params.train.verl, model, train_file, checkpoints, params.seed)
    return work, train_file, checkpoints, overrides, torchrun_command(sys.executable,
                                                                      params.train.verl.n_gpus_per_node, overrides)


def _dry_run(params, base: Path, out: Path) -> int:
    import shlex

    from omegaconf import OmegaConf

    from ..scale.verl_sft import compose_sft_config

    if params.train.backend != "verl":
        raise UserError("sft-rft --dry-run shows the verl SFT run: it needs train.backend: verl "
                        "(the local backend fine-tunes in-process)")
    _, _, _, overrides, cmd = _verl_sft_plan(params, base, out)
    print(shlex.join(cmd))
    print(OmegaConf.to_yaml(compose_sft_config(overrides)))
    return 0


def _verl_sft(params, base: Path, out: Path, kept: list[dict]) -> tuple[Path, list[float]]:
    """Fine-tune with verl's SFT trainer; the HF folder of its last checkpoint and its per-step losses."""
    import hashlib
    import os
    import subprocess

    from ..io import folder_identity, keyed_work_folder
    from ..scale.verl_config import resume_identity
    from ..scale.verl_sft import sft_hf_checkpoint, sft_steps, write_sft_parquet

    p = params.baselines.rft
    steps = sft_steps(len(kept), p.batch_size, p.epochs)
    if steps == 0:
        raise UserError(f"baselines.rft.batch_size: {p.batch_size} is more than the {len(kept)} kept responses; "
                        f"verl's SFT trainer drops a partial batch, so it would train no step")
    work, train_file, checkpoints, overrides, cmd = _verl_sft_plan(params, base, out)
    key = {"overrides": resume_identity(overrides), "examples": kept, "base": folder_identity(base)}
    fingerprint = hashlib.sha256(json.dumps(key, sort_keys=True, default=str).encode()).hexdigest()
    if keyed_work_folder(work, fingerprint, "verl SFT"):  # the same run cut short: verl resumes its checkpoint
        print(f"verl SFT: resuming from {checkpoints}", flush=True)
    write_sft_parquet(kept, train_file)
    log = work / "sft_log.jsonl"
    print(f"verl SFT: {len(kept)} responses, {steps} steps: {' '.join(cmd[:8])} …", flush=True)
    code = subprocess.run(cmd, env={**os.environ, "VERL_FILE_LOGGER_PATH": str(log)}).returncode
    if code != 0:
        raise UserError(f"verl SFT failed with exit code {code} (its log above); rerun to resume from its checkpoint")
    hf = sft_hf_checkpoint(checkpoints, steps)
    if not (hf / "config.json").exists():
        raise UserError(f"verl SFT ended without the HF model of its last step {steps} ({hf})")
    entries = [json.loads(line).get("data", {}) for line in log.read_text().splitlines() if line] \
        if log.exists() else []
    return hf, [float(e["train/loss"]) for e in entries if "train/loss" in e]

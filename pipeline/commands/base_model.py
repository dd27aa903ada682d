"""``base-model``: θ0. Builds the tokenizer and tiny model and warm-starts it on the pretrain split,
or saves the model named by ``models.base`` (a local path or hub id)."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from ..cli import command
from ..config import load_params
from ..errors import UserError
from ..io import run_folder_lock, staged_outputs, write_json_atomic
from .args import add_params_argument


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--curated", default="data/curated", help="folder of curate outputs (one subfolder per task)")
    parser.add_argument("--out", required=True, metavar="DIR", help="model folder (HF format)")
    add_params_argument(parser)


@command("base-model", help="Build θ0: tokenizer + tiny Qwen2 warm-started on the pretrain split, or a given HF model.")
def run(args: argparse.Namespace) -> int:
    params = load_params(args.params)
    with run_folder_lock(args.out):  # two runs into one folder: the second stops at once, naming the first
        return _build(args, params)


def _build(args: argparse.Namespace, params) -> int:
    import torch

    from ..data.schema import read_split
    from ..models.tiny import build_tiny_model, compute_device, load_model
    from ..models.tokenizer import build_tokenizer
    from ..models.warmstart import sft

    m = params.models
    torch.manual_seed(params.seed)
    t0 = time.perf_counter()
    if m.base is not None:
        model, tokenizer = load_model(m.base)
        info = {"base": m.base}
    else:
        records, corpus = {}, []
        for task in params.tasks:
            folder = Path(args.curated) / task
            if not (folder / "pretrain.parquet").exists():
                raise UserError(f"{folder}: no pretrain.parquet (run curate for task '{task}' first)")
            records[task] = [r for r in read_split(folder / "pretrain.parquet", task=task) if "completion" in r["meta"]]
            for split in ("pretrain", "train"):
                for r in read_split(folder / f"{split}.parquet", task=task):
                    corpus += [m_["content"] for m_ in r["prompt"]] + [r["meta"].get("completion", r["reference"])]
        if not any(records.values()):
            raise UserError(f"{args.curated}: no warm-start examples (pretrain splits with completions) for any task")
        tokenizer = build_tokenizer(corpus, vocab_size=m.vocab_size)
        model = build_tiny_model(len(tokenizer), m.hidden, m.layers, m.heads, m.kv_heads, m.intermediate,
                                 m.max_positions, params.seed, tokenizer).to(compute_device())
        losses = sft(model, tokenizer, records, m.warmstart_steps, m.warmstart_batch_size, m.warmstart_lr,
                     m.max_len, params.seed, threads=params.train.threads)
        info = {"parameters": sum(p.numel() for p in model.parameters()), "vocab": len(tokenizer),
                "device": str(compute_device()),
                "warmstart_steps": m.warmstart_steps, "final_loss": float(sum(losses[-50:]) / max(1, len(losses[-50:])))
                if losses else None, "examples": {t: len(r) for t, r in records.items()}}
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    seconds = time.perf_counter() - t0
    with staged_outputs(args.out) as stage:
        model.save_pretrained(stage)
        tokenizer.save_pretrained(stage)
        write_json_atomic(stage / "base_model.json", info)  # deterministic: DVC hashes it
        write_json_atomic(stage / "timings.json", {"seconds": seconds})  # .dvcignore'd
    print(f"θ0 -> {args.out}: {json.dumps(info)} in {seconds:.1f} s")
    return 0

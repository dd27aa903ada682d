"""``sft-rft``: the rejection-sampling SFT baseline (Section 4)."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from ..cli import command
from ..config import load_params
from ..errors import UserError
from .args import add_params_argument


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--base", default="data/models/base", help="θ0 folder (HF format)")
    parser.add_argument("--curated", default="data/curated", help="folder of curate outputs")
    parser.add_argument("--out", required=True, metavar="DIR",
                        help="writes model/ (HF), rft.json (kept prompts and responses per task) and "
                             "rft_data.jsonl (the kept responses)")
    add_params_argument(parser)


@command("sft-rft", help="RFT baseline: sample from θ0, keep correct responses, fine-tune θ0 on them.")
def run(args: argparse.Namespace) -> int:
    import torch

    from ..baselines.rft import collect
    from ..baselines.sft import sft_epochs
    from ..data.schema import read_split
    from ..eval.generators import open_generator
    from ..io import staged_outputs, write_json_atomic
    from ..models.tiny import load_model
    from ..rewards.total import RewardModel

    params = load_params(args.params)
    p = params.baselines.rft
    records = {}
    for task in params.tasks:
        path = Path(args.curated) / task / "train.parquet"
        if not path.exists():
            raise UserError(f"{path}: file not found (run curate for task '{task}' first)")
        records[task] = read_split(path)[: p.max_prompts]
    generator = open_generator(args.base, params.eval, params.seed)  # eval.backend: transformers or vllm
    t0 = time.perf_counter()
    rewards = RewardModel(params.rewards)
    kept, stats = [], {}
    try:
        torch.manual_seed(params.seed)
        for task in params.tasks:
            examples, task_stats = collect(generator, records[task], rewards, params.rewards.for_task(task).kind,
                                           p.samples, p.temperature, p.top_p, p.top_k, p.max_new_tokens,
                                           p.max_per_prompt)
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
    model, tokenizer = load_model(args.base)
    losses = sft_epochs(model, tokenizer, kept, p.epochs, p.batch_size, p.lr, p.lr_schedule, p.max_len, params.seed,
                        desc="RFT SFT")
    summary = {"tasks": stats, "examples": len(kept), "steps": len(losses),
               "final_loss": float(sum(losses[-20:]) / len(losses[-20:])) if losses else None, "sampling_s": sample_s,
               "sft_s": time.perf_counter() - t0 - sample_s}
    with staged_outputs(args.out) as stage:
        model.save_pretrained(stage / "model")
        tokenizer.save_pretrained(stage / "model")
        write_json_atomic(stage / "rft.json", summary)
        (stage / "rft_data.jsonl").write_text("".join(json.dumps(e) + "\n" for e in kept), encoding="utf-8")
    print(f"RFT: {len(kept)} responses, {len(losses)} SFT steps -> {Path(args.out) / 'model'}")
    return 0

#!/usr/bin/env python
"""GRPO throughput of the local trainer against TRL's ``GRPOTrainer`` (issue: MT-GRPO).

Same tiny model, same prompts (synthetic math), B prompts × G samples per step, the same
maximum completion length, temperature 1 with top-k/top-p off, one update per batch,
β = 0, AdamW at the same learning rate, the same reward registry, on this CPU, one after
the other in one process. Reports steps/s and generated tokens/s (completion tokens up to
and including EOS) after one untimed warm-up step. Target: at least 1.5× TRL's throughput.

Usage: python benchmarks/bench_grpo.py [--model data/models/base] [--steps 10]
(without a built θ0 the model is a freshly initialised tiny Qwen2, which always writes
the maximum length). Needs ``trl`` (a dev-only dependency: pip install -e '.[dev]').
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from pipeline.config import GRPOParams, parse_params  # noqa: E402
from pipeline.data.curate import curate_task  # noqa: E402
from pipeline.data.prompts import user_text  # noqa: E402
from pipeline.rewards.total import RewardModel, Sample  # noqa: E402


def load(model_path: Path | None, records):
    from pipeline.models.tiny import build_tiny_model, load_model
    from pipeline.models.tokenizer import build_tokenizer

    if model_path is not None and (model_path / "config.json").exists():
        return load_model(model_path)
    corpus = [m["content"] for r in records for m in r["prompt"]]
    tokenizer = build_tokenizer(corpus, vocab_size=1024)
    model = build_tiny_model(len(tokenizer), 128, 4, 4, 2, 512, 512, 0, tokenizer)
    return model, tokenizer


def bench_local(model, tokenizer, records, args, rewards: RewardModel) -> tuple[float, float]:
    from pipeline.rl.schedules import Batch
    from pipeline.rl.trainer import GRPOTrainer

    params = GRPOParams(group_size=args.g, batch_size=args.b, max_new_tokens=args.max_new_tokens, lr=1e-4,
                        mini_batch_size=args.b * args.g, checkpoint_every=0)
    batches = [Batch(items=[("math", (i * args.b + j) % len(records)) for j in range(args.b)], segment="math",
                     epoch=0) for i in range(args.steps + 1)]
    with tempfile.TemporaryDirectory() as tmp:
        trainer = GRPOTrainer(model, tokenizer, {"math": records}, batches, params, rewards, Path(tmp), seed=0)
        trainer.step(batches[0])  # warm-up
        t0 = time.perf_counter()
        tokens = 0
        for batch in batches[1:]:
            metrics = trainer.step(batch)
            tokens += metrics["tasks"]["math"]["response_length"] * args.b * args.g
        seconds = time.perf_counter() - t0
    return args.steps / seconds, tokens / seconds


def bench_trl(model, tokenizer, records, args, rewards: RewardModel) -> tuple[float, float]:
    from datasets import Dataset
    from transformers import TrainerCallback
    from trl import GRPOConfig, GRPOTrainer

    from pipeline.rl.rollout import decode_response

    by_prompt = {user_text(r["prompt"]): r for r in records}

    def reward(prompts, completions, completion_ids, **_):
        recs = [by_prompt[user_text(p)] for p in prompts]
        # TRL's `completions` are decoded without special tokens, which drops the think/answer tags (special
        # tokens of our tokenizer) and would score every sample 0; decode the ids as our sampler does.
        texts = [decode_response(tokenizer, ids) for ids in completion_ids]
        return [s.score for s in rewards.score([Sample("math", user_text(r["prompt"]), t, r["reference"], r["meta"])
                                                for r, t in zip(recs, texts)])]

    class Clock(TrainerCallback):
        def __init__(self):
            self.starts, self.ends, self.lengths = [], [], []

        def on_step_begin(self, *a, **k):
            self.starts.append(time.perf_counter())

        def on_step_end(self, *a, **k):
            self.ends.append(time.perf_counter())

        def on_log(self, _args, _state, _control, logs=None, **k):
            if logs and "completions/mean_length" in logs:
                self.lengths.append(logs["completions/mean_length"])

    dataset = Dataset.from_list([{"prompt": r["prompt"]} for r in records])
    clock = Clock()
    with tempfile.TemporaryDirectory() as tmp:
        config = GRPOConfig(output_dir=tmp, per_device_train_batch_size=args.b * args.g, num_generations=args.g,
                            max_completion_length=args.max_new_tokens, temperature=1.0, top_k=0, top_p=1.0,
                            beta=0.0, loss_type="grpo", scale_rewards="group", num_iterations=1,
                            learning_rate=1e-4, use_cpu=True, max_steps=args.steps + 1, logging_steps=1,
                            bf16=False, fp16=False, gradient_checkpointing=False,  # fp32, no recomputation: as ours
                            save_strategy="no", report_to="none", shuffle_dataset=False, seed=0,
                            dataloader_num_workers=0, disable_tqdm=True)
        trainer = GRPOTrainer(model=model, processing_class=tokenizer, reward_funcs=[reward], args=config,
                              train_dataset=dataset, callbacks=[clock])
        trainer.train()
    assert len(clock.ends) == args.steps + 1, f"TRL ran {len(clock.ends)} steps, not {args.steps + 1}"
    seconds = clock.ends[-1] - clock.ends[0]  # the first step is the warm-up
    tokens = sum(clock.lengths[1:]) * args.b * args.g
    return args.steps / seconds, tokens / seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=REPO / "data" / "models" / "base")
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--b", type=int, default=8, help="prompts per step")
    parser.add_argument("--g", type=int, default=8, help="samples per prompt")
    parser.add_argument("--max-new-tokens", type=int, default=32)
    args = parser.parse_args()
    torch.manual_seed(0)
    np.random.seed(0)
    params = parse_params({"tasks": ["math"], "data": {"tasks": {"math": {"source": "synthetic_math", "n": 400}}}})
    records = curate_task(params, "math")[0]["train"]
    rewards = RewardModel(params.rewards)
    try:
        model, tokenizer = load(args.model, records)
        initial = {k: v.clone() for k, v in model.state_dict().items()}
        ours = bench_local(model, tokenizer, records, args, rewards)
        model.load_state_dict(initial)  # TRL starts from the same weights
        trl = bench_trl(model, tokenizer, records, args, rewards)
    finally:
        rewards.close()
    ratio = ours[0] / trl[0]
    print(f"local trainer: {ours[0]:.2f} steps/s, {ours[1]:.0f} generated tokens/s")
    print(f"TRL GRPOTrainer: {trl[0]:.2f} steps/s, {trl[1]:.0f} generated tokens/s")
    print(f"speed-up {ratio:.2f}x (steps/s), {ours[1] / trl[1]:.2f}x (tokens/s)  target >= 1.5x: "
          f"{'PASS' if ratio >= 1.5 else 'FAIL'}")
    return 0 if ratio >= 1.5 else 1


if __name__ == "__main__":
    sys.exit(main())

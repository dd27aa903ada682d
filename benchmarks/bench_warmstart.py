#!/usr/bin/env python
"""Warm-start step time: the plain forward pass against the shared-prefix, completion-logits pass.

Same tiny model (the embedded default's sizes), the same batches (one task per batch, 32 synthetic
pretrain examples in the think/answer chat format), forward + backward, on this CPU. The two give the
same loss (printed); the shared pass runs the common prompt prefix once and projects onto the
vocabulary only where a completion token is predicted (pipeline/models/warmstart.py).

Usage: python benchmarks/bench_warmstart.py [--steps 20]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from pipeline.config import load_params  # noqa: E402
from pipeline.data.curate import curate_task  # noqa: E402
from pipeline.models.tiny import build_tiny_model  # noqa: E402
from pipeline.models.tokenizer import build_tokenizer  # noqa: E402
from pipeline.models.warmstart import collate, encode_example, shared_prefix_loss  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20, help="timed steps per method (after 2 warm-up steps)")
    args = parser.parse_args()
    params = load_params(REPO / "params.yaml")
    m = params.models
    examples, corpus = {}, []
    for task in params.tasks:
        splits = curate_task(params, task)[0]
        examples[task] = [r for r in splits["pretrain"] if "completion" in r["meta"]][:400]
        corpus += [c["content"] for r in examples[task] for c in r["prompt"]] + [r["meta"]["completion"]
                                                                              for r in examples[task]]
    tokenizer = build_tokenizer(corpus, vocab_size=m.vocab_size)
    model = build_tiny_model(len(tokenizer), m.hidden, m.layers, m.heads, m.kv_heads, m.intermediate,
                             m.max_positions, 0, tokenizer)
    model.train()
    rng = np.random.default_rng(0)
    tasks = sorted(examples)
    batches = []
    for step in range(args.steps + 2):
        pool = examples[tasks[step % len(tasks)]]
        batches.append(collate([encode_example(tokenizer, pool[i]["prompt"], pool[i]["meta"]["completion"], m.max_len)
                                for i in rng.integers(0, len(pool), size=m.warmstart_batch_size)],
                               tokenizer.pad_token_id))
    methods = {"plain forward": lambda b: model(**b).loss, "shared prefix + completion logits": lambda b:
               shared_prefix_loss(model, b)}
    results = {}
    for name, loss_fn in methods.items():
        times, losses = [], []
        for i, batch in enumerate(batches):
            t0 = time.perf_counter()
            loss = loss_fn(batch)
            loss.backward()
            model.zero_grad(set_to_none=True)
            if i >= 2:
                times.append(time.perf_counter() - t0)
                losses.append(loss.item())
        results[name] = (float(np.mean(times)), float(np.mean(losses)))
        print(f"{name:<36} {1000 * results[name][0]:7.1f} ms/step  mean loss {results[name][1]:.6f}")
    plain, shared = results["plain forward"][0], results["shared prefix + completion logits"][0]
    print(f"speed-up {plain / shared:.2f}× (torch threads: {torch.get_num_threads()})")


if __name__ == "__main__":
    main()

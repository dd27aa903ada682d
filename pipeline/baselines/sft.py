"""Supervised fine-tuning over a fixed set of (prompt, completion) examples, by epochs.

Used by the RFT baseline: AdamW, loss on the completion tokens only, shuffled batches
each epoch, a constant or cosine learning rate (linear warm-up over the first 5%).
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import torch

from ..models.determinism import deterministic_training
from ..models.warmstart import collate, cosine_lr, encode_example, sft_step
from ..progress import progress


def sft_epochs(model, tokenizer, examples: list[dict[str, Any]], epochs: int, batch_size: int, lr: float,
               schedule: Literal["constant", "cosine"], max_len: int, seed: int, desc: str = "SFT",
               threads: int | None = None) -> list[float]:
    """Train ``model`` in place on ``examples`` (``prompt`` messages + ``completion`` text) on ``threads`` torch
    threads (None: the process's count); losses per step."""
    if not examples:
        return []
    deterministic_training(threads)
    rng = np.random.default_rng(seed)
    torch.manual_seed(seed)
    encoded = [encode_example(tokenizer, e["prompt"], e["completion"], max_len) for e in examples]
    per_epoch = -(-len(encoded) // batch_size)
    total = per_epoch * epochs
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.0)
    warmup = max(1, total // 20)
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, (lambda s: cosine_lr(s, total, warmup)) if schedule == "cosine" else (lambda s: 1.0))
    model.train()
    losses: list[float] = []
    bar = progress(total=total, desc=desc, unit="step")
    for _ in range(epochs):
        order = rng.permutation(len(encoded))
        for start in range(0, len(order), batch_size):
            batch = collate([encoded[i] for i in order[start:start + batch_size]], tokenizer.pad_token_id)
            losses.append(sft_step(model, optimizer, scheduler, batch))
            bar.update(1)
            if len(losses) % 20 == 0:
                bar.set_postfix(loss=f"{np.mean(losses[-20:]):.3f}")
    bar.close()
    model.eval()
    return losses

"""Supervised fine-tuning over a fixed set of (prompt, completion) examples, by epochs.

Used by the RFT baseline: AdamW, loss on the completion tokens only, shuffled batches
each epoch, a constant or cosine learning rate (linear warm-up over the first 5%).

With :class:`SFTCheckpoints`, every ``every`` steps the model, optimizer, LR scheduler, torch RNG state and the
losses so far are saved (:mod:`pipeline.rl.checkpoint`: replaced atomically); a cut run started again resumes
from there and ends with the same weights as an uninterrupted one. The epochs' orders are drawn from the seed
before the first step, so a resumed run draws the same batches.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch

from ..models.determinism import deterministic_training
from ..models.warmstart import collate, cosine_lr, encode_example, sft_step
from ..progress import progress


@dataclass(frozen=True)
class SFTCheckpoints:
    """Where and how often :func:`sft_epochs` saves its resumable state: ``folder`` holds this run's work only
    (the caller keys it, :func:`pipeline.io.keyed_work_folder`); ``every`` steps, 0: never."""

    folder: Path
    every: int


def _save(checkpoints: SFTCheckpoints, step: int, model, tokenizer, optimizer, scheduler,
          losses: list[float]) -> None:
    from ..rl.checkpoint import save_checkpoint

    def write(folder: Path) -> None:
        model.save_pretrained(folder / "model")
        tokenizer.save_pretrained(folder / "model")
        torch.save({"optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(),
                    "torch_rng": torch.get_rng_state(), "losses": torch.tensor(losses, dtype=torch.float64),
                    "step": step}, folder / "state.pt")

    save_checkpoint(checkpoints.folder, step, write)


def _resume(checkpoints: SFTCheckpoints, model, optimizer, scheduler) -> list[float] | None:
    """Load the newest checkpoint into ``model``, ``optimizer`` and ``scheduler``; its losses, or None."""
    from ..models.tiny import load_causal_lm
    from ..rl.checkpoint import latest_checkpoint
    from ..rl.trainer import load_state

    ckpt = latest_checkpoint(checkpoints.folder)
    state = load_state(ckpt / "state.pt") if ckpt is not None else None
    if state is None:
        return None
    model.load_state_dict(load_causal_lm(ckpt / "model").state_dict())
    optimizer.load_state_dict(state["optimizer"])
    scheduler.load_state_dict(state["scheduler"])
    torch.set_rng_state(state["torch_rng"])
    print(f"SFT: resuming at step {state['step']} from {ckpt}", flush=True)
    return [float(x) for x in state["losses"]]


def sft_epochs(model, tokenizer, examples: list[dict[str, Any]], epochs: int, batch_size: int, lr: float,
               schedule: Literal["constant", "cosine"], max_len: int, seed: int, desc: str = "SFT",
               threads: int | None = None, checkpoints: SFTCheckpoints | None = None) -> list[float]:
    """Train ``model`` in place on ``examples`` (``prompt`` messages + ``completion`` text) on ``threads`` torch
    threads (None: the process's count), resuming from and saving to ``checkpoints``; losses per step."""
    if not examples:
        return []
    deterministic_training(threads)
    rng = np.random.default_rng(seed)
    torch.manual_seed(seed)
    encoded = [encode_example(tokenizer, e["prompt"], e["completion"], max_len) for e in examples]
    orders = [rng.permutation(len(encoded)) for _ in range(epochs)]
    batches = [order[start:start + batch_size] for order in orders for start in range(0, len(order), batch_size)]
    total = len(batches)
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.0)
    warmup = max(1, total // 20)
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, (lambda s: cosine_lr(s, total, warmup)) if schedule == "cosine" else (lambda s: 1.0))
    losses: list[float] = (_resume(checkpoints, model, optimizer, scheduler) if checkpoints else None) or []
    model.train()
    bar = progress(total=total, initial=len(losses), desc=desc, unit="step")
    for batch_rows in batches[len(losses):]:
        batch = collate([encoded[i] for i in batch_rows], tokenizer.pad_token_id)
        losses.append(sft_step(model, optimizer, scheduler, batch))
        bar.update(1)
        if len(losses) % 20 == 0:
            bar.set_postfix(loss=f"{np.mean(losses[-20:]):.3f}")
        if checkpoints and checkpoints.every and len(losses) % checkpoints.every == 0 and len(losses) < total:
            _save(checkpoints, len(losses), model, tokenizer, optimizer, scheduler, losses)
    bar.close()
    model.eval()
    return losses

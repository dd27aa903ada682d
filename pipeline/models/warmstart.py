"""Warm start of the tiny base model by SFT on the synthetic ``pretrain`` split.

Loss on the completion tokens only (``<think>…</think><answer>…</answer><eos>``), right
padding, AdamW with a linear warm-up then cosine decay. Batches hold one task each (a
round robin over tasks), which keeps lengths similar: about 1.7× faster than mixed
batches on this CPU (shared notes).

Every prompt starts with the same chat markers and system prompt (21 of the ~77 tokens of
an embedded-default example), so a batch's common prefix is run once and its KV cache
indexed out to the rows (:func:`shared_prefix_loss`). That is exact, as in the rollouts:
keys and values of a prefix do not depend on what follows, indexing is differentiable,
so the loss and its gradient are those of the full forward pass. Logits are computed only where
a completion token is predicted (:func:`completion_loss`).
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np
import torch

from ..progress import progress
from .determinism import deterministic_training


def encode_example(tokenizer, prompt: list[dict[str, str]], completion: str, max_len: int) -> tuple[list[int], int]:
    """(token ids, number of prompt tokens); the completion ends with EOS."""
    prompt_ids = list(tokenizer.apply_chat_template(prompt, tokenize=True, add_generation_prompt=True)["input_ids"])
    completion_ids = tokenizer(completion, add_special_tokens=False)["input_ids"] + [tokenizer.eos_token_id]
    ids = (prompt_ids + completion_ids)[:max_len]
    return ids, len(prompt_ids)


def collate(examples: Sequence[tuple[list[int], int]], pad_id: int) -> dict[str, torch.Tensor]:
    width = max(len(ids) for ids, _ in examples)
    input_ids = torch.full((len(examples), width), pad_id, dtype=torch.long)
    labels = torch.full((len(examples), width), -100, dtype=torch.long)
    attention = torch.zeros((len(examples), width), dtype=torch.long)
    for row, (ids, n_prompt) in enumerate(examples):
        input_ids[row, : len(ids)] = torch.tensor(ids)
        attention[row, : len(ids)] = 1
        labels[row, n_prompt: len(ids)] = torch.tensor(ids[n_prompt:])
    return {"input_ids": input_ids, "attention_mask": attention, "labels": labels}


def cosine_lr(step: int, total: int, warmup: int) -> float:
    """Multiplier: linear warm-up over ``warmup`` steps, then cosine decay to 0."""
    if step < warmup:
        return (step + 1) / warmup
    return 0.5 * (1 + math.cos(math.pi * (step - warmup) / max(1, total - warmup)))


def common_prefix(batch: dict[str, torch.Tensor]) -> int:
    """Length of the token prefix shared by every row that is still prompt in every row (its last
    position predicts a prompt token, so no loss term needs the prefix's logits)."""
    ids, labels = batch["input_ids"], batch["labels"]
    same = (ids == ids[:1]).all(0).long()
    shared = int(same.cumprod(0).sum())
    first_label = int((labels != -100).long().argmax(-1).min()) if (labels != -100).any() else ids.shape[1]
    return max(0, min(shared, first_label - 1))


def completion_loss(model, labels: torch.Tensor, **inputs) -> torch.Tensor:
    """``model(**inputs, labels=labels).loss`` — the mean cross-entropy of the label tokens, labels shifted by
    one — with the vocabulary projection run only at the positions that predict a label (``logits_to_keep``):
    about a fifth of a warm-start batch's positions, the rest being prompt."""
    targets = labels[:, 1:]
    keep = torch.nonzero((targets != -100).any(0)).squeeze(-1)
    if len(keep) == 0:
        return model(**inputs, labels=labels).loss
    logits = model(**inputs, logits_to_keep=keep).logits.float()
    return torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets[:, keep].reshape(-1),
                                             ignore_index=-100)


def shared_prefix_loss(model, batch: dict[str, torch.Tensor]) -> torch.Tensor:
    """The mean completion-token cross-entropy of ``model(**batch).loss``, with the common prefix of the
    rows run once (exact; see the module docstring). Falls back to the full pass without one."""
    from transformers import DynamicCache

    device = next(model.parameters()).device
    batch = {k: v.to(device) for k, v in batch.items()}
    n = common_prefix(batch)
    if n < 2:
        return completion_loss(model, batch["labels"], input_ids=batch["input_ids"],
                               attention_mask=batch["attention_mask"])
    rows = batch["input_ids"].shape[0]
    cache = DynamicCache(config=model.config)
    model(input_ids=batch["input_ids"][:1, :n], past_key_values=cache, use_cache=True, logits_to_keep=1)
    cache.reorder_cache(torch.zeros(rows, dtype=torch.long, device=device))
    rest = batch["input_ids"][:, n:]
    positions = torch.arange(n, batch["input_ids"].shape[1], device=device)[None].expand(rows, -1)
    return completion_loss(model, batch["labels"][:, n:], input_ids=rest, attention_mask=batch["attention_mask"],
                           position_ids=positions, past_key_values=cache, use_cache=True)


def sft_step(model, optimizer, scheduler, batch: dict[str, torch.Tensor]) -> float:
    """One completion-only SFT update (gradient-norm clip 1.0); returns the loss."""
    loss = shared_prefix_loss(model, batch)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    optimizer.step()
    scheduler.step()
    optimizer.zero_grad(set_to_none=True)
    return loss.item()


def sft(model, tokenizer, records_by_task: dict[str, list[dict[str, Any]]], steps: int, batch_size: int, lr: float,
        max_len: int, seed: int, desc: str = "warm start", threads: int | None = None) -> list[float]:
    """Train ``model`` in place on ``threads`` torch threads (None: the process's count); the loss per step."""
    deterministic_training(threads)
    rng = np.random.default_rng(seed)
    torch.manual_seed(seed)
    encoded = {task: [encode_example(tokenizer, r["prompt"], r["meta"]["completion"], max_len) for r in recs]
               for task, recs in records_by_task.items() if recs}
    tasks = sorted(encoded)
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.0)
    warmup = max(1, steps // 20)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: cosine_lr(s, steps, warmup))
    model.train()
    losses: list[float] = []
    for step in (bar := progress(range(steps), desc=desc, unit="step")):
        task = tasks[step % len(tasks)]
        pool = encoded[task]
        batch = collate([pool[i] for i in rng.integers(0, len(pool), size=batch_size)], tokenizer.pad_token_id)
        losses.append(sft_step(model, optimizer, scheduler, batch))
        if step % 20 == 0:
            bar.set_postfix(loss=f"{np.mean(losses[-20:]):.3f}")
    model.eval()
    return losses

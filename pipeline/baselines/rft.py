"""Rejection-sampling fine-tuning (RFT; Yuan et al., 2023), the SFT baseline of Section 4.

1. sample ``samples`` responses per training prompt from θ0 (the paper: 128);
2. keep a response when its primary reward (the same registry as GRPO) reaches the
   kind's bar: 1 for the binary verifiers (math, code, QA); for writing, winning or tying
   against the reference under the pairwise judge, i.e. a win rate ≥ 0.5;
3. deduplicate (identical response to the same prompt), optionally cap per prompt;
4. fine-tune θ0 on the kept responses (:func:`pipeline.baselines.sft.sft_epochs`, or verl's SFT trainer at
   scale).

Sampling goes in batches of ``prompts_per_batch`` prompts (memory bounded: one batch's ``samples`` responses
per prompt at a time). With a work folder each finished batch is written there (kept responses and counts);
a rerun after a cut job loads those and samples only the rest. Each batch's sampling noise is a function of
the seed and the batch's place only (:func:`batch_seed`), so a resumed run keeps exactly what an uncut one
would.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from ..data.prompts import user_text
from ..progress import progress
from ..rewards.total import REWARD_KINDS, RewardModel, Sample

# The primary-reward value a response must reach to be kept, per reward kind.


def keep_response(accuracy: float | None, kind: str) -> bool:
    """Whether a sampled response is kept: its primary reward reaches the ``keep_at`` its kind declares
    (:class:`~pipeline.rewards.total.RewardKind`; None: never)."""
    return accuracy is not None and accuracy >= REWARD_KINDS.get_or_fail(kind, "reward kind").keep_at


@dataclass
class TaskStats:
    prompts: int = 0
    sampled: int = 0
    correct: int = 0
    duplicates: int = 0
    kept: int = 0
    prompts_kept: int = 0

    def add(self, other: "TaskStats") -> None:
        for name in ("prompts", "sampled", "correct", "duplicates", "kept", "prompts_kept"):
            setattr(self, name, getattr(self, name) + getattr(other, name))

    def as_dict(self) -> dict[str, Any]:
        return {"prompts": self.prompts, "prompts_kept": self.prompts_kept,
                "prompt_keep_rate": self.prompts_kept / self.prompts if self.prompts else 0.0,
                "sampled": self.sampled, "correct": self.correct, "duplicates": self.duplicates,
                "kept": self.kept}


def select_responses(records: list[dict[str, Any]], texts: list[str], accuracies: list[float | None], kind: str,
                     samples: int, max_per_prompt: int | None, stats: TaskStats) -> list[dict[str, Any]]:
    """Kept, deduplicated examples of one batch (``samples`` consecutive texts per record)."""
    out = []
    for i, record in enumerate(records):
        seen: set[str] = set()
        kept = 0
        for text, acc in zip(texts[i * samples:(i + 1) * samples], accuracies[i * samples:(i + 1) * samples]):
            stats.sampled += 1
            if not keep_response(acc, kind):
                continue
            stats.correct += 1
            if text in seen:
                stats.duplicates += 1
                continue
            seen.add(text)
            if max_per_prompt is not None and kept >= max_per_prompt:
                continue
            kept += 1
            out.append({"task": record["task"], "id": record["id"], "prompt": record["prompt"], "completion": text})
        stats.prompts += 1
        stats.kept += kept
        stats.prompts_kept += kept > 0
    return out


def batch_seed(seed: int, task_index: int, start: int) -> int:
    """The sampling seed of the batch of prompts starting at ``start`` of task ``task_index``: a function of its
    place only, so a batch samples the same responses whether or not earlier batches ran in this process."""
    return seed * 1_000_003 + task_index * 10_007_000 + start


def collect(generator, records: list[dict[str, Any]], rewards: RewardModel, kind: str, samples: int,
            temperature: float, top_p: float, top_k: int, max_new_tokens: int, max_per_prompt: int | None,
            batch_size: int = 8, seed: int = 0, task_index: int = 0,
            work: Path | None = None) -> tuple[list[dict[str, Any]], TaskStats]:
    """Sample (with ``generator``, the ``eval.backend`` engine on θ0), score, filter and deduplicate the
    responses of θ0 to one task's ``records``, ``batch_size`` prompts at a time; with ``work``, every finished
    batch is saved there (``batch-<start>.json``) and reused by a rerun."""
    from ..io import write_json_atomic

    stats = TaskStats()
    kept: list[dict[str, Any]] = []
    task = records[0]["task"] if records else "?"
    bar = progress(total=len(records), desc=f"RFT sampling {task}", unit="prompt")
    for start in range(0, len(records), batch_size):
        chunk = records[start:start + batch_size]
        saved = work / f"batch-{start}.json" if work is not None else None
        if saved is not None and saved.exists():
            done = json.loads(saved.read_text(encoding="utf-8"))
            part, part_stats = done["kept"], TaskStats(**done["stats"])
        else:
            rollout = generator.sample([r["prompt"] for r in chunk], samples, max_new_tokens, temperature, top_p,
                                       top_k, seed=batch_seed(seed, task_index, start))
            expanded = [r for r in chunk for _ in range(samples)]
            scored = rewards.score([Sample(r["task"], user_text(r["prompt"]), text, r["reference"], r["meta"])
                                    for r, text in zip(expanded, rollout.texts)])
            part_stats = TaskStats()
            part = select_responses(chunk, rollout.texts, [s.components["accuracy"] for s in scored], kind,
                                    samples, max_per_prompt, part_stats)
            if saved is not None:
                write_json_atomic(saved, {"kept": part, "stats": asdict(part_stats)})
        kept += part
        stats.add(part_stats)
        bar.update(len(chunk))
        bar.set_postfix(kept=stats.kept, prompts_kept=stats.prompts_kept)
    bar.close()
    return kept, stats

"""Per-task evaluation of any model on any split: accuracy and mean token entropy (Eq. 11).

- accuracy: the primary reward component of the registry (binary for math, code and QA;
  win rate with ties as 0.5 for writing), as mean@k over ``samples`` sampled completions
  per prompt, and greedy;
- entropy: ``E(θ, T_k) = −E_q E_{o∼π_θ} (1/|o|) Σ_t Σ_v π_θ(v|q,o_<t) log π_θ(v|q,o_<t)`` on the
  policy's own sampled outputs (Eq. 11), whatever decides accuracy: with ``temperature: 0``
  (greedy accuracy, as at paper scale) ``samples`` completions are still drawn at T = 1 for it.

Outputs the interface of the analysis: ``trained_on,evaluated_on,split,accuracy`` (plus
``accuracy_se``, the standard error over prompts, ``accuracy_greedy``, ``accuracy_sampled``, ``n``) and
``trained_on,evaluated_on,split,entropy``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..config import EvalParams
from ..data.prompts import user_text
from ..errors import UserError
from ..rewards.total import RewardModel, Sample
from .generators import Generator


def _accuracy(rewards: RewardModel, records: list[dict[str, Any]], texts: list[str], k: int) -> tuple[np.ndarray, int]:
    """Per-prompt accuracy over the samples whose primary reward is defined (NaN for a prompt with none), and
    the number of undefined samples (e.g. no judge verdict): left out, never counted as wrong."""
    expanded = [r for r in records for _ in range(k)]
    scored = rewards.score([Sample(r["task"], user_text(r["prompt"]), t, r["reference"], r["meta"])
                            for r, t in zip(expanded, texts)])
    acc = np.array([np.nan if s.components["accuracy"] is None else s.components["accuracy"] for s in scored],
                   dtype=float).reshape(len(records), k)
    defined = (~np.isnan(acc)).sum(axis=1)
    per_prompt = np.where(defined > 0, np.nansum(acc, axis=1) / np.maximum(defined, 1), np.nan)
    return per_prompt, int(np.isnan(acc).sum())


@torch.no_grad()
def evaluate_records(generator: Generator, records: list[dict[str, Any]], params: EvalParams,
                     rewards: RewardModel, seed: int = 0) -> dict[str, float]:
    """Greedy and sampled (mean@k) accuracy and Eq. 11 entropy on ``records`` (``per_prompt``: the
    accuracy of each prompt under ``params.accuracy``, for paired comparisons of two models on the same prompts;
    ``per_prompt_greedy``: the greedy one, for Table 2).

    The samples use common random numbers: the batch that starts at prompt ``i`` is sampled with noise
    seeded ``seed + i``, and each sample's noise depends only on its prompt, sample index and step
    (:meth:`Generator.sample`), so every model evaluated on these records with this seed draws with the
    same noise. Each model's mean@k keeps
    its distribution (its own policy, sampled), but two models' samples agree wherever their policies
    do, so the noise of a *difference* — a gain over θ0, a BWT entry — shrinks with their distance
    instead of staying that of two independent evaluations.
    """
    if params.max_items is not None:
        records = records[: params.max_items]
    greedy, sampled, entropies = [], [], []
    undefined = {"greedy": 0, "sampled": 0}
    for start in range(0, len(records), params.batch_size):
        chunk = records[start:start + params.batch_size]
        prompts = [r["prompt"] for r in chunk]
        g = generator.sample(prompts, 1, params.max_new_tokens, 1.0, 1.0, 0, greedy=True)
        acc, missing = _accuracy(rewards, chunk, g.texts, 1)
        greedy.append(acc)
        undefined["greedy"] += missing
        if params.temperature > 0:
            s = generator.sample(prompts, params.samples, params.max_new_tokens, params.temperature, params.top_p,
                                 params.top_k, with_entropy=True, seed=seed + start)
            acc, missing = _accuracy(rewards, chunk, s.texts, params.samples)
            sampled.append(acc)
            undefined["sampled"] += missing
        else:  # greedy accuracy; Eq. 11 still needs the policy's own samples (T = 1, untruncated)
            s = generator.sample(prompts, params.samples, params.max_new_tokens, 1.0, 1.0, 0, with_entropy=True,
                                 seed=seed + start)
        entropies.append(s.entropy)  # π_θ at temperature 1
    deciding = "sampled" if params.accuracy == "sampled" and sampled else "greedy"
    per_prompt = np.concatenate(sampled if deciding == "sampled" else greedy)
    if np.isnan(per_prompt).all():
        raise UserError(f"no sample of the {len(records)} prompts got a defined {records[0]['task']} reward "
                        "(e.g. the judge gave no verdict for any): no accuracy to report")
    acc_greedy = _nanmean(np.concatenate(greedy))
    acc_sampled = _nanmean(np.concatenate(sampled)) if sampled else acc_greedy
    entropy = float(np.concatenate(entropies).mean())
    return {"accuracy_greedy": acc_greedy, "accuracy_sampled": acc_sampled,
            "accuracy": _nanmean(per_prompt), "accuracy_se": standard_error(per_prompt),
            "entropy": entropy, "n": len(records), "undefined": undefined[deciding], "per_prompt": per_prompt,
            "per_prompt_greedy": np.concatenate(greedy)}


def _nanmean(values: np.ndarray) -> float:
    """Mean over the defined values (NaN only when none is)."""
    defined = values[~np.isnan(values)]
    return float(defined.mean()) if len(defined) else float("nan")


def evaluate_split(generator: Generator, curated: Path, task: str, split: str, params: EvalParams,
                   rewards: RewardModel, seed: int) -> dict[str, Any]:
    """:func:`evaluate_records` on ``curated/<task>/<split>.parquet`` with ``seed`` (the same sampling noise
    for every model evaluated on it)."""
    from ..data.schema import read_split
    from ..errors import UserError

    file = Path(curated) / task / f"{split}.parquet"
    if not file.exists():
        raise UserError(f"{file}: file not found")
    records = read_split(file, task=task)
    if not records:
        raise UserError(f"{file}: the split is empty, nothing to evaluate (curate it with a larger n)")
    torch.manual_seed(seed)
    return evaluate_records(generator, records, params, rewards, seed)


def paired_difference(after: np.ndarray, before: np.ndarray) -> tuple[float, float]:
    """Mean per-prompt accuracy difference of two models on the same prompts, and its standard error
    (the evaluation noise of a gain: prompt difficulty cancels out)."""
    diff = np.asarray(after, dtype=float) - np.asarray(before, dtype=float)
    diff = diff[~np.isnan(diff)]  # prompts with a defined accuracy for both models
    return (float(diff.mean()) if len(diff) else float("nan")), standard_error(diff)


def standard_error(per_prompt: np.ndarray) -> float:
    """Standard error of a mean over prompts (sample std / √n, prompts with a defined accuracy): the evaluation
    noise of an accuracy."""
    values = np.asarray(per_prompt, dtype=float)
    values = values[~np.isnan(values)]
    return float(values.std(ddof=1) / np.sqrt(len(values))) if len(values) > 1 else float("nan")

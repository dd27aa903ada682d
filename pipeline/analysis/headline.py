"""The paper's headline claims: the curriculum's relative gain over joint training and over merging.

The abstract's "6.2% over joint training and 12.4% over model merging" is, on Table 1, the ratio of the
averages minus one: the mean over the four domains' averages is 58.05 for CL, 54.675 for JT and 51.625 for
MM, and 58.05 / 54.675 − 1 = 6.17%, 58.05 / 51.625 − 1 = 12.45%. :func:`relative_gain` computes the same
figure from this run's per-task test accuracies, with the standard error of a paired comparison: both models
answer the same test prompts, so the per-prompt results are paired within each task.
"""

from __future__ import annotations

from typing import Mapping

import numpy as np


def relative_gain(a: Mapping[str, np.ndarray], b: Mapping[str, np.ndarray]) -> tuple[float, float]:
    """Relative gain of model a over model b on the average over tasks, and its paired standard error.

    ``g = A / B − 1`` with ``A = (1/K) Σ_k mean(a_k)``, ``B = (1/K) Σ_k mean(b_k)`` (the abstract's headline,
    on Table 1's average; no equation number in the paper). ``a[k]`` and ``b[k]`` are the per-prompt results
    of the two models on the same prompts of task k, in the same order.

    Standard error by the delta method: ``g − g₀ ≈ (A − R·B) / B`` with ``R = A / B``, and ``A − R·B`` is
    ``(1/K) Σ_k mean_i(d_ki)`` for the paired differences ``d_ki = a_ki − R·b_ki``; prompts are independent
    across tasks, so ``SE(g) = sqrt(Σ_k s²(d_k) / n_k) / (K·B)`` with ``s²`` the sample variance (ddof 1).
    """
    tasks = list(a)
    if set(tasks) != set(b):
        raise ValueError(f"the two models have results on different tasks: {sorted(a)} vs {sorted(b)}")
    for task in tasks:
        if len(a[task]) != len(b[task]) or len(a[task]) < 2:
            raise ValueError(f"task {task}: paired results need the same prompts (at least 2), got "
                             f"{len(a[task])} and {len(b[task])}")
    k = len(tasks)
    big_a = float(np.mean([np.mean(a[t]) for t in tasks]))
    big_b = float(np.mean([np.mean(b[t]) for t in tasks]))
    if big_b <= 0.0:
        raise ValueError("the reference model's average is 0: a relative gain is undefined")
    ratio = big_a / big_b
    variance = sum(float(np.var(np.asarray(a[t], float) - ratio * np.asarray(b[t], float), ddof=1)) / len(a[t])
                   for t in tasks)
    return ratio - 1.0, float(np.sqrt(variance) / (k * big_b))

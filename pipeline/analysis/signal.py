"""When a number carries no signal: verdicts that need a difference larger than its standard error, and the
reasons a statistic is undefined.

The report states conclusions (a Table 2 prediction holds, the best predicted order is the best measured one, two
rankings agree). On a run that learned nothing (every accuracy 0, or every model at θ0's) each of those would be
an artefact of ties and of how ties are broken, so each is decided here, with the reason when it cannot be:

- a directional prediction holds or fails only when the measured difference exceeds its standard error
  (:func:`sign_verdict`);
- "the best predicted is the best measured" needs a unique best on both sides, the measured one ahead of the
  runner-up by more than its standard error where one is known (:func:`best_agrees`);
- a rank correlation of a constant vector is undefined (:func:`rank_correlation`);
- a run carries no learning signal when every accuracy is zero or every model's equals θ0's
  (:func:`no_signal_reason`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np

TIE = 1e-12
"""Values closer than this are equal (floating-point noise of sums of logs, not a difference)."""


@dataclass(frozen=True)
class Verdict:
    """A yes/no conclusion, or None with the reason it cannot be drawn."""

    value: bool | None
    reason: str = ""

    def text(self, yes: str = "yes", no: str = "no") -> str:
        if self.value is None:
            return f"undetermined ({self.reason})"
        return yes if self.value else no


def sign_verdict(difference: float, se: float, expected_sign: int) -> Verdict:
    """A prediction that a paired difference has sign ``expected_sign`` (+1 or −1), judged on the measured mean
    ``difference`` and its standard error ``se``: it holds when the difference has that sign and
    ``|difference| > se``, does not hold when it has the other sign and ``|difference| > se``; otherwise there is no
    verdict (no difference at all, no standard error, or a difference within one SE)."""
    if expected_sign not in (1, -1):
        raise ValueError(f"expected_sign must be +1 or -1, got {expected_sign}")
    if not math.isfinite(difference):
        return Verdict(None, "no measured difference")
    if abs(difference) <= TIE:
        return Verdict(None, "no difference: the two models score the same on every prompt" if se == 0
                       else "no difference")
    if not math.isfinite(se):
        return Verdict(None, "no standard error (fewer than 2 prompts)")
    if abs(difference) <= se:
        return Verdict(None, f"the difference {difference:+.3f} is within its standard error {se:.3f}")
    return Verdict(bool(np.sign(difference) == expected_sign))


def best_agrees(predicted: Sequence[float], measured: Sequence[float],
                measured_se: Sequence[float] | None = None) -> Verdict:
    """Whether the item with the highest ``predicted`` value is the one with the highest ``measured`` value (the
    best predicted order is the best measured one). Undefined when fewer than two items, when the predicted best
    is tied, or when the measured best is tied or, with ``measured_se`` (each item's standard error), ahead of the
    runner-up by no more than the larger of their two standard errors."""
    p, m = np.asarray(predicted, dtype=np.float64), np.asarray(measured, dtype=np.float64)
    if len(p) != len(m):
        raise ValueError("predicted and measured differ in length")
    if len(m) < 2:
        return Verdict(None, "fewer than two orders measured")
    if np.isnan(m).any() or np.isnan(p).any():
        return Verdict(None, "an order has no value")
    top_p = np.flatnonzero(p >= p.max() - TIE)
    if len(top_p) > 1:
        return Verdict(None, f"{len(top_p)} orders tie for the best prediction")
    ranked = np.argsort(-m, kind="stable")
    best, runner_up = int(ranked[0]), int(ranked[1])
    margin = m[best] - m[runner_up]
    if margin <= TIE:
        tied = int(np.sum(m >= m[best] - TIE))
        return Verdict(None, f"{tied} orders tie for the best measured value")
    if measured_se is not None:
        se = np.asarray(measured_se, dtype=np.float64)
        noise = max(se[best], se[runner_up])
        if np.isfinite(noise) and margin <= noise:
            return Verdict(None, f"the best measured order leads the next by {margin:.3f}, within its standard "
                                 f"error {noise:.3f}")
    return Verdict(bool(top_p[0] == best))


def rank_correlation(x: Sequence[float], y: Sequence[float]) -> tuple[float | None, str]:
    """Spearman's ρ of ``x`` and ``y`` (average ranks for ties), or None with the reason it is undefined: fewer
    than two values, or either side constant (every value tied)."""
    from .pairwise import spearman

    a = np.round(np.asarray(x, dtype=np.float64), 12).astype(np.float64)
    b = np.round(np.asarray(y, dtype=np.float64), 12).astype(np.float64)
    if len(a) < 2:
        return None, "fewer than two values"
    if np.ptp(a) == 0 or np.ptp(b) == 0:
        return None, "every order tied in one of the rankings"
    return spearman(a, b), ""


def no_signal_reason(accuracy: dict[str, dict[str, float]], base: str = "Base") -> str | None:
    """Why a run's accuracies carry no learning signal, or None when they carry some. ``accuracy``: model →
    task → accuracy (Table 1's cells). No signal: every accuracy is zero, or every model's accuracy on every task
    equals θ0's (``base``): nothing that training did shows in what was measured."""
    values = [v for row in accuracy.values() for v in row.values()]
    if not values:
        return "no accuracy was measured"
    if all(abs(v) <= TIE for v in values):
        return "every test accuracy is 0"
    if base in accuracy and all(abs(row.get(t, math.nan) - a) <= TIE for name, row in accuracy.items()
                                if name != base for t, a in accuracy[base].items()):
        return "every model's test accuracy equals θ0's"
    return None


__all__ = ["TIE", "Verdict", "best_agrees", "no_signal_reason", "rank_correlation", "sign_verdict"]

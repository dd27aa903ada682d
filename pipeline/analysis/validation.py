"""The curriculum predictors side by side on trained orders (``validate-predictions``, docs/curriculum.md).

Three predictions of each trained order's per-task accuracies, all from what is known before any full curriculum
is trained:

- ``algorithm1``: Algorithm 1 on the split's BWT and θ0 accuracies (:mod:`.prediction`);
- ``pairwise``: the pairwise predictor (:mod:`.pairwise`) with the scales λ of params (nothing fitted);
- ``pairwise_loo``: the pairwise predictor with λ fitted on the *other* trained orders
  (:func:`~.pairwise.leave_one_order_out`), so no order helps predict itself.

Each is scored on the same orders by :func:`~.pairwise.prediction_errors` (per-task MAE, Δrel MAE, Spearman).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from .bwt import FloatArray, floor_or_refuse
from .pairwise import PairwisePredictor, fit_scales, leave_one_order_out, prediction_errors
from .prediction import algorithm1_terminal_accuracies
from .scores import delta_rel, score_s

ALGORITHM1, PAIRWISE, PAIRWISE_LOO = "algorithm1", "pairwise", "pairwise_loo"


@dataclass(frozen=True)
class PredictorInputs:
    """What the predictors know of one split: θ0's accuracies, the BWT (Eq. 6) and, when the pair runs exist,
    the pairwise predictor (with params' scales)."""

    base: FloatArray
    bwt: FloatArray
    pairwise: PairwisePredictor | None = None


@dataclass(frozen=True)
class Comparison:
    """Every predictor's accuracies of N orders (``predicted[name]``: ``(N, K)``), the measured ones (floored for
    logs) and the errors (``errors[name]``, plus ``fitted_scales``: λ fitted on all N orders)."""

    predicted: dict[str, FloatArray]
    measured: FloatArray
    base: FloatArray
    alpha: FloatArray
    errors: dict[str, object]

    def summary(self, n: int) -> dict:
        """Order ``n``'s Δrel (Eq. 14) and S (Eq. 10): ``predicted`` (Algorithm 1, Table 3's), ``actual`` and every
        predictor's under ``predictors``."""
        def scores(acc: np.ndarray) -> dict[str, float]:
            return {"delta_rel": delta_rel(acc, self.base), "score": score_s(np.log(acc), self.alpha)}

        return {"predicted": scores(self.predicted[ALGORITHM1][n]), "actual": scores(self.measured[n]),
                "predictors": {name: scores(p[n]) for name, p in self.predicted.items()}}


def compare_predictors(inputs: PredictorInputs, orders: Sequence[Sequence[int]], measured: FloatArray,
                       floor: float | None, alpha: FloatArray, source: str = "measured accuracies") -> Comparison:
    """Predict the trained ``orders`` (task indices) with every available predictor and score each against
    ``measured`` (``(N, K)`` accuracies, raised to ``floor`` before logs; without a floor a zero is an error
    naming ``source``)."""
    measured = floor_or_refuse(measured, floor, source)
    predicted = {ALGORITHM1: np.array([algorithm1_terminal_accuracies(inputs.bwt, inputs.base, o) for o in orders])}
    pw = inputs.pairwise
    fitted = None
    if pw is not None:
        predicted[PAIRWISE] = np.array([pw.accuracies(o) for o in orders])
        if len(orders) >= 2:
            predicted[PAIRWISE_LOO] = leave_one_order_out(pw.self_acc, pw.forward, pw.backward, orders, measured)
            fitted = list(fit_scales(pw.self_acc, pw.forward, pw.backward, orders, measured))
    errors: dict[str, object] = {name: prediction_errors(p, measured, inputs.base) for name, p in predicted.items()}
    if fitted is not None:
        errors["fitted_scales"] = fitted
    return Comparison(predicted, measured, np.asarray(inputs.base, dtype=np.float64),
                      np.asarray(alpha, dtype=np.float64), errors)

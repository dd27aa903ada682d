"""Every curriculum of K tasks with its Algorithm-1 predictions (Table 4), and two rankings compared.

The paper ranks all K! orders twice (Table 4): by the validation BWT and by the test BWT. :func:`all_curricula`
gives one ranking (any BWT matrix), :func:`compare_rankings` puts two side by side and says where they disagree.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .pairwise import PairwisePredictor, spearman
from .prediction import terminal_log_accuracies_batch
from .tables import ORDER_SEPARATOR

ENUMERATE_MAX_K = 8
"""All K! orders are listed up to this K (8! = 40,320)."""


def all_curricula(tasks: tuple[str, ...], bwt: np.ndarray, base: np.ndarray, alpha: np.ndarray,
                  pairwise: PairwisePredictor | None = None) -> pd.DataFrame:
    """Every order with its Algorithm-1 terminal accuracies, S (Eq. 10) and predicted Δrel (Eq. 14), best S
    first (ties by name); ``rank`` is the position. With ``pairwise``, the same columns by the pairwise
    predictor follow, prefixed ``pairwise_`` (its ``pairwise_rank`` by its own S)."""
    orders = np.array(list(itertools.permutations(range(len(tasks)))), dtype=np.int64)
    log_acc = terminal_log_accuracies_batch(bwt, base, orders)
    acc = np.exp(log_acc)
    frame = pd.DataFrame({"order": [ORDER_SEPARATOR.join(tasks[k] for k in o) for o in orders]})
    for i, t in enumerate(tasks):
        frame[f"pred_{t}"] = acc[:, i]
    frame["score"] = log_acc @ alpha
    frame["delta_rel"] = np.mean(log_acc - np.log(base), axis=1)
    frame["above_one"] = ["|".join(t for i, t in enumerate(tasks) if row[i] > 1.0) for row in acc]
    frame["_key"] = frame["score"].round(12)
    frame = frame.sort_values(["_key", "order"], ascending=[False, True], kind="stable").drop(columns="_key")
    frame.insert(len(tasks) + 3, "rank", np.arange(1, len(frame) + 1))
    frame = frame.reset_index(drop=True)
    if pairwise is not None:
        by_name = {name: o for name, o in zip((ORDER_SEPARATOR.join(tasks[k] for k in o) for o in orders), orders)}
        log_pw = np.log([pairwise.accuracies(by_name[name]) for name in frame["order"]])
        for i, t in enumerate(tasks):
            frame[f"pairwise_pred_{t}"] = np.exp(log_pw[:, i])
        frame["pairwise_score"] = log_pw @ alpha
        frame["pairwise_delta_rel"] = np.mean(log_pw - np.log(base), axis=1)
        key = pd.DataFrame({"s": frame["pairwise_score"].round(12), "o": frame["order"]})
        ranked = key.sort_values(["s", "o"], ascending=[False, True], kind="stable").index
        frame.loc[ranked, "pairwise_rank"] = np.arange(1, len(frame) + 1)
        frame["pairwise_rank"] = frame["pairwise_rank"].astype(np.int64)
    return frame


def ranks_by_delta_rel(curricula: pd.DataFrame) -> pd.Series:
    """Rank of each order (1 = best) by predicted Δrel, ties by S then name (Table 4's order)."""
    ranked = curricula.sort_values(["delta_rel", "score", "order"], ascending=[False, False, True], kind="stable")
    return pd.Series(np.arange(1, len(ranked) + 1), index=ranked["order"].to_numpy(), name="rank")


@dataclass(frozen=True)
class RankingComparison:
    spearman: float             # rank correlation of the two rankings (1: identical)
    discordant_pairs: int       # pairs of orders that the two rankings put the other way round
    pairs: int                  # K!(K! − 1)/2
    best_first: str             # the first ranking's best order
    best_first_rank_second: int  # its rank in the second ranking
    best_second: str
    best_second_rank_first: int


def compare_rankings(first: pd.Series, second: pd.Series) -> RankingComparison:
    """How two rankings of the same orders (``order → rank``, 1 = best) agree: Spearman's ρ (1 for a single
    order), the discordant pairs, and where each one's best stands in the other."""
    if set(first.index) != set(second.index):
        raise ValueError("the two rankings rank different orders")
    second = second.reindex(first.index)
    n = len(first)
    a, b = first.to_numpy(), second.to_numpy()
    rho = spearman(a, b) if n > 1 else 1.0
    discordant = int(np.sum(np.triu(np.sign(a[:, None] - a[None, :]) * np.sign(b[:, None] - b[None, :]) < 0, 1)))
    best_first, best_second = str(first.idxmin()), str(second.idxmin())
    return RankingComparison(rho, discordant, n * (n - 1) // 2, best_first, int(second[best_first]),
                             best_second, int(first[best_second]))

"""Every curriculum of K tasks with its Algorithm-1 predictions (Table 4), and two rankings compared.

The paper ranks all K! orders twice (Table 4): by the validation BWT and by the test BWT. :func:`all_curricula`
gives one ranking (any BWT matrix), :func:`compare_rankings` puts two side by side and says where they disagree.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .pairwise import PairwisePredictor
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
    """Rank of each order (1 = best) by predicted Δrel, in Table 4's row order (Δrel, then S, then name). Orders
    whose Δrel tie share the best rank of their group (1, 1, 3, …): a tie is never broken into a ranking."""
    key = curricula["delta_rel"].astype(float).round(12)
    ranked = curricula.assign(_key=key).sort_values(["_key", "score", "order"], ascending=[False, False, True],
                                                    kind="stable")
    ranks = ranked["_key"].rank(ascending=False, method="min").astype(np.int64)
    return pd.Series(ranks.to_numpy(), index=ranked["order"].to_numpy(), name="rank")


@dataclass(frozen=True)
class RankingComparison:
    spearman: float | None      # rank correlation of the two rankings (1: identical); None when undefined
    spearman_undefined: str     # why it is undefined ("" when it is not)
    discordant_pairs: int       # pairs of orders that the two rankings put strictly the other way round
    tied_pairs: int             # pairs tied in either ranking (neither concordant nor discordant)
    pairs: int                  # K!(K! − 1)/2
    best_first: str             # the first ranking's best order (the first by name when several tie)
    best_first_ties: int        # how many orders share the first ranking's rank 1
    best_first_rank_second: int  # its rank in the second ranking
    best_second: str
    best_second_ties: int
    best_second_rank_first: int


def compare_rankings(first: pd.Series, second: pd.Series) -> RankingComparison:
    """How two rankings of the same orders (``order → rank``, 1 = best, ties share a rank) agree: Spearman's ρ
    (undefined when either ranking is constant; 1 for a single order), the discordant and the tied pairs, and
    where each one's best stands in the other (with how many orders tie for it)."""
    from .signal import rank_correlation

    if set(first.index) != set(second.index):
        raise ValueError("the two rankings rank different orders")
    second = second.reindex(first.index)
    n = len(first)
    a, b = first.to_numpy(), second.to_numpy()
    rho, undefined = rank_correlation(a, b) if n > 1 else (1.0, "")
    sign = np.sign(a[:, None] - a[None, :]) * np.sign(b[:, None] - b[None, :])
    discordant = int(np.sum(np.triu(sign < 0, 1)))
    tied = int(np.sum(np.triu(sign == 0, 1)))
    best_first = str(sorted(first.index[a == a.min()])[0])
    best_second = str(sorted(second.index[b == b.min()])[0])
    return RankingComparison(rho, undefined, discordant, tied, n * (n - 1) // 2, best_first, int(np.sum(a == a.min())),
                             int(second[best_first]), best_second, int(np.sum(b == b.min())),
                             int(first[best_second]))

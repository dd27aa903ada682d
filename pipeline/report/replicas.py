"""Averaging the replicas of a multi-seed run (params ``seeds``, docs/seeds.md).

Every training stage runs once per seed; the report computes each table per replica, then shows the mean of each
cell and, with more than one replica, its across-seed standard deviation (sample SD, ddof 1: the run-to-run spread
the paper's Table 3 reports). Standard errors over prompts combine as those of a mean of independent estimates;
paired per-prompt results pool across replicas (the same prompts, once per replica).
"""

from __future__ import annotations

from typing import Any, Hashable, Mapping, Sequence

import numpy as np
import pandas as pd

from ..analysis.signal import best_agrees


def mean_and_sd(frames: Sequence[pd.DataFrame]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Cell by cell over the replicas' tables (aligned on the first one's rows and columns): the mean and the
    across-seed sample standard deviation (NaN with one replica, or where a replica lacks the cell)."""
    if not frames:
        raise ValueError("no replica tables")
    first = frames[0]
    stack = np.stack([f.reindex(index=first.index, columns=first.columns).to_numpy(dtype=float) for f in frames])
    mean = stack.mean(axis=0)
    sd = stack.std(axis=0, ddof=1) if len(frames) > 1 else np.full_like(mean, np.nan)
    return (pd.DataFrame(mean, index=first.index, columns=first.columns),
            pd.DataFrame(sd, index=first.index, columns=first.columns))


def mean_of_errors(ses: Sequence[float] | np.ndarray) -> float:
    """Standard error of the mean of ``n`` independent estimates with standard errors ``ses``:
    ``sqrt(Σ se²) / n``."""
    ses = np.asarray(ses, dtype=float)
    return float(np.sqrt(np.sum(ses ** 2)) / len(ses))


def pooled(per_replica: Sequence[Mapping[Hashable, np.ndarray]]) -> dict[Hashable, np.ndarray]:
    """Per-prompt results pooled over replicas: for each key every replica has, their arrays concatenated in
    replica order (so two models' pooled arrays stay paired prompt by prompt)."""
    keys = set(per_replica[0]).intersection(*map(set, per_replica[1:])) if per_replica else set()
    return {key: np.concatenate([np.asarray(r[key], dtype=float) for r in per_replica]) for key in keys}


def sd(values: Sequence[float]) -> float:
    """Across-seed sample standard deviation (NaN for fewer than two values)."""
    return float(np.std(values, ddof=1)) if len(values) > 1 else float("nan")


def mean_tree(trees: Sequence[Any], where: str = "") -> Any:
    """The replicas' JSON values as one: numbers averaged (lists of numbers element by element, dicts key by key),
    anything else (names, paths, flags, None) taken from the first replica. Raises ValueError naming the key where
    the replicas' structures differ."""
    first = trees[0]
    if isinstance(first, dict):
        if any(not isinstance(t, dict) or set(t) != set(first) for t in trees):
            raise ValueError(f"the replicas differ at {where or 'the top'}")
        return {key: mean_tree([t[key] for t in trees], f"{where}.{key}".lstrip(".")) for key in first}
    numbers = (int, float)
    if isinstance(first, numbers) and not isinstance(first, bool):
        return float(np.mean([float(t) for t in trees]))
    if isinstance(first, list) and first and all(isinstance(v, numbers) and not isinstance(v, bool) for v in first):
        if any(not isinstance(t, list) or len(t) != len(first) for t in trees):
            raise ValueError(f"the replicas differ at {where}")
        return np.mean(np.asarray(trees, dtype=float), axis=0).tolist()
    return first


def mean_validation(validations: Sequence[dict]) -> dict:
    """``validation.json`` of every replica as one: every order's predicted and measured Δrel and S, each
    predictor's and each split's, averaged (with ``actual_sd``: the across-seed SD of the measured Δrel), each
    predictor's errors averaged (each replica's over its own measured orders), and whether the best predicted order
    is the best measured one on the means (undetermined, with ``best_undetermined``, on ties or when the measured best
leads by no more than its across-seed standard error). Every replica must have validated the same orders."""
    first = validations[0]
    labels = list(first["orders"])
    for v in validations[1:]:
        if list(v["orders"]) != labels or any(v["orders"][k]["order"] != first["orders"][k]["order"] for k in labels):
            raise ValueError("the replicas validated different orders")
    orders = {}
    for label in labels:
        runs = [v["orders"][label] for v in validations]
        orders[label] = {**mean_tree(runs, f"orders.{label}"),
                         "actual_sd": sd([r["actual"]["delta_rel"] for r in runs])}
    scores = {k: [v["orders"][k]["actual"]["score"] for v in validations] for k in labels}
    se = [sd(scores[k]) / np.sqrt(len(validations)) if len(validations) > 1 else float("nan") for k in labels]
    agree = best_agrees([orders[k]["predicted"]["score"] for k in labels],
                        [orders[k]["actual"]["score"] for k in labels], se)
    merged = {"split": first["split"], "orders": orders, "best_predicted_is_best_actual": agree.value,
              **({"best_undetermined": agree.reason} if agree.value is None else {}),
              "replicas": len(validations)}
    if first.get("errors"):
        merged["errors"] = mean_tree([v.get("errors") for v in validations], "errors")
    return merged

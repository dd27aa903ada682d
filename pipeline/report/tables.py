"""The paper's tables as DataFrames, and markdown rendering (no extra dependency).

- Table 1: accuracy per task (test) of Base, ST×K (each task's own single-task model), SFT, MM,
  JT and CL, with the average and Δrel (Eq. 14) against Base;
- Table 3: predicted (Algorithm 1) against measured accuracies of the validated curricula;
- Table 4: every order ranked by predicted Δrel (K ≤ 8), one block per BWT (val and test) side by side;
- Table 1 on the benchmarks: one row per benchmark, grouped by domain with each domain's average,
  then the overall average.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd

from ..analysis.scores import delta_rel

MODELS: dict[str, str] = {"Base": "base", "ST×K": "<task>", "SFT": "sft", "MM": "merged", "JT": "joint",
                          "CL": "curriculum"}
"""Table 1's columns → ``trained_on`` in the accuracy tables (``<task>``: the row's own single-task model)."""


def _lookup(frame: pd.DataFrame, trained_on: str, task: str, split: str, column: str) -> float:
    hit = frame[(frame.trained_on == trained_on) & (frame.evaluated_on == task) & (frame.split == split)]
    return float(hit[column].iloc[0]) if len(hit) else float("nan")


def table1(final: pd.DataFrame, transfer: pd.DataFrame, tasks: Sequence[str], split: str = "test",
           column: str = "accuracy", floor: float = 1e-3) -> pd.DataFrame:
    """Rows: tasks, then ``Average`` and ``Δrel`` (Eq. 14 against Base, accuracies floored at ``floor``);
    columns: the models of :data:`MODELS` that have results. ST×K comes from the transfer table."""
    both = pd.concat([transfer, final], ignore_index=True).drop_duplicates(["trained_on", "evaluated_on", "split"])
    columns = {}
    for label, name in MODELS.items():
        values = [_lookup(both, task if name == "<task>" else name, task, split, column) for task in tasks]
        if not all(np.isnan(values)):
            columns[label] = values
    table = pd.DataFrame(columns, index=pd.Index(list(tasks), name="task"))
    base = np.maximum(table["Base"].to_numpy(), floor)
    extra = {"Average": table.mean(axis=0),
             "Δrel": pd.Series({c: delta_rel(np.maximum(table[c].to_numpy(), floor), base) for c in table.columns})}
    return pd.concat([table, pd.DataFrame(extra).T])


DOMAINS = ("math", "coding", "qa", "writing")


def benchmark_table1(results: pd.DataFrame) -> pd.DataFrame:
    """Table 1 on the benchmarks (``benchmark`` results, category ``all``): rows ``(domain, benchmark)``, then
    ``(domain, Average)`` per domain and ``(All, Average)``; columns: the models of :data:`MODELS` that have
    results (ST×K: the model named after the benchmark's domain)."""
    overall = results[results.category == "all"]
    order = {d: i for i, d in enumerate(DOMAINS)}
    keys = sorted({(r.domain, r.benchmark) for r in overall.itertuples()}, key=lambda k: (order.get(k[0], 99), k))
    columns = {}
    for label, name in MODELS.items():
        values = []
        for domain, bench in keys:
            who = domain if name == "<task>" else name
            hit = overall[(overall.model == who) & (overall.benchmark == bench)]
            values.append(float(hit.score.iloc[0]) if len(hit) else float("nan"))
        if not all(np.isnan(values)):
            columns[label] = values
    table = pd.DataFrame(columns, index=pd.MultiIndex.from_tuples(keys, names=["domain", "benchmark"]))
    parts = []
    for domain in dict.fromkeys(d for d, _ in keys):
        block = table.xs(domain, level="domain", drop_level=False)
        parts += [block, pd.DataFrame([block.mean(axis=0)], index=pd.MultiIndex.from_tuples([(domain, "Average")]))]
    parts.append(pd.DataFrame([table.mean(axis=0)], index=pd.MultiIndex.from_tuples([("All", "Average")])))
    out = pd.concat(parts)
    out.index.names = ["domain", "benchmark"]
    return out


def table3(predictions: pd.DataFrame, validation: dict) -> pd.DataFrame:
    """One row per validated order: predicted / actual accuracy per task, then Δrel predicted / actual."""
    rows = []
    for label, summary in validation["orders"].items():
        sub = predictions[predictions.label == label]
        row: dict[str, object] = {"curriculum": f"{' → '.join(summary['order'])} ({label})"}
        for _, r in sub.iterrows():
            row[f"{r.task} pred"] = r.predicted
            row[f"{r.task} actual"] = r.actual
        row["Δrel pred"] = summary["predicted"]["delta_rel"]
        row["Δrel actual"] = summary["actual"]["delta_rel"]
        rows.append(row)
    return pd.DataFrame(rows).set_index("curriculum")


def table4(blocks: dict[str, pd.DataFrame], validation: dict | None = None) -> pd.DataFrame:
    """Table 4's blocks side by side: for each split's curricula (:func:`all_curricula` on that split's BWT),
    every order ranked by predicted Δrel (ties: S, then name), its rank in the other blocks, and the measured
    Δrel where the order was trained (validation). One row per rank."""
    from ..analysis.curricula import ranks_by_delta_rel

    measured = {">".join(s["order"]): s["actual"]["delta_rel"] for s in (validation or {}).get("orders", {}).values()}
    ranks = {split: ranks_by_delta_rel(frame) for split, frame in blocks.items()}
    columns: dict[str, list] = {}
    for split, frame in blocks.items():
        ranked = frame.set_index("order").loc[ranks[split].index]
        columns[f"{split}: order"] = [o.replace(">", " → ") for o in ranked.index]
        columns[f"{split}: Δrel pred"] = ranked["delta_rel"].astype(float).tolist()
        for other in blocks:
            if other != split:
                columns[f"{split}: rank on {other}"] = [int(ranks[other][o]) for o in ranked.index]
        columns[f"{split}: Δrel actual"] = [measured.get(o, float("nan")) for o in ranked.index]
    out = pd.DataFrame(columns)
    out.index = pd.Index(np.arange(1, len(out) + 1), name="rank")
    return out


def markdown(frame: pd.DataFrame, fmt: str = "{:.3f}", index: bool = True) -> str:
    """A GitHub markdown table; floats through ``fmt``, NaN as an en dash."""
    def cell(value: object) -> str:
        if isinstance(value, (float, np.floating)):
            return "–" if np.isnan(value) else fmt.format(value)
        return str(value)

    header = ([frame.index.name or ""] if index else []) + [str(c) for c in frame.columns]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    for key, row in frame.iterrows():
        cells = ([str(key)] if index else []) + [cell(v) for v in row.tolist()]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)

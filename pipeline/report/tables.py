"""The paper's tables as DataFrames, and markdown rendering (no extra dependency).

- Table 1: accuracy per task (test) of Base, ST×K (each task's own single-task model), SFT, MM,
  JT and CL, with the average and Δrel (Eq. 14) against Base;
- Table 2: single-task models trained at other rollout temperatures beside the temperature-1.0 ones (Sec. 5.3);
- Table 3: predicted (Algorithm 1) against measured accuracies of the validated curricula;
- Table 4: every order ranked by predicted Δrel (K ≤ 8), one block per BWT (val and test) side by side;
- Table 1 on the benchmarks: one row per benchmark, grouped by domain with each domain's average,
  then the overall average.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

import numpy as np
import pandas as pd

from ..analysis.scores import delta_rel
from ..analysis.tables import ORDER_SEPARATOR

if TYPE_CHECKING:
    from ..analysis.curricula import RankingComparison

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


def table2(transfer: pd.DataFrame, transfer_entropy: pd.DataFrame, ablation: pd.DataFrame,
           ablation_entropy: pd.DataFrame, runs: dict[str, float], tasks: Sequence[str]) -> pd.DataFrame:
    """Table 2's layout: for each ablation run (``task: T``), two columns, the task's temperature-1.0 single-task
    model (``train_single``, from the transfer tables) and the one trained at T; rows: greedy test accuracy on every
    task, then the model's mean test entropy over the tasks (Eq. 11)."""
    columns: dict[str, list[float]] = {}
    for task, temperature in runs.items():
        name = f"{task}@{temperature:g}"
        for label, frame, entropy, who in ((f"{task} T=1", transfer, transfer_entropy, task),
                                           (f"{task} T={temperature:g}", ablation, ablation_entropy, name)):
            values = [_lookup(frame, who, t, "test", "accuracy_greedy") for t in tasks]
            columns[label] = [*values, float(np.mean([_lookup(entropy, who, t, "test", "entropy") for t in tasks]))]
    return pd.DataFrame(columns, index=pd.Index([*tasks, "entropy (Eq. 11)"], name="evaluated on"))


def temperature_verdicts(runs: dict[str, float], before: dict[str, np.ndarray],
                         after: dict[str, np.ndarray]) -> dict[str, dict[str, object]]:
    """Section 5.3's predictions, per ablation run ``task: T``: trained hotter than 1, the task's own accuracy
    falls; trained colder, it gains. ``before[task]`` / ``after[task]``: greedy per-prompt results on the task's
    test split of the temperature-1.0 model and of the T model (the same prompts): the paired difference, its
    standard error, and ``holds``: True or False only when the difference exceeds its SE
    (:func:`~pipeline.analysis.signal.sign_verdict`), None with ``reason`` otherwise (``beyond_noise``: it holds by
    at least 2 SE)."""
    from ..analysis.signal import sign_verdict

    out: dict[str, dict[str, object]] = {}
    for task, temperature in runs.items():
        if temperature == 1.0 or task not in before or task not in after:
            continue
        diff = np.asarray(after[task], float) - np.asarray(before[task], float)
        diff = diff[~np.isnan(diff)]
        mean = float(diff.mean())
        se = float(diff.std(ddof=1) / np.sqrt(len(diff))) if len(diff) > 1 else float("nan")
        predicted = "falls" if temperature > 1.0 else "gains"
        verdict = sign_verdict(mean, se, -1 if temperature > 1.0 else 1)
        out[f"{task}@{temperature:g}"] = {"task": task, "temperature": temperature, "predicted": predicted,
                                          "difference": mean, "se": se, "holds": verdict.value,
                                          "reason": verdict.reason,
                                          "beyond_noise": bool(verdict.value and abs(mean) >= 2 * se)}
    return out


FORMAT_LABELS = {"full_text": "full text", "letter": "letter"}


def figure3(accuracies: pd.DataFrame) -> pd.DataFrame:
    """Figure 3's numbers (Appendix A.2.1) from ``ablate_format``'s ``accuracies.csv``: one row per data and
    evaluated format (``<data>, <format> prompts``), for each trained format its accuracy and standard error."""
    rows: dict[str, dict[str, float]] = {}
    for r in accuracies.itertuples(index=False):
        row = rows.setdefault(f"{r.data}, {FORMAT_LABELS[r.evaluated_format]} prompts", {})
        trained = FORMAT_LABELS[r.trained_format]
        row[f"trained on {trained}"] = float(r.accuracy)
        row[f"SE ({trained})"] = float(r.accuracy_se)
    columns = [c for f in FORMAT_LABELS.values() for c in (f"trained on {f}", f"SE ({f})")]
    return pd.DataFrame.from_dict(rows, orient="index").reindex(columns=columns).rename_axis("evaluated on")


def table3(predictions: pd.DataFrame, validation: dict) -> pd.DataFrame:
    """One row per validated order on ``validation['split']``: predicted (Algorithm 1; and the pairwise
    predictor's, with params' scales, when it ran) / actual accuracy per task, then Δrel likewise."""
    rows = []
    pairwise = "predicted_pairwise" in predictions.columns
    on_split = predictions[predictions.split == validation["split"]] if "split" in predictions.columns \
        else predictions
    for label, summary in validation["orders"].items():
        sub = on_split[on_split.label == label]
        name = " → ".join(summary["order"])
        row: dict[str, object] = {"curriculum": name if label == ORDER_SEPARATOR.join(summary["order"])
                                  else f"{name} ({label})"}
        for _, r in sub.iterrows():
            row[f"{r.task} pred"] = r.predicted
            if pairwise:
                row[f"{r.task} pairwise"] = r.predicted_pairwise
            row[f"{r.task} actual"] = r.actual
        row["Δrel pred"] = summary["predicted"]["delta_rel"]
        if pairwise:
            row["Δrel pairwise"] = summary["predictors"]["pairwise"]["delta_rel"]
        row["Δrel actual"] = summary["actual"]["delta_rel"]
        rows.append(row)
    return pd.DataFrame(rows).set_index("curriculum")


def predictor_errors(validation: dict) -> pd.DataFrame | None:
    """The predictors' errors over the trained orders (``validation.json``'s ``errors``), one row per predictor,
    per split its per-task MAE, Δrel MAE and Spearman ρ; None when validation.json has none."""
    errors = validation.get("errors")
    if not errors:
        return None
    names = [n for n in next(iter(errors.values())) if n != "fitted_scales"]
    columns = {f"{split}: {label}": [errors[split][n][key] for n in names] for split in errors
               for key, label in (("task_mae", "task MAE"), ("delta_rel_mae", "Δrel MAE"), ("spearman", "Spearman"))}
    return pd.DataFrame(columns, index=pd.Index(names, name="predictor"))


def table4(blocks: dict[str, pd.DataFrame], validation: dict | None = None) -> pd.DataFrame:
    """Table 4's blocks side by side: for each split's curricula (:func:`all_curricula` on that split's BWT),
    every order ranked by predicted Δrel (rows: then by S, then name; orders whose Δrel tie share a rank), its rank
    in the other blocks, and the measured Δrel where the order was trained (validation). One row per position."""
    from ..analysis.curricula import ranks_by_delta_rel

    measured = {">".join(s["order"]): s["actual"]["delta_rel"] for s in (validation or {}).get("orders", {}).values()}
    ranks = {split: ranks_by_delta_rel(frame) for split, frame in blocks.items()}
    columns: dict[str, list] = {}
    for split, frame in blocks.items():
        ranked = frame.set_index("order").loc[ranks[split].index]
        columns[f"{split}: rank"] = [int(r) for r in ranks[split]]
        columns[f"{split}: order"] = [o.replace(">", " → ") for o in ranked.index]
        columns[f"{split}: Δrel pred"] = ranked["delta_rel"].astype(float).tolist()
        for other in blocks:
            if other != split:
                columns[f"{split}: rank on {other}"] = [int(ranks[other][o]) for o in ranked.index]
        if "pairwise_delta_rel" in ranked.columns:
            pw = ranked["pairwise_delta_rel"].astype(float)
            columns[f"{split}: Δrel pairwise"] = pw.tolist()
            columns[f"{split}: pairwise rank"] = [int(r) for r in pw.round(12).rank(ascending=False, method="min")]
        columns[f"{split}: Δrel actual"] = [measured.get(o, float("nan")) for o in ranked.index]
    out = pd.DataFrame(columns)
    out.index = pd.Index(np.arange(1, len(out) + 1), name="row")
    return out


def ranking_agreement_text(c: RankingComparison) -> str:
    """Table 4's sentence on how the val and the test rankings agree (ties and undefined statistics said so)."""
    rho = f"Spearman ρ = {c.spearman:.3f}" if c.spearman is not None \
        else f"Spearman ρ undefined ({c.spearman_undefined})"
    ties = f" ({c.tied_pairs} tied in one of them)" if c.tied_pairs else ""

    def best(name: str, order: str, count: int, rank: int, other: str) -> str:
        if count > 1:
            return f"{count} orders tie for {name}'s best"
        return f"{name}'s best ({order.replace('>', ' → ')}) is rank {rank} on {other}"

    return (f"{rho}; {c.discordant_pairs} of {c.pairs} pairs of orders ranked the other way round{ties}; "
            f"{best('val', c.best_first, c.best_first_ties, c.best_first_rank_second, 'test')}, "
            f"{best('test', c.best_second, c.best_second_ties, c.best_second_rank_first, 'val')}.")


def comparison_metrics(details: dict) -> dict:
    """What DVC tracks as the run's metrics (``metrics.json``: ``dvc metrics show``, ``dvc exp show``): what a
    comparison of experiments needs, a dozen columns. Table 1's average per model, the headline gains with their
    paired SE, the chosen curriculum (one string) and whether the run carried any signal. Everything else the
    report computed is in ``details.json``, an output."""
    return {"no_signal": details.get("no_signal"),
            "curriculum": ORDER_SEPARATOR.join(details["curriculum"]),
            "average": details["average"],
            "headline": {label: {"gain": h["gain"], "se": h["se"]} for label, h in details.get("headline", {}).items()}}


def format_number(fmt: str, value: float) -> str:
    """``fmt.format(value)``, except that a value that rounds to zero is never printed with a minus sign
    ("-0.0%" reads as a loss): it is printed as 0 is."""
    text = fmt.format(value)
    digits = "".join(ch for ch in text if ch.isdigit())
    return fmt.format(0.0) if text.lstrip().startswith("-") and digits and not digits.strip("0") else text


def markdown(frame: pd.DataFrame, fmt: str = "{:.3f}", index: bool = True, sd: pd.DataFrame | None = None) -> str:
    """A GitHub markdown table; floats through ``fmt``, NaN as an en dash; with ``sd`` (same shape: the across-seed
    standard deviations), a cell whose SD is a number reads ``mean ± SD``."""
    def cell(value: object, spread: object = None) -> str:
        if isinstance(value, (float, np.floating)):
            if np.isnan(value):
                return "–"
            if isinstance(spread, (float, np.floating)) and not np.isnan(spread):
                return f"{format_number(fmt, value)} ± {format_number(fmt, spread).lstrip('+')}"
            return format_number(fmt, value)
        return str(value)

    header = ([frame.index.name or ""] if index else []) + [str(c) for c in frame.columns]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    for position, (key, row) in enumerate(frame.iterrows()):
        spreads = sd.iloc[position].tolist() if sd is not None else [None] * len(row)
        cells = ([str(key)] if index else []) + [cell(v, e) for v, e in zip(row.tolist(), spreads)]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)

"""Transfer measured on the benchmarks: the paper's "test" accuracies are domain averages over its benchmarks.

Table 3's "Test" columns and the test BWT of Table 4 average, for each domain (math, coding, QA, writing), the
scores of its benchmarks (Table 1's rows). :func:`domain_averages` turns per-benchmark scores of θ0 and of every
single-task model into the accuracy table ``order`` reads (``trained_on,evaluated_on,split,accuracy``), with
``split = benchmarks``: ``order.split: benchmarks`` then drives the curriculum from the benchmarks' BWT (Eq. 6).
"""

from __future__ import annotations

from typing import Mapping, Sequence

SPLIT = "benchmarks"


def domain_averages(scores: Mapping[tuple[str, str], float], domains: Mapping[str, str], models: Sequence[str],
                    tasks: Sequence[str], value: str = "accuracy") -> list[dict[str, object]]:
    """One row per model of ``models`` (``base``, then the tasks' single-task models) and task of ``tasks`` that
    some benchmark scores: ``value`` = the unweighted mean over the task's benchmarks of
    ``scores[model, benchmark]`` (``domains[benchmark]`` names the task a benchmark belongs to), as the paper
    averages a domain's benchmarks. A task without any benchmark gets no row (``order`` then names it missing)."""
    by_task: dict[str, list[str]] = {t: [] for t in tasks}
    for bench, task in domains.items():
        if task in by_task:
            by_task[task].append(bench)
    rows: list[dict[str, object]] = []
    for model in models:
        for task in tasks:
            benches = sorted(by_task[task])
            if not benches:
                continue
            missing = [b for b in benches if (model, b) not in scores]
            if missing:
                raise ValueError(f"no score of model '{model}' on {', '.join(missing)}")
            mean = sum(scores[model, b] for b in benches) / len(benches)
            rows.append({"trained_on": model, "evaluated_on": task, "split": SPLIT, value: mean})
    return rows

"""Benchmarks of Table 1 as records of the common schema, scored by the reward registry.

One adapter per benchmark turns a row of the benchmark's public schema (a local file or folder,
or its hub id) into a record: the paper's think/answer prompt, the ``reference`` its task's
verifier needs, and ``meta`` with the benchmark's ``category`` (results are reported per
benchmark and per category). ``task`` names its domain (math, coding, qa, writing; ``qa_letter``
for lettered MMLU-Pro) and each benchmark declares the reward kind that scores it
(:func:`~.base.benchmark_rewards`), whatever the run's tasks are called.

Each adapter also says how to write its own reference as a response (:attr:`Benchmark.gold`):
the gold checks feed those through the scorer, which must accept them (tests/eval/).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ...data.pinned import fetch_pinned
from ...data.sources import BadRow, load_rows
from ...errors import UserError
from . import code, math_sets, mmlu_pro, mt_bench  # noqa: E402,F401  (register the adapters)
from .base import BENCHMARKS, Benchmark, benchmark_rewards, record, register, resolve_source

__all__ = ["BENCHMARKS", "Benchmark", "all_benchmarks", "benchmark_rewards", "load_benchmark", "record", "register",
           "resolve_source"]


def load_benchmark(name: str, source: str | None = None, max_items: int | None = None,
                   download_dir: str | None = None) -> list[dict[str, Any]]:
    """The records of benchmark ``name`` from ``source`` (folder, file or hub id; default its hub id, or its
    pinned files fetched into ``download_dir``/name). A malformed row is a one-line error naming the source and
    the row."""
    if name not in BENCHMARKS:
        raise UserError(f"unknown benchmark '{name}' (known: {', '.join(sorted(BENCHMARKS))})")
    benchmark = BENCHMARKS[name]
    if source is None and benchmark.pinned:
        if download_dir is None:
            raise UserError(f"benchmark '{name}' is fetched from pinned addresses: give benchmarks.download_dir "
                            f"or its local folder (benchmarks.sources.{name})")
        source = str(fetch_pinned(benchmark.pinned, Path(download_dir) / name, name))
    where = resolve_source(benchmark, source)
    if not where:
        raise UserError(f"benchmark '{name}' has no hub copy: give its local folder (benchmarks.sources.{name})")
    records = []
    rows = (benchmark.loader(where) if benchmark.loader
            else load_rows(where, benchmark.hub_split, benchmark.hub_config))
    for line, row in rows:
        if isinstance(row, BadRow):
            raise UserError(f"{where} row {line}: {row.reason}")
        try:
            rec = benchmark.to_record(row, line)
        except (KeyError, TypeError, ValueError, IndexError) as exc:
            raise UserError(f"{where} row {line}: not in {name}'s schema ({type(exc).__name__}: {exc})") from None
        if rec is not None:
            records.append(rec)
        if max_items is not None and len(records) >= max_items:
            break
    if not records:
        raise UserError(f"{where}: no {name} rows")
    return records


def all_benchmarks() -> list[str]:
    return list(BENCHMARKS)

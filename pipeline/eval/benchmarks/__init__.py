"""Benchmarks of Table 1 as records of the common schema, scored by the reward registry.

One adapter per benchmark turns a row of the benchmark's public schema (a local file or folder,
or its hub id) into a record: the paper's think/answer prompt, the ``reference`` its task's
verifier needs, and ``meta`` with the benchmark's ``category`` (results are reported per
benchmark and per category). ``task`` names the domain whose reward scores it (math, coding,
qa, writing); the reward kind comes from ``rewards.tasks``.

Each adapter also says how to write its own reference as a response (:attr:`Benchmark.gold`):
the gold checks feed those through the scorer, which must accept them (tests/eval/).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from ...data.sources import BadRow, load_rows
from ...errors import UserError
from ...registry import Registry


@dataclass(frozen=True)
class Benchmark:
    name: str
    domain: str                                   # math | coding | qa | writing: the task that scores it
    hub_id: str                                   # default source when no local path is given
    hub_split: str
    local_file: str                               # the file inside a local folder (../shared/data layout)
    to_record: Callable[[dict[str, Any], int], dict[str, Any]]  # (row, row number) → record
    gold: Callable[[dict[str, Any]], str]          # record → a response that states its reference answer
    metric: str = "accuracy"                      # what Table 1 calls the score
    loader: Callable[[str], Any] | None = None     # rows of a local source, when not one file of load_rows


BENCHMARKS: Registry[Benchmark] = Registry("benchmark")


def register(benchmark: Benchmark) -> Benchmark:
    return BENCHMARKS.register(benchmark.name)(benchmark)


def record(benchmark: str, task: str, row_id: Any, user: str, reference: str, category: str,
           **meta: Any) -> dict[str, Any]:
    """A benchmark record (split ``test``) with the paper's think/answer prompt."""
    from ...data.prompts import chat

    return {"id": f"{benchmark}/{row_id}", "task": task, "source": benchmark, "split": "test",
            "prompt": chat(user), "reference": reference, "meta": {"benchmark": benchmark, "category": category,
                                                                  **meta}}


def resolve_source(benchmark: Benchmark, source: str | None) -> str:
    """A local folder holding the benchmark's ``local_file`` (the ../shared/data layout), a file, or a hub id."""
    if source is None:
        return benchmark.hub_id
    path = Path(source).expanduser()
    if path.is_dir() and (path / benchmark.local_file).exists():
        return str(path / benchmark.local_file)
    return source


def load_benchmark(name: str, source: str | None = None, max_items: int | None = None) -> list[dict[str, Any]]:
    """The records of benchmark ``name`` from ``source`` (folder, file or hub id; default its hub id).
    A malformed row is a one-line error naming the source and the row."""
    from . import code, math_sets, mmlu_pro, mt_bench  # noqa: F401  (register the adapters)

    if name not in BENCHMARKS:
        raise UserError(f"unknown benchmark '{name}' (known: {', '.join(sorted(BENCHMARKS))})")
    benchmark = BENCHMARKS[name]
    where = resolve_source(benchmark, source)
    if not where:
        raise UserError(f"benchmark '{name}' has no hub copy: give its local folder (benchmarks.sources.{name})")
    records = []
    rows = benchmark.loader(where) if benchmark.loader else load_rows(where, hub_split=benchmark.hub_split)
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
    from . import code, math_sets, mmlu_pro, mt_bench  # noqa: F401

    return list(BENCHMARKS)

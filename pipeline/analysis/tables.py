"""Reading and validating the accuracy and entropy tables.

Accuracy files are the interface between evaluation and analysis
(``trained_on,evaluated_on,accuracy``; ``trained_on`` is ``base`` for θ0). An
optional ``split`` column lets one file hold several splits; then ``split``
must be chosen. Entropy files have the same shape with an ``entropy`` column.

Every problem is reported as a :class:`~pipeline.errors.UserError` naming the
file and line (line 1 is the header).
"""

from __future__ import annotations

import csv
import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import UserError
from .bwt import FloatArray

BASE = "base"
ORDER_SEPARATOR = ">"


@dataclass(frozen=True)
class TransferTable:
    """A complete base + single-task table for one split.

    ``base[i]`` is the value of θ0 on ``tasks[i]``; ``single[i, j]`` the value on
    ``tasks[i]`` of the model trained on ``tasks[j]``; ``lines`` maps
    ``(trained_on, evaluated_on)`` to the source line, for error messages.
    """

    tasks: tuple[str, ...]
    base: FloatArray
    single: FloatArray
    lines: dict[tuple[str, str], int]


def read_transfer_table(path: str | Path, value_column: str, split: str | None = None,
                        bounds: tuple[float, float] | None = (0.0, 1.0)) -> TransferTable:
    """Parse and validate a ``trained_on,evaluated_on,<value_column>[,split]`` CSV.

    Tasks are taken in order of first appearance in ``evaluated_on``. Every
    ``(trained_on, evaluated_on)`` pair over ``{base} ∪ tasks × tasks`` must appear
    exactly once; values must be finite and within ``bounds`` when given.
    """
    p = Path(path)
    name = str(p)
    try:
        with p.open(newline="", encoding="utf-8") as fh:
            rows = list(csv.reader(fh))
    except FileNotFoundError:
        raise UserError(f"{name}: file not found") from None
    except UnicodeDecodeError as exc:
        raise UserError(f"{name}: not valid UTF-8 ({exc.reason} at byte {exc.start})") from None
    except csv.Error as exc:
        raise UserError(f"{name}: malformed CSV ({exc})") from None
    if not rows:
        raise UserError(f"{name}: empty file, expected a header trained_on,evaluated_on,{value_column}")
    header = [h.strip() for h in rows[0]]
    required = ["trained_on", "evaluated_on", value_column]
    for column in required:
        if column not in header:
            raise UserError(f"{name}: missing column '{column}' (header is {','.join(header)})")
    col = {h: header.index(h) for h in header}
    has_split = "split" in col
    if has_split and split is None:
        splits = sorted({r[col["split"]].strip() for r in rows[1:] if len(r) == len(header)})
        if len(splits) > 1:
            raise UserError(f"{name}: holds splits {splits}; choose one with --split")

    records: dict[tuple[str, str], tuple[float, int]] = {}
    seen_splits: set[str] = set()
    evaluated: list[str] = []
    trained: list[tuple[str, int]] = []
    for lineno, row in enumerate(rows[1:], start=2):
        if not row or all(not c.strip() for c in row):
            continue
        if len(row) != len(header):
            raise UserError(f"{name} line {lineno}: expected {len(header)} fields, got {len(row)}")
        if has_split:
            row_split = row[col["split"]].strip()
            seen_splits.add(row_split)
            if split is not None and row_split != split:
                continue
        t_on, e_on, raw = (row[col[c]].strip() for c in required)
        for label, task in (("trained_on", t_on), ("evaluated_on", e_on)):
            if not task:
                raise UserError(f"{name} line {lineno}: empty {label}")
            if ORDER_SEPARATOR in task:
                raise UserError(f"{name} line {lineno}: task name '{task}' may not contain '{ORDER_SEPARATOR}'")
        if e_on == BASE:
            raise UserError(f"{name} line {lineno}: '{BASE}' is reserved for θ0 and cannot be an evaluated_on task")
        try:
            value = float(raw)
        except ValueError:
            raise UserError(f"{name} line {lineno}: {value_column} '{raw}' is not a number") from None
        if not math.isfinite(value):
            raise UserError(f"{name} line {lineno}: {value_column} '{raw}' is not finite")
        if bounds is not None and not (bounds[0] <= value <= bounds[1]):
            raise UserError(f"{name} line {lineno}: {value_column} {raw} is outside [{bounds[0]:g}, {bounds[1]:g}]")
        key = (t_on, e_on)
        if key in records:
            raise UserError(f"{name} line {lineno}: duplicate row for trained_on={t_on}, evaluated_on={e_on} "
                            f"(first at line {records[key][1]})")
        records[key] = (value, lineno)
        if e_on not in evaluated:
            evaluated.append(e_on)
        trained.append((t_on, lineno))

    if has_split and split is not None and split not in seen_splits:
        raise UserError(f"{name}: no rows for split '{split}' (found {sorted(seen_splits)})")
    if not records:
        raise UserError(f"{name}: no data rows")
    for t_on, lineno in trained:
        if t_on != BASE and t_on not in evaluated:
            raise UserError(f"{name} line {lineno}: trained_on '{t_on}' is not an evaluated task "
                            f"(tasks: {', '.join(evaluated)})")

    tasks = tuple(evaluated)
    k = len(tasks)
    base = np.empty(k)
    single = np.empty((k, k))
    for i, e_on in enumerate(tasks):
        for t_on in (BASE, *tasks):
            if (t_on, e_on) not in records:
                raise UserError(f"{name}: missing row trained_on={t_on}, evaluated_on={e_on}")
        base[i] = records[(BASE, e_on)][0]
        for j, t_on in enumerate(tasks):
            single[i, j] = records[(t_on, e_on)][0]
    return TransferTable(tasks=tasks, base=base, single=single,
                         lines={key: line for key, (_, line) in records.items()})


def mean_transfer(tables: list[TransferTable], sources: list[str]) -> TransferTable:
    """The replicas' mean table (docs/seeds.md): each cell averaged over ``tables`` (one per training seed, read
    from ``sources``), in the first table's task order; lines (for messages) are the first table's. Tables over
    different tasks are an error naming both files."""
    if not tables:
        raise ValueError("no tables to average")
    first = tables[0]
    for table, source in zip(tables[1:], sources[1:]):
        if set(table.tasks) != set(first.tasks):
            raise UserError(f"{source}: tasks {list(table.tasks)} differ from {sources[0]}'s {list(first.tasks)}")
    perms = [[t.tasks.index(task) for task in first.tasks] for t in tables]
    base = np.mean([t.base[p] for t, p in zip(tables, perms)], axis=0)
    single = np.mean([t.single[np.ix_(p, p)] for t, p in zip(tables, perms)], axis=0)
    return TransferTable(tasks=first.tasks, base=base, single=single, lines=first.lines)


def read_weights(path: str | Path | None, tasks: tuple[str, ...],
                 given: dict[str, float] | None = None) -> np.ndarray:
    """Task weights α of Eq. 10, from a JSON object ``{task: weight}`` and/or a dict.

    Tasks not listed get weight 1. An unknown task, a non-number, a negative or
    non-finite weight, or all-zero weights are errors.
    """
    source = "weights"
    mapping: dict[str, object] = dict(given or {})
    if path is not None:
        source = str(path)
        try:
            loaded = json.loads(Path(path).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise UserError(f"{source}: file not found") from None
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise UserError(f"{source}: not valid JSON ({exc})") from None
        if not isinstance(loaded, dict):
            raise UserError(f"{source}: expected a JSON object mapping task names to weights")
        mapping.update(loaded)
    alpha = np.ones(len(tasks))
    for task, value in mapping.items():
        if task not in tasks:
            raise UserError(f"{source}: unknown task '{task}' (tasks: {', '.join(tasks)})")
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise UserError(f"{source}: weight of '{task}' must be a number, got {value!r}")
        if not math.isfinite(value) or value < 0:
            raise UserError(f"{source}: weight of '{task}' must be finite and >= 0, got {value}")
        alpha[tasks.index(task)] = float(value)
    if not alpha.any():
        raise UserError(f"{source}: all weights are zero")
    return alpha


@dataclass(frozen=True)
class FlooredTransfer:
    """A transfer table in a chosen task order, with the accuracy floor applied, and its BWT matrix (Eq. 6)."""

    tasks: tuple[str, ...]
    base: FloatArray
    single: FloatArray
    bwt: FloatArray
    warnings: tuple[str, ...]  # one line per cell raised to the floor


def floored_transfer(table: TransferTable, floor: float | None, source: str,
                     tasks: tuple[str, ...] | list[str] | None = None) -> FlooredTransfer:
    """``table`` reordered to ``tasks`` (default: its own order), accuracies below ``floor`` raised to it (each
    named in ``warnings``), and the BWT matrix. With ``floor`` None a zero accuracy is an error naming its line,
    since log-accuracy (Eq. 6) is undefined there. The one place `order`, `validate-predictions` and `report`
    turn an accuracy table into BWT."""
    from .bwt import apply_accuracy_floor, bwt_matrix

    order = tuple(tasks) if tasks is not None else table.tasks
    if sorted(order) != sorted(table.tasks):
        raise UserError(f"{source}: tasks {list(table.tasks)} differ from {list(order)}")
    perm = [table.tasks.index(t) for t in order]
    base, single = table.base[perm], table.single[np.ix_(perm, perm)]
    cells = [(BASE, i, None) for i in range(len(order))] + \
            [(order[j], i, j) for i in range(len(order)) for j in range(len(order))]
    if floor is None:
        for t_on, i, j in cells:
            if (base[i] if j is None else single[i, j]) <= 0.0:
                raise UserError(f"{source} line {table.lines[(t_on, order[i])]}: accuracy 0 for trained_on={t_on}, "
                                f"evaluated_on={order[i]} makes log-accuracy undefined; set order.floor (or --floor)")
        return FlooredTransfer(order, base, single, bwt_matrix(base, single), ())
    new_base, raised_base = apply_accuracy_floor(base, floor)
    new_single, raised_single = apply_accuracy_floor(single, floor)
    warnings = []
    for t_on, i, j in cells:
        if raised_base[i] if j is None else raised_single[i, j]:
            value = base[i] if j is None else single[i, j]
            warnings.append(f"{source} line {table.lines[(t_on, order[i])]}: accuracy {value:g} "
                            f"(trained_on={t_on}, evaluated_on={order[i]}) raised to floor {floor:g}")
    return FlooredTransfer(order, new_base, new_single, bwt_matrix(new_base, new_single), tuple(warnings))


def read_pair_table(path: str | Path, tasks: tuple[str, ...] | list[str], split: str) -> FloatArray | None:
    """``train-pairs``' accuracy table of ``split`` as the cube ``P[i, j, t]`` (the pair ``i>j`` evaluated on task
    ``t``, in the order of ``tasks``; the diagonal ``i = j`` is NaN), or None when the table has no rows (pairs
    off). Every ordered pair on every task must appear exactly once, with an accuracy in [0, 1]."""
    import pandas as pd

    name = str(path)
    try:
        frame = pd.read_csv(path, dtype={"trained_on": str, "evaluated_on": str, "split": str})
    except FileNotFoundError:
        raise UserError(f"{name}: file not found (the accuracies.csv of `train-pairs`)") from None
    except (ValueError, pd.errors.ParserError) as exc:
        raise UserError(f"{name}: unreadable CSV ({str(exc).splitlines()[0]})") from None
    for column in ("trained_on", "evaluated_on", "split", "accuracy"):
        if column not in frame.columns:
            raise UserError(f"{name}: missing column '{column}' (header is {','.join(frame.columns)})")
    if frame.empty:
        return None
    index = {t: n for n, t in enumerate(tasks)}
    k = len(tasks)
    cube = np.full((k, k, k), np.nan)
    rows = frame[frame["split"] == split]
    for line, row in zip(rows.index + 2, rows.itertuples(index=False)):
        pair = str(row.trained_on).split(ORDER_SEPARATOR)
        if len(pair) != 2 or pair[0] == pair[1] or not all(t in index for t in pair) or row.evaluated_on not in index:
            raise UserError(f"{name} line {line}: '{row.trained_on}' on '{row.evaluated_on}' is not a pair i>j of "
                            f"two tasks of {list(tasks)} evaluated on one of them")
        value = float(row.accuracy)
        if not (0.0 <= value <= 1.0):
            raise UserError(f"{name} line {line}: accuracy {value} outside [0, 1]")
        cell = (index[pair[0]], index[pair[1]], index[row.evaluated_on])
        if not np.isnan(cube[cell]):
            raise UserError(f"{name} line {line}: '{row.trained_on}' on '{row.evaluated_on}' ({split}) appears twice")
        cube[cell] = value
    missing = [f"{a}>{b} on {t}" for a in tasks for b in tasks for t in tasks
               if a != b and np.isnan(cube[index[a], index[b], index[t]])]
    if missing:
        raise UserError(f"{name}: no {split} accuracy for {', '.join(missing[:3])}"
                        + (f" and {len(missing) - 3} more" if len(missing) > 3 else ""))
    return cube


def mean_pair_tables(paths: list[str], tasks: tuple[str, ...] | list[str], split: str) -> FloatArray | None:
    """The replicas' mean pair cube (:func:`read_pair_table` of each path, averaged cell by cell); None when the
    tables have no rows, an error when some have and others do not."""
    cubes = [read_pair_table(p, tasks, split) for p in paths]
    if all(c is None for c in cubes):
        return None
    if any(c is None for c in cubes):
        empty = [p for p, c in zip(paths, cubes) if c is None]
        raise UserError(f"{', '.join(empty)}: no pair runs while the other replicas have them (rerun train_pairs)")
    return np.mean([c for c in cubes if c is not None], axis=0)

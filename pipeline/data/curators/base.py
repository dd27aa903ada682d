"""Curators of the real sources (Section 4), one module each, registered by source name.

A curator turns raw ``(line, row)`` pairs into records of the shared schema (without a
split; the stage assigns it) and counts every dropped row by reason in ``ctx.stats``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Iterable

import numpy as np

from ...config import TaskDataParams
from ...registry import Registry
from ..sources import BadRow
from ..stats import CurationStats

Record = dict[str, Any]


@dataclass
class Context:
    task: str
    seed: int
    stats: CurationStats
    rng: np.random.Generator


Curator = Callable[[Iterable[tuple[int, Any]], TaskDataParams, Context], list[Record]]
CURATORS: Registry[Curator] = Registry("curator")
register_curator = CURATORS.register


def fields(row: Any, spec: dict[str, type | tuple[type, ...]], ctx: Context) -> dict[str, Any] | None:
    """Check ``row`` has every field of ``spec`` with the right type and non-empty strings.

    Counts ``not_utf8`` / ``bad_json`` rows, ``missing_<f>``, ``wrong_type_<f>`` and
    ``empty_<f>`` and returns ``None`` for them.
    """
    ctx.stats.read += 1
    if isinstance(row, BadRow):
        ctx.stats.drop(row.reason)
        return None
    for name, kind in spec.items():
        if name not in row or row[name] is None:
            ctx.stats.drop(f"missing_{name}")
            return None
        if not isinstance(row[name], kind):
            ctx.stats.drop(f"wrong_type_{name}")
            return None
        if isinstance(row[name], str) and not row[name].strip():
            ctx.stats.drop(f"empty_{name}")
            return None
    return row

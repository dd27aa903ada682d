"""Seeded synthetic generators for the embedded default (all four domains, one schema).

Each generator returns ``(pool, pretrain)``: ``pool`` is split into train/val/test by id
hashing; ``pretrain`` is the held-out warm-start portion (``split="pretrain"``), whose
``meta["completion"]`` is a full think/answer target for SFT. Ids are content hashes,
so a duplicate item is generated once, and pretrain items identical to a pool item are
removed (no leakage into val/test). Difficulty is a parameter.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from ...config import TaskDataParams
from ...registry import Registry

Record = dict[str, Any]
Generator = Callable[[TaskDataParams, str, np.random.Generator], tuple[list[Record], list[Record]]]
GENERATORS: Registry[Generator] = Registry("generator")
register_generator = GENERATORS.register


def unique_items(make: Callable[[], Record], count: int, rng: np.random.Generator, exclude: set[str],
                 distinct: bool = True, max_tries_factor: int = 20) -> list[Record]:
    """Call ``make()`` until ``count`` records are collected whose ids are not in ``exclude``.

    With ``distinct`` the records are also pairwise distinct (the pool); without it
    repeats are allowed (the warm-start portion, where repetition is just more SFT
    epochs). Stops early when the item space is exhausted (after
    ``max_tries_factor · count`` draws), so a pool can come out smaller than asked.
    """
    seen = set(exclude)
    out: list[Record] = []
    tries = 0
    while len(out) < count and tries < max_tries_factor * max(count, 1):
        tries += 1
        record = make()
        if record["id"] in seen:
            continue
        if distinct:
            seen.add(record["id"])
        out.append(record)
    return out


def generate_pool_and_pretrain(make: Callable[[str], Record], cfg: TaskDataParams,
                               rng: np.random.Generator) -> tuple[list[Record], list[Record]]:
    """Pool first, then pretrain items whose content differs from every pool item."""
    pool = unique_items(lambda: make("pool"), cfg.n or 0, rng, exclude=set())
    pretrain = unique_items(lambda: make("pretrain"), cfg.pretrain_n, rng, exclude={r["id"] for r in pool},
                            distinct=False)
    for r in pretrain:
        r["split"] = "pretrain"
    return pool, pretrain

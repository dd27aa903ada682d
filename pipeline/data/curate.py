"""The ``curate@{task}`` stage: source → records → subsample → splits → files + stats.

Outputs in ``out_dir``: ``train.parquet``, ``val.parquet``, ``test.parquet`` and
``pretrain.parquet`` (the warm-start portion; empty for real sources) in the record schema, and
``stats.json`` (a DVC metric). All are written together, atomically, and only after
the drop thresholds passed.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

from ..config import Params
from ..errors import UserError
from ..io import staged_outputs, write_json_atomic
from .curators import CURATORS, Context
from .schema import SPLITS, record_problem, write_split
from .sources import load_rows
from .splits import split_of
from .stats import CurationStats
from .synthetic import GENERATORS

Record = dict[str, Any]


def task_rng(seed: int, task: str) -> np.random.Generator:
    """A generator seeded by the global seed and the task name (stable across task lists)."""
    return np.random.default_rng([seed, int(hashlib.sha256(task.encode()).hexdigest()[:8], 16)])


def curation_key(params: Params, task: str) -> str:
    """A digest of every setting ``curate@task`` reads (its stage's params): ``stats.json`` records it, so a
    reader can tell whether the curated folder on disk was made with these parameters or another profile's."""
    read = {"seed": params.seed, "val_fraction": params.data.val_fraction,
            "test_fraction": params.data.test_fraction, "task": params.data.tasks[task].model_dump(mode="json"),
            "models.base": params.models.base}
    return hashlib.sha256(json.dumps(read, sort_keys=True).encode()).hexdigest()[:16]


def curated_with(params: Params, task: str, curated: str | Path) -> bool:
    """Whether ``curated/<task>`` holds splits curated with these parameters (its ``stats.json`` key), not
    another profile's (the smoke profile's 60 prompts read as the paper's, say)."""
    folder = Path(curated) / task
    try:
        stats = json.loads((folder / "stats.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return (isinstance(stats, dict) and stats.get("params_key") == curation_key(params, task)
            and all((folder / f"{s}.parquet").exists() for s in ("train", "val", "test")))


def curate_task(params: Params, task: str) -> tuple[dict[str, list[Record]], CurationStats]:
    """Build every split of ``task`` in memory; raise :class:`UserError` on bad input."""
    cfg = params.data.tasks[task]
    rng = task_rng(params.seed, task)
    stats = CurationStats(task=task, source=cfg.source)
    stats.extra["params_key"] = curation_key(params, task)
    where = f"curate {task} ({cfg.source}{': ' + cfg.path if cfg.path else ''})"
    if cfg.source not in GENERATORS:
        CURATORS.get_or_fail(cfg.source, f"data.tasks.{task}.source")  # a real source (generators: synthetic_*)
    if cfg.source in GENERATORS:
        try:
            pool, pretrain = GENERATORS[cfg.source](cfg, task, rng)
        except ValueError as exc:
            raise UserError(f"{where}: {exc}") from None
        stats.read = len(pool) + len(pretrain)
        if cfg.n is not None and len(pool) < cfg.n:
            stats.extra["pool_shortfall"] = cfg.n - len(pool)
            print(f"warning: {where}: the item space holds only {len(pool)} distinct items (n={cfg.n}); "
                  "raise difficulty or lower n", file=sys.stderr)
    else:
        pool = CURATORS[cfg.source](load_rows(cfg.path, cfg.hub_split), cfg, Context(task, params.seed, stats, rng))
        pretrain = []

    unique: dict[str, Record] = {}
    for record in pool:
        if record["id"] in unique:
            stats.drop("duplicate_id")
            continue
        unique[record["id"]] = record
    records = list(unique.values())
    if cfg.n is not None and len(records) > cfg.n and cfg.source not in GENERATORS:
        keep = np.sort(rng.choice(len(records), size=cfg.n, replace=False))
        stats.subsampled_out += len(records) - cfg.n
        records = [records[i] for i in keep]

    records = filter_prompt_length(records, params, task, stats)
    splits: dict[str, list[Record]] = {s: [] for s in SPLITS}
    for record in records:
        record["split"] = split_of(record["id"], params.seed, params.data.val_fraction, params.data.test_fraction)
        problem = record_problem(record)
        if problem:
            stats.drop(problem)
            continue
        splits[record["split"]].append(record)
    splits["pretrain"] = [r for r in pretrain if record_problem(r) is None]  # empty for real sources
    for name, rows in splits.items():
        stats.kept[name] = len(rows)
    stats.check(cfg.max_invalid_fraction, cfg.max_filtered_fraction, where)
    n_key = f"data.tasks.{task}.n"
    shares = {"train": (1 - params.data.val_fraction - params.data.test_fraction,
                        f"raise {n_key}, or lower data.val_fraction and data.test_fraction"),
              "val": (params.data.val_fraction, f"raise {n_key} or data.val_fraction"),
              "test": (params.data.test_fraction, f"raise {n_key} or data.test_fraction")}
    empty = [name for name, (share, _) in shares.items() if share > 0 and records and not splits[name]]
    for name in empty:
        print(f"warning: {where}: the {name} split came out empty ({len(records)} items, a {name} share of "
              f"{shares[name][0]:g}), so nothing can be trained or evaluated on it; {shares[name][1]}",
              file=sys.stderr)
    if empty:
        stats.extra["empty_splits"] = empty
    return splits, stats


def filter_prompt_length(records: list[Record], params: Params, task: str, stats: CurationStats) -> list[Record]:
    """Drop prompts over ``data.tasks.<task>.max_prompt_tokens`` with the run's tokenizer and chat template (the
    task's ``tokenizer``, else θ0's, ``models.base``), counted as ``too_long``, as verl would. The embedded
    default builds θ0 after curation, so there is no tokenizer yet: ``stats.json`` says so, and the verl
    export checks every row again (:func:`pipeline.data.prompt_length.check_prompt_lengths`)."""
    from .prompt_length import load_tokenizer, prompt_tokens

    cfg = params.data.tasks[task]
    name = cfg.tokenizer or params.models.base
    if not name:
        stats.extra["prompt_length_filter"] = "skipped: no tokenizer before base_model (models.base is null)"
        return records
    tokenizer = load_tokenizer(name)
    kept = []
    for record in records:
        if prompt_tokens(tokenizer, record["prompt"]) > cfg.max_prompt_tokens:
            stats.drop("too_long")
        else:
            kept.append(record)
    stats.extra["prompt_length_filter"] = {"tokenizer": name, "max_prompt_tokens": cfg.max_prompt_tokens,
                                           "too_long": len(records) - len(kept)}
    return kept


def write_task(splits: dict[str, list[Record]], stats: CurationStats, out_dir: str | Path) -> None:
    with staged_outputs(out_dir) as stage:
        for name, rows in splits.items():
            write_split(rows, stage / f"{name}.parquet")
        write_json_atomic(stage / "stats.json", stats.to_dict())

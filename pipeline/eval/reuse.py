"""Evaluations that an earlier stage already made, reused instead of recomputed.

Several stages evaluate the same model on the same split: ``evaluate_final`` reports θ0 and the
single-task models on test (``evaluate_transfer`` has them), ``merge_ties`` scores each single-task
run's final model on val (``evaluate_transfer`` again). (``validate_predictions`` also evaluates the
recommended curriculum on test, as ``evaluate_final`` does, but is not given that folder: at paper scale
it would then wait for the joint run.) An evaluation is a function of the model's files, the
split's file, the ``eval`` settings, the rewards and the seed (every unit seeds itself, see
:mod:`.parallel`), so :func:`unit_key` digests exactly those, and a stage that was given the
earlier stage's folder (``--reuse DIR``, declared as a dependency in both workflow files) takes the
stored result for a unit with the same key: the same numbers, without the work. A unit whose model,
data or settings differ has another key and is evaluated.

``evaluate`` writes every result it has, with its per-prompt accuracies, to ``units.jsonl``.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ..config import Params
from ..errors import UserError
from ..io import is_machine_dependent

RESULTS = "units.jsonl"


def file_digest(path: Path, _cache: dict[tuple[str, int, int], str] = {}) -> str:  # noqa: B006 (memo)
    """sha256 of a file's bytes (memoised on path, size and mtime within this process)."""
    stat = path.stat()
    memo = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    if memo not in _cache:
        digest = hashlib.sha256()
        with path.open("rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
        _cache[memo] = digest.hexdigest()
    return _cache[memo]


def model_digest(folder: Path) -> str:
    """Digest of every file that defines a model (weights, config, tokenizer), by relative name: not the
    machine-dependent files beside them (timings, locks; :data:`pipeline.io.MACHINE_DEPENDENT`), so two runs of
    the same commit key their evaluations alike."""
    folder = Path(folder)
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and not is_machine_dependent(p)):
        digest.update(f"{path.relative_to(folder)}\0{file_digest(path)}\0".encode())
    return digest.hexdigest()


def unit_key(model: Path, task: str, split: str, params: Params, curated: Path) -> str:
    """What an evaluation's result depends on: the model's files, the split's file, the ``eval`` settings
    (workers aside: they do not change a result), the rewards and the seed."""
    settings = params.eval.model_dump(mode="json")
    settings.pop("workers", None)
    data = Path(curated) / task / f"{split}.parquet"
    blob = json.dumps({"model": model_digest(model), "task": task, "split": split,
                       "data": file_digest(data) if data.exists() else None, "eval": settings,
                       "rewards": params.rewards.model_dump(mode="json"), "seed": params.seed}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()


def encode_result(key: str, name: str, task: str, split: str, result: dict[str, Any]) -> str:
    """One line of ``units.jsonl``."""
    stored = {k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in result.items()}
    return json.dumps({"key": key, "name": name, "task": task, "split": split, "result": stored}) + "\n"


def load_results(folders: Sequence[Path]) -> dict[str, dict[str, Any]]:
    """``{key: result}`` from the ``units.jsonl`` of each folder (``per_prompt`` back as an array). A folder
    without the file is an error naming it; a malformed line is an error naming the file and line."""
    stored: dict[str, dict[str, Any]] = {}
    for folder in folders:
        file = Path(folder) / RESULTS
        if not file.exists():
            raise UserError(f"{file}: not found (--reuse takes a folder written by `evaluate`)")
        for number, line in enumerate(file.read_text(encoding="utf-8").splitlines(), start=1):
            try:
                entry = json.loads(line)
                result = dict(entry["result"])
                for name in ("per_prompt", "per_prompt_greedy"):
                    if name in result:
                        result[name] = np.asarray(result[name], dtype=float)
                stored[entry["key"]] = result
            except (ValueError, KeyError, TypeError) as exc:
                raise UserError(f"{file}: line {number}: not an evaluation result ({exc})") from exc
    return stored



def load_named_results(file: Path, split: str, which: str = "per_prompt") -> dict[tuple[str, str], np.ndarray]:
    """``{(model name, task): per-prompt results}`` of one split from a ``units.jsonl`` (``which``: ``per_prompt``,
    under eval.accuracy, or ``per_prompt_greedy``; the last line wins for a repeated name and task). A malformed
    line is an error naming the file and line."""
    out: dict[tuple[str, str], np.ndarray] = {}
    for number, line in enumerate(Path(file).read_text(encoding="utf-8").splitlines(), start=1):
        try:
            entry = json.loads(line)
            if entry["split"] == split and which in entry["result"]:  # older files lack per_prompt_greedy
                out[entry["name"], entry["task"]] = np.asarray(entry["result"][which], dtype=float)
        except (ValueError, KeyError, TypeError) as exc:
            raise UserError(f"{file}: line {number}: not an evaluation result ({exc})") from exc
    return out

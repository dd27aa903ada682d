"""The record schema shared by every task (issue "Data curation").

A record is a dict with:

- ``id`` (str): stable identifier, unique within a task;
- ``task`` (str): task name (``math``, ``coding``, ``qa``, ``writing`` or any other);
- ``source`` (str): where it came from (``openr1``, ``code_r1``, ``supergpqa``, ``sharegpt``, ``synthetic``);
- ``split`` (str): ``train``, ``val``, ``test`` (or ``pretrain`` for the warm-start portion of synthetic data);
- ``prompt`` (list of ``{"role", "content"}``): chat messages;
- ``reference`` (str): math → final answer; coding → tests as a code-r1 ground_truth JSON string
  (``{"functional": …}`` or ``{"inputs": […], "outputs": […]}``); qa → text of the correct option;
  writing → reference response;
- ``meta`` (dict): e.g. qa options and category, a synthetic writing rubric, a warm-start completion.

On disk ``meta`` is stored as a JSON string so that every task shares one Arrow schema;
:func:`read_split` decodes it back to a dict.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterable

import datasets
import pyarrow.parquet as pq

from ..errors import UserError
from ..io import atomic_path

datasets.disable_progress_bars()  # our stages show their own progress

SPLITS = ("train", "val", "test")
ALL_SPLITS = (*SPLITS, "pretrain")
ROLES = ("system", "user", "assistant")
FIELDS = ("id", "task", "source", "split", "prompt", "reference", "meta")

FEATURES = datasets.Features({
    "id": datasets.Value("string"),
    "task": datasets.Value("string"),
    "source": datasets.Value("string"),
    "split": datasets.Value("string"),
    "prompt": datasets.List({"role": datasets.Value("string"), "content": datasets.Value("string")}),
    "reference": datasets.Value("string"),
    "meta": datasets.Value("string"),
})


def record_problem(record: Any) -> str | None:
    """Why ``record`` violates the schema (a short reason), or ``None`` when it is valid."""
    if not isinstance(record, dict):
        return "not_a_record"
    for name in FIELDS:
        if name not in record:
            return f"missing_{name}"
    for name in ("id", "task", "source", "split", "reference"):
        if not isinstance(record[name], str):
            return f"wrong_type_{name}"
        if not record[name].strip():
            return f"empty_{name}"
    if record["split"] not in ALL_SPLITS:
        return "bad_split"
    prompt = record["prompt"]
    if not isinstance(prompt, list) or not prompt:
        return "empty_prompt"
    for message in prompt:
        if not (isinstance(message, dict) and set(message) == {"role", "content"}
                and message["role"] in ROLES and isinstance(message["content"], str)):
            return "bad_prompt_message"
    if not any(m["role"] == "user" and m["content"].strip() for m in prompt):
        return "empty_prompt"
    if not isinstance(record["meta"], dict):
        return "wrong_type_meta"
    return None


def _encode(record: dict[str, Any]) -> dict[str, Any]:
    return {**{k: record[k] for k in FIELDS}, "meta": json.dumps(record["meta"], ensure_ascii=False, sort_keys=True)}


def write_split(records: Iterable[dict[str, Any]], path: str | Path) -> int:
    """Write records as parquet through HF ``datasets`` (atomically); returns the row count."""
    rows = [_encode(r) for r in records]
    ds = datasets.Dataset.from_list(rows, features=FEATURES) if rows else \
        datasets.Dataset.from_dict({k: [] for k in FEATURES}, features=FEATURES)
    with atomic_path(path) as tmp:
        ds.to_parquet(str(tmp))
    return len(rows)


def read_split(path: str | Path, task: str | None = None) -> list[dict[str, Any]]:
    """Read a split written by :func:`write_split`, decoding ``meta``; every row is checked against the record
    schema (and, given ``task``, must belong to it): a bad one is one line naming the file, the row and the
    column."""
    import pyarrow

    try:
        table = pq.read_table(str(path))
    except FileNotFoundError:
        raise UserError(f"{path}: file not found") from None
    except IsADirectoryError:
        raise UserError(f"{path}: is a folder, expected a parquet split") from None
    except (pyarrow.ArrowException, OSError) as exc:
        raise UserError(f"{path}: not a readable split ({type(exc).__name__}: "
                        f"{str(exc).splitlines()[0] if str(exc) else ''})") from None
    missing = [name for name in FIELDS if name not in table.column_names]
    if missing:
        raise UserError(f"{path}: column(s) {missing} missing; a split has {list(FIELDS)}")
    try:
        ds = datasets.Dataset(table)  # in memory: no HF cache side effects
        rows = list(ds)
    except (pyarrow.ArrowException, TypeError, ValueError) as exc:
        raise UserError(f"{path}: not in the record schema ({type(exc).__name__}: "
                        f"{str(exc).splitlines()[0] if str(exc) else ''})") from None
    records = []
    for i, row in enumerate(rows):
        meta = row.get("meta")
        try:
            decoded = json.loads(meta) if isinstance(meta, str) else meta
        except (ValueError, RecursionError):
            raise UserError(f"{path} row {i}: column meta is not JSON") from None
        record = {**row, "meta": decoded}
        problem = record_problem(record)
        if problem is not None:
            raise UserError(f"{path} row {i}: {problem.replace('_', ' ')} (id {str(row.get('id'))[:60]!r})")
        if task is not None and record["task"] != task:
            raise UserError(f"{path} row {i}: column task is {record['task']!r}, not {task!r} (another task's row)")
        records.append(record)
    return records

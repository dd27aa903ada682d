"""Loading a curation source: a Hugging Face hub id or a local jsonl / json / parquet path.

Rows come back as ``(line, row)`` pairs; a row that cannot be decoded is a
:class:`BadRow` carrying the drop reason (``not_utf8``, ``bad_json``, ``not_an_object``),
so the curator counts it instead of crashing.
"""

from __future__ import annotations

import gzip
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import pyarrow.parquet as pq

from ..errors import UserError

SUFFIXES = (".jsonl", ".jsonl.gz", ".json", ".parquet")


@dataclass(frozen=True)
class BadRow:
    reason: str


def _jsonl(path: Path) -> Iterator[tuple[int, Any]]:
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "rb") as fh:
        for lineno, raw in enumerate(fh, start=1):
            if not raw.strip():
                continue
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError:
                yield lineno, BadRow("not_utf8")
                continue
            try:
                row = json.loads(text)
            except json.JSONDecodeError:
                yield lineno, BadRow("bad_json")
                continue
            yield lineno, row if isinstance(row, dict) else BadRow("not_an_object")


def _json(path: Path) -> Iterator[tuple[int, Any]]:
    try:
        data = json.loads(path.read_bytes().decode("utf-8"))
    except UnicodeDecodeError:
        raise UserError(f"{path}: not valid UTF-8") from None
    except json.JSONDecodeError:
        yield from _jsonl(path)  # a .json file holding JSON lines
        return
    if not isinstance(data, list):
        raise UserError(f"{path}: expected a JSON list of rows")
    for i, row in enumerate(data, start=1):
        yield i, row if isinstance(row, dict) else BadRow("not_an_object")


def _parquet(path: Path) -> Iterator[tuple[int, Any]]:
    import pyarrow

    try:
        rows = pq.read_table(path).to_pylist()
    except (pyarrow.ArrowException, OSError) as exc:
        raise UserError(f"{path}: not a readable parquet file ({str(exc).splitlines()[0] if str(exc) else ''})") \
            from None
    yield from enumerate(rows, start=1)


def _local_files(path: Path) -> list[Path]:
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.is_file() and p.name.endswith(SUFFIXES))
        if not files:
            raise UserError(f"{path}: no {', '.join(SUFFIXES)} files in this folder")
        return files
    if not path.name.endswith(SUFFIXES):
        raise UserError(f"{path}: unsupported file type (expected {', '.join(SUFFIXES)})")
    return [path]


def load_rows(source: str, hub_split: str = "train", hub_config: str | None = None) -> Iterator[tuple[int, Any]]:
    """Yield ``(line or row number, row)`` from a local path, else from the hub dataset ``source`` (its
    configuration ``hub_config`` when the dataset has several: the hub refuses to guess)."""
    path = Path(source).expanduser()
    if path.exists():
        for file in _local_files(path):
            reader = _parquet if file.name.endswith(".parquet") else _json if file.name.endswith(".json") else _jsonl
            yield from reader(file)
        return
    if source.startswith((".", "/", "~")) or source.endswith(SUFFIXES):
        raise UserError(f"{source}: file not found")
    try:
        import datasets

        ds = datasets.load_dataset(source, hub_config, split=hub_split)
    except Exception as exc:  # noqa: BLE001 - any hub/network failure becomes one clear line
        raise UserError(f"{source}: not a local path and could not be loaded from the hub "
                        f"({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''})") from None
    for i, row in enumerate(ds, start=1):
        yield i, row

"""``score``: score model responses with the reward registry (the same code as training and evaluation)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ..cli import command
from ..config import DEFAULT_PARAMS, load_params
from ..errors import UserError
from ..io import atomic_path, write_json_atomic

REQUIRED = ("id", "task", "prompt", "reference", "response")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("input", metavar="INPUT.jsonl",
                        help="records (id, task, prompt, reference, meta) plus `response` to score, one per line")
    parser.add_argument("--out", required=True, metavar="OUTPUT.jsonl",
                        help='one line per valid input line: {"id", "task", "score", "components", "excluded"}; '
                             "reward statistics go to OUTPUT.jsonl.stats.json")
    parser.add_argument("--params", default=str(DEFAULT_PARAMS), help="parameters file (default: params.yaml)")


def _parse(lineno: int, line: str) -> tuple[dict | None, str | None]:
    try:
        row = json.loads(line)
    except json.JSONDecodeError as exc:
        return None, f"line {lineno}: invalid JSON ({exc.msg})"
    if not isinstance(row, dict):
        return None, f"line {lineno}: expected a JSON object"
    for name in REQUIRED:
        if name not in row:
            return None, f"line {lineno}: missing field '{name}'"
    if not isinstance(row["response"], str) or not isinstance(row["reference"], str):
        return None, f"line {lineno}: 'response' and 'reference' must be strings"
    if not isinstance(row["prompt"], (list, str)):
        return None, f"line {lineno}: 'prompt' must be a list of messages or a string"
    if row.get("meta") is not None and not isinstance(row["meta"], dict):
        return None, f"line {lineno}: 'meta' must be an object"
    return row, None


@command("score", help="Score responses with the hybrid rewards; one JSON result per input line.")
def run(args: argparse.Namespace) -> int:
    from ..data.prompts import user_text
    from ..rewards.total import RewardModel, Sample

    params = load_params(args.params)
    path = Path(args.input)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise UserError(f"{path}: file not found") from None
    except IsADirectoryError:
        raise UserError(f"{path}: is a folder, expected a jsonl file of responses") from None
    except UnicodeDecodeError:
        raise UserError(f"{path}: not valid UTF-8") from None
    if Path(args.out).is_dir():
        raise UserError(f"{args.out}: is a folder, expected the path of the jsonl file to write")
    rows, errors = [], 0
    for lineno, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        row, error = _parse(lineno, line)
        if error:
            print(f"error: {path} {error}", file=sys.stderr)
            errors += 1
            continue
        try:
            params.rewards.for_task(row["task"])
        except UserError as exc:
            print(f"error: {path} line {lineno}: {exc}", file=sys.stderr)
            errors += 1
            continue
        rows.append(row)
    model = RewardModel(params.rewards)
    try:
        scored = model.score([Sample(task=r["task"], question=user_text(r["prompt"]), response=r["response"],
                                     reference=r["reference"], meta=r.get("meta") or {}) for r in rows])
        with atomic_path(args.out) as tmp:
            with tmp.open("w", encoding="utf-8") as fh:
                for row, s in zip(rows, scored):
                    fh.write(json.dumps({"id": row["id"], "task": row["task"], "score": s.score,
                                         "components": s.components, "excluded": s.excluded}) + "\n")
        write_json_atomic(f"{args.out}.stats.json", {"rows": len(rows), "errors": errors, **model.stats()})
    finally:
        model.close()
    print(f"scored {len(rows)} rows -> {args.out}" + (f"; {errors} malformed line(s) skipped" if errors else ""))
    return 2 if errors else 0

"""``score``: score model responses with the reward registry (the same code as training and evaluation)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ..cli import command
from ..config import load_params
from ..errors import UserError
from ..io import atomic_path, write_json_atomic
from .args import add_params_argument

REQUIRED = ("id", "task", "prompt", "reference", "response")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("input", metavar="INPUT.jsonl",
                        help="records (id, task, prompt, reference, meta) plus `response` to score, one per line")
    parser.add_argument("--out", required=True, metavar="OUTPUT.jsonl",
                        help='one line per valid input line: {"id", "task", "score", "components", "excluded"}; '
                             "reward statistics go to OUTPUT.jsonl.stats.json")
    add_params_argument(parser)


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
    if not isinstance(row["task"], str):
        return None, f"line {lineno}: 'task' must be a task name, not a {type(row['task']).__name__}"
    if isinstance(row["prompt"], list) and not all(
            isinstance(m, dict) and isinstance(m.get("role"), str) and isinstance(m.get("content"), str)
            for m in row["prompt"]):
        return None, f"line {lineno}: 'prompt' messages must be objects with 'role' and 'content' strings"
    return row, None


CHUNK = 256  # rows scored together: verifiers run batched, memory stays bounded by a chunk


@command("score", help="Score responses with the hybrid rewards; one JSON result per input line.")
def run(args: argparse.Namespace) -> int:
    """Streams the input: reads, checks and scores ``CHUNK`` lines at a time and writes their results to a
    temporary file that replaces ``--out`` at the end, so memory does not grow with the input."""
    from ..rewards.total import RewardModel

    params = load_params(args.params)
    path = Path(args.input)
    if path.is_dir():
        raise UserError(f"{path}: is a folder, expected a jsonl file of responses")
    if not path.exists():
        raise UserError(f"{path}: file not found")
    if Path(args.out).is_dir():
        raise UserError(f"{args.out}: is a folder, expected the path of the jsonl file to write")
    if Path(args.out).exists() and Path(args.out).samefile(path):
        raise UserError(f"{args.out}: --out is the input file; write the scores elsewhere (the input is read while "
                        "they are written)")
    model = RewardModel(params.rewards)
    rows = errors = 0
    try:
        with atomic_path(args.out) as tmp, tmp.open("w", encoding="utf-8") as out, \
                path.open(encoding="utf-8") as lines:
            chunk: list[dict] = []
            try:
                for lineno, line in enumerate(lines, start=1):
                    row = _checked(path, lineno, line, params)
                    if row is None:
                        errors += line.strip() != ""
                        continue
                    chunk.append(row)
                    if len(chunk) == CHUNK:
                        rows += _score_chunk(model, chunk, out)
                        chunk = []
            except UnicodeDecodeError:
                raise UserError(f"{path}: not valid UTF-8") from None
            rows += _score_chunk(model, chunk, out)
        write_json_atomic(f"{args.out}.stats.json", {"rows": rows, "errors": errors, **model.stats()})
    finally:
        model.close()
    print(f"scored {rows} rows -> {args.out}" + (f"; {errors} malformed line(s) skipped" if errors else ""))
    return 2 if errors else 0


def _checked(path: Path, lineno: int, line: str, params) -> dict | None:
    """The row of one input line, or None (an error printed for a malformed non-empty line)."""
    if not line.strip():
        return None
    row, error = _parse(lineno, line)
    if error:
        print(f"error: {path} {error}", file=sys.stderr)
        return None
    try:
        kind = params.rewards.for_task(row["task"]).kind
    except UserError as exc:
        print(f"error: {path} line {lineno}: {exc}", file=sys.stderr)
        return None
    problem = _reference_problem(kind, row, params)
    if problem:
        print(f"error: {path} line {lineno}: {problem}", file=sys.stderr)
        return None
    return row


def _reference_problem(kind: str, row: dict, params) -> str | None:
    """What makes a row's reference unusable by its reward kind: a code reference without test cases, a writing
    rubric of the wrong types (the offline judge reads it)."""
    if kind == "code":
        from ..rewards.code import reference_tests

        try:
            reference_tests(row["reference"])
        except ValueError as exc:
            return f"'reference' is not a code reference: {exc}"
    if kind == "judge" and params.rewards.judge.backend == "rubric" and "rubric" in (row.get("meta") or {}):
        from ..data.synthetic.writing import rubric_problem

        return rubric_problem(row["meta"]["rubric"])
    return None


def _score_chunk(model, rows: list[dict], out) -> int:
    from ..data.prompts import user_text
    from ..rewards.total import Sample

    scored = model.score([Sample(task=r["task"], question=user_text(r["prompt"]), response=r["response"],
                                 reference=r["reference"], meta=r.get("meta") or {}) for r in rows])
    for row, s in zip(rows, scored):
        out.write(json.dumps({"id": row["id"], "task": row["task"], "score": s.score,
                              "components": s.components, "excluded": s.excluded}) + "\n")
    return len(rows)

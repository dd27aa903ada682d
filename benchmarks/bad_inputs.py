#!/usr/bin/env python
"""Bad input, command by command: how each ends (issue 36's trial, rerunnable on any commit).

Every case runs ``python -m pipeline <command> ...`` on a small workspace (the smoke profile's curated data and
θ0, built first) with one thing wrong, and is classified by how it ended:

- ``one line``: exit status 2 and one ``error:`` line on stderr (what every command promises);
- ``traceback``: a Python traceback on stderr;
- ``silent``: exit status 0 (the bad input was accepted);
- ``hang``: still running after ``--timeout`` seconds (killed);
- ``other``: any other ending (printed in full with ``--verbose``).

Usage: python benchmarks/bad_inputs.py [--timeout 60] [--verbose]
Prints one row per case and a table of counts per command. Not a test: the tests pin each case
(tests/test_config.py, tests/test_io.py, tests/data/test_schema_and_splits.py, tests/models/test_load_checks.py,
tests/rewards/test_score_cli_and_verl.py, tests/test_bad_inputs.py).
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Callable

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

Case = tuple[str, str, Callable[[Path], list[str]]]  # command, what is wrong, set-up → argv after `pipeline`


def _params(ws: Path, text: str, name: str = "bad.yaml") -> str:
    path = ws / name
    path.write_text(text)
    return str(path)


def _overlay(ws: Path, text: str) -> list[str]:
    return ["--params", str(ws / "params.yaml"), _params(ws, text)]


def _split(ws: Path, task: str, rows: list[dict], name: str = "val") -> str:
    import pyarrow as pa
    import pyarrow.parquet as pq

    root = ws / f"cur-{len(list(ws.glob('cur-*')))}"
    shutil.copytree(ws / "curated", root)
    pq.write_table(pa.Table.from_pylist(rows), str(root / task / f"{name}.parquet"))
    return str(root)


ROW = {"id": "x", "task": "qa", "source": "s", "split": "val", "prompt": [{"role": "user", "content": "q"}],
       "reference": "a", "meta": "{}"}


def _model(ws: Path, edit: Callable[[dict], None]) -> str:
    from safetensors.torch import load_file, save_file

    root = ws / f"model-{len(list(ws.glob('model-*')))}"
    shutil.copytree(ws / "base", root)
    weights = load_file(root / "model.safetensors")
    edit(weights)
    save_file(weights, root / "model.safetensors", metadata={"format": "pt"})
    return str(root)


def _no_chat_template(ws: Path) -> str:
    root = ws / f"model-{len(list(ws.glob('model-*')))}"
    shutil.copytree(ws / "base", root)
    (root / "chat_template.jinja").unlink(missing_ok=True)
    config = json.loads((root / "tokenizer_config.json").read_text())
    config.pop("chat_template", None)
    (root / "tokenizer_config.json").write_text(json.dumps(config))
    return str(root)


def _score_input(ws: Path, row: dict) -> str:
    path = ws / f"rows-{len(list(ws.glob('rows-*')))}.jsonl"
    path.write_text(json.dumps(row) + "\n")
    return str(path)


GOOD_ROW = {"id": "1", "task": "qa", "prompt": [{"role": "user", "content": "q"}], "reference": "a", "meta": {},
            "response": "<answer>a</answer>"}


def cases() -> list[Case]:
    import torch

    def params_case(what: str, text: str) -> Case:
        return ("params", what, lambda ws: ["params", *_overlay(ws, text)])

    def fifo(ws: Path) -> list[str]:
        os.mkfifo(ws / "fifo.yaml")
        return ["params", "--params", str(ws / "fifo.yaml")]

    def evaluate(ws: Path, curated: str | None = None, model: str | None = None) -> list[str]:
        return ["evaluate", "--model", f"m={model or ws / 'base'}", "--curated", curated or str(ws / "curated"),
                "--split", "val", "--out", str(ws / "eval-out"), "--params", str(ws / "params.yaml")]

    def nan(w: dict) -> None:
        key = sorted(w)[2]
        w[key] = torch.full_like(w[key], float("nan"))

    return [
        params_case("lr .inf", "train: {grpo: {lr: .inf}}\n"),
        params_case("temperature .nan", "train: {grpo: {temperature: .nan}}\n"),
        params_case("merge lambda .inf", "baselines: {merge: {lambda: .inf}}\n"),
        params_case("order.weights NaN", "order: {weights: {math: .nan}}\n"),
        params_case("pairwise_scales inf", "order: {pairwise_scales: [.inf, 1.0]}\n"),
        params_case("negative beta", "train: {grpo: {beta: {math: -1}}}\n"),
        params_case("NaN beta", "train: {grpo: {beta: {math: .nan}}}\n"),
        params_case("heads do not divide hidden", "models: {heads: 3}\n"),
        params_case("kv_heads above heads", "models: {kv_heads: 8}\n"),
        params_case("task name ../../x", "tasks: ['../../x', math, coding, qa]\n"),
        params_case("timeout_s 1e308", "rewards: {code: {timeout_s: 1.0e+308}}\n"),
        params_case("unknown key", "order: {methd: exact}\n"),
        params_case("duplicate key", "seed: 1\nseed: 2\n"),
        params_case("YAML list as a key", "? [a, b]\n: 1\n"),
        params_case("number as a key", "1: 2\n"),
        params_case("10,000-deep nesting", "a: " + "[" * 10000 + "]" * 10000 + "\n"),
        params_case("2 MiB file", "seed: 1\n#" + "x" * (2 << 20) + "\n"),
        ("params", "non-UTF-8 file", lambda ws: ["params", "--params", str(_write(ws / "b.yaml", b"\xff\xfe x"))]),
        ("params", "a FIFO", fifo),
        ("params", "/dev/zero", lambda ws: ["params", "--params", "/dev/zero"]),
        ("params", "a folder", lambda ws: ["params", "--params", str(ws)]),
        ("score", "task is a list", lambda ws: ["score", _score_input(ws, {**GOOD_ROW, "task": ["qa"]}), "--out",
                                                str(ws / "s.jsonl"), "--params", str(ws / "params.yaml")]),
        ("score", "code reference is a JSON list",
         lambda ws: ["score", _score_input(ws, {**GOOD_ROW, "task": "coding", "reference": "[1]"}), "--out",
                     str(ws / "s.jsonl"), "--params", str(ws / "params.yaml")]),
        ("score", "io reference without cases",
         lambda ws: ["score", _score_input(ws, {**GOOD_ROW, "task": "coding",
                                                "reference": '{"inputs": [], "outputs": []}'}),
                     "--out", str(ws / "s.jsonl"), "--params", str(ws / "params.yaml")]),
        ("score", "writing rubric of the wrong types",
         lambda ws: ["score", _score_input(ws, {**GOOD_ROW, "task": "writing", "meta": {"rubric": 5}}), "--out",
                     str(ws / "s.jsonl"), "--params", str(ws / "params.yaml")]),
        ("score", "prompt messages not objects",
         lambda ws: ["score", _score_input(ws, {**GOOD_ROW, "prompt": [1, 2]}), "--out", str(ws / "s.jsonl"),
                     "--params", str(ws / "params.yaml")]),
        ("score", "--out is the input", lambda ws: ["score", (p := _score_input(ws, GOOD_ROW)), "--out", p,
                                                    "--params", str(ws / "params.yaml")]),
        ("score", "input is a folder", lambda ws: ["score", str(ws), "--out", str(ws / "s.jsonl"), "--params",
                                                   str(ws / "params.yaml")]),
        ("evaluate", "split without reference column",
         lambda ws: evaluate(ws, _split(ws, "qa", [{k: v for k, v in ROW.items() if k != "reference"}]))),
        ("evaluate", "meta not JSON", lambda ws: evaluate(ws, _split(ws, "qa", [{**ROW, "meta": "{x"}]))),
        ("evaluate", "another task's rows", lambda ws: evaluate(ws, _split(ws, "qa", [{**ROW, "task": "math"}]))),
        ("evaluate", "empty reference", lambda ws: evaluate(ws, _split(ws, "qa", [{**ROW, "reference": " "}]))),
        ("evaluate", "model with a missing tensor",
         lambda ws: evaluate(ws, model=_model(ws, lambda w: w.pop(sorted(w)[3])))),
        ("evaluate", "model with NaN weights", lambda ws: evaluate(ws, model=_model(ws, nan))),
        ("evaluate", "model without a chat template", lambda ws: evaluate(ws, model=_no_chat_template(ws))),
        ("evaluate", "--out names a file",
         lambda ws: [*evaluate(ws)[:-4], "--out", str(_write(ws / "note.txt", b"keep")), "--params",
                     str(ws / "params.yaml")]),
        ("order", "--out names a file",
         lambda ws: ["order", "--accuracies", str(REPO / "examples" / "table1_accuracies.csv"), "--out",
                     str(_write(ws / "note2.txt", b"keep"))]),
        ("order", "accuracy table missing", lambda ws: ["order", "--accuracies", str(ws / "none.csv"), "--out",
                                                        str(ws / "o")]),
        ("base-model", "pretrain split without completions' columns",
         lambda ws: ["base-model", "--curated", _split(ws, "qa", [{"x": 1}], name="pretrain"), "--out",
                     str(ws / "b2"), "--params", str(ws / "params.yaml")]),
        ("train", "train split of another task",
         lambda ws: ["train", "--mode", "single", "--task", "qa", "--base", str(ws / "base"), "--curated",
                     _split(ws, "qa", [{**ROW, "task": "math", "split": "train"}], name="train"), "--out",
                     str(ws / "t"), "--params", str(ws / "params.yaml")]),
    ]


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def classify(proc: subprocess.CompletedProcess[str] | None) -> str:
    if proc is None:
        return "hang"
    if "Traceback" in proc.stderr:
        return "traceback"
    if proc.returncode == 0:
        return "silent"
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    return "one line" if proc.returncode == 2 and len(errors) == 1 else "other"


def workspace(root: Path) -> Path:
    """The smoke profile's curated data and θ0 (about 15 s)."""
    from pipeline.config import dump_params, load_params

    (root / "params.yaml").write_text(dump_params(load_params([REPO / "params.yaml", REPO / "configs/smoke.yaml"])))
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    for task in ("math", "coding", "qa", "writing"):
        subprocess.run([sys.executable, "-m", "pipeline", "curate", "--task", task, "--out",
                        str(root / "curated" / task), "--params", str(root / "params.yaml")], check=True,
                       capture_output=True, cwd=root, env=env)
    subprocess.run([sys.executable, "-m", "pipeline", "base-model", "--curated", str(root / "curated"), "--out",
                    str(root / "base"), "--params", str(root / "params.yaml")], check=True, capture_output=True,
                   cwd=root, env=env)
    return root


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--timeout", type=float, default=60.0)
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args()
    counts: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    with tempfile.TemporaryDirectory() as tmp:
        ws = workspace(Path(tmp))
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        for command, what, make in cases():
            argv = make(ws)
            try:
                proc: subprocess.CompletedProcess[str] | None = subprocess.run(
                    [sys.executable, "-m", "pipeline", *argv], capture_output=True, text=True, timeout=args.timeout,
                    cwd=ws, env=env)
            except subprocess.TimeoutExpired:
                proc = None
            outcome = classify(proc)
            counts[command][outcome] += 1
            last = (proc.stderr.strip().splitlines() or [""])[-1] if proc is not None else ""
            print(f"{command:12s} {what:45s} {outcome:10s} {last[:110]}")
            if args.verbose and outcome not in ("one line",) and proc is not None:
                print(proc.stderr[-2000:])
    kinds = ("one line", "traceback", "silent", "hang", "other")
    print("\n| command | " + " | ".join(kinds) + " |\n|---|" + "---|" * len(kinds))
    for command, counter in counts.items():
        print(f"| {command} | " + " | ".join(str(counter[k]) for k in kinds) + " |")
    total = sum(counts.values(), collections.Counter())
    print("| all | " + " | ".join(str(total[k]) for k in kinds) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Evaluation units side by side in worker processes give the same results as one process."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from pipeline.config import parse_params
from pipeline.data.curate import curate_task
from pipeline.data.schema import write_split
from pipeline.eval.parallel import Unit, cpu_budget, evaluate_units, worker_count
from pipeline.models.tiny import build_tiny_model
from pipeline.models.tokenizer import build_tokenizer

from ..conftest import KINDS


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    root = tmp_path_factory.mktemp("parallel")
    params = parse_params({"rewards": {"tasks": KINDS}, "tasks": ["math", "qa"], "data": {"tasks": {
        "math": {"source": "synthetic_math", "n": 40}, "qa": {"source": "synthetic_qa", "n": 40, "facts": 10}}},
        "eval": {"samples": 2, "max_items": 6, "max_new_tokens": 8}})
    corpus = []
    for task in params.tasks:
        splits = curate_task(params, task)[0]
        for split in ("val", "test"):
            write_split(splits[split] or splits["train"][:6], root / "curated" / task / f"{split}.parquet")
        corpus += [m["content"] for r in splits["train"] for m in r["prompt"]]
    tokenizer = build_tokenizer(corpus, vocab_size=300)
    for seed in (0, 1):
        model = build_tiny_model(len(tokenizer), 32, 1, 2, 1, 64, 256, seed, tokenizer)
        model.save_pretrained(root / f"m{seed}")
        tokenizer.save_pretrained(root / f"m{seed}")
    return root, params


def _units(root):
    return [Unit(name, str(root / name), task, split) for name in ("m0", "m1") for task in ("math", "qa")
            for split in ("val", "test")]


def test_two_workers_give_the_results_of_one(workspace):
    root, params = workspace
    units = _units(root)
    threads = torch.get_num_threads()
    one = list(evaluate_units(units, params.model_copy(update={"eval": params.eval.model_copy(
        update={"workers": 1})}), root / "curated"))
    two = list(evaluate_units(units, params.model_copy(update={"eval": params.eval.model_copy(
        update={"workers": 2})}), root / "curated"))
    assert [u for u, _ in one] == units == [u for u, _ in two]  # in the order given
    for (_, a), (_, b) in zip(one, two):
        assert a["accuracy"] == b["accuracy"] and a["accuracy_greedy"] == b["accuracy_greedy"]
        assert a["entropy"] == b["entropy"]
        np.testing.assert_array_equal(a["per_prompt"], b["per_prompt"])
    assert len({r["entropy"] for _, r in one}) > 1  # two different models, four splits: not all alike
    assert torch.get_num_threads() == threads  # the in-process evaluation ran on one thread, then restored it


def test_worker_count_follows_the_budget_and_the_backend(workspace, monkeypatch):
    _, params = workspace
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    assert cpu_budget() == 3
    assert worker_count(params, 10) == 3 and worker_count(params, 2) == 2  # never more than the units
    explicit = params.model_copy(update={"eval": params.eval.model_copy(update={"workers": 5})})
    assert worker_count(explicit, 10) == 5
    vllm = params.model_copy(update={"eval": params.eval.model_copy(update={"backend": "vllm"})})
    assert worker_count(vllm, 10) == 1  # one engine on the GPU, in the main process
    monkeypatch.setenv("OMP_NUM_THREADS", "")
    assert cpu_budget() >= 1


def test_a_missing_model_folder_fails_in_the_worker_and_reaches_the_caller(workspace):
    root, params = workspace
    two = params.model_copy(update={"eval": params.eval.model_copy(update={"workers": 2})})
    with pytest.raises(Exception, match=r"model .*gone: not found"):
        list(evaluate_units([*_units(root)[:2], Unit("gone", str(root / "gone"), "math", "val")], two,
                            root / "curated"))


def test_stored_evaluations_are_reused_only_for_the_same_model_data_and_settings(workspace, tmp_path, capsys):
    from pipeline.errors import UserError
    from pipeline.eval.reuse import RESULTS, encode_result

    root, params = workspace
    one = params.model_copy(update={"eval": params.eval.model_copy(update={"workers": 1})})
    units = _units(root)[:4]  # m0 on math and qa, val and test
    first = list(evaluate_units(units, one, root / "curated"))
    store = tmp_path / "store"
    store.mkdir()
    (store / RESULTS).write_text("".join(encode_result(r["key"], u.name, u.task, u.split,
                                                       {k: v for k, v in r.items() if k not in ("key", "reused")})
                                         for u, r in first))
    # The same model under another name and folder, plus m1 (never evaluated): m0's four come from the store.
    copy = tmp_path / "copy-of-m0"
    copy.mkdir()
    for f in (root / "m0").iterdir():
        (copy / f.name).write_bytes(f.read_bytes())
    again = [Unit("renamed", str(copy), u.task, u.split) for u in units] + _units(root)[4:6]
    second = list(evaluate_units(again, one, root / "curated", reuse=[store]))
    assert [r["reused"] for _, r in second] == [True] * 4 + [False] * 2
    assert "4 of 6 evaluations reused" in capsys.readouterr().out
    for (_, a), (_, b) in zip(first, second):
        assert a["accuracy"] == b["accuracy"] and a["entropy"] == b["entropy"] and a["key"] == b["key"]
        np.testing.assert_array_equal(a["per_prompt"], b["per_prompt"])
    # Other eval settings, or a changed model file, change the key: evaluated again.
    hotter = one.model_copy(update={"eval": one.eval.model_copy(update={"temperature": 0.5})})
    assert not any(r["reused"] for _, r in evaluate_units(units[:1], hotter, root / "curated", reuse=[store]))
    (copy / "config.json").write_text((copy / "config.json").read_text() + "\n")
    assert not any(r["reused"] for _, r in evaluate_units(again[:1], one, root / "curated", reuse=[store]))
    # A store that is missing or malformed is a one-line error naming the file (and line).
    with pytest.raises(UserError, match="units.jsonl: not found"):
        list(evaluate_units(units[:1], one, root / "curated", reuse=[tmp_path]))
    (store / RESULTS).write_text('{"key": "x"}\n')
    with pytest.raises(UserError, match=r"units.jsonl: line 1: not an evaluation result"):
        list(evaluate_units(units[:1], one, root / "curated", reuse=[store]))


WORKER_SCRIPT = r"""
import sys, time
from pathlib import Path
from pipeline.config import parse_params
from pipeline.eval.parallel import Unit, evaluate_units
root = Path(sys.argv[1])
params = parse_params({"rewards": {"tasks": {"math": {"kind": "math"}, "qa": {"kind": "qa"}}}, "tasks": ["math", "qa"], "data": {"tasks": {
    "math": {"source": "synthetic_math", "n": 40}, "qa": {"source": "synthetic_qa", "n": 40, "facts": 10}}},
    "eval": {"samples": 64, "max_items": 6, "max_new_tokens": 200, "workers": 2}})
units = [Unit(n, str(root / n), t, s) for n in ("m0", "m1") for t in ("math", "qa") for s in ("val", "test")] * 8
for _ in evaluate_units(units, params, root / "curated"):
    pass
"""


def _children(pid: int) -> set[int]:
    import subprocess

    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True).stdout
    return {int(x) for x in out.split()}


def _alive(pid: int) -> bool:
    import os

    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as f:  # a zombie is dead
        return f.read().split(")")[-1].split()[0] != "Z"


@pytest.mark.slow  # worker processes killed and watched
@pytest.mark.parametrize("sig", ["SIGTERM", "SIGKILL"])
def test_workers_die_with_their_parent(workspace, sig):
    """Slurm ends a stage with SIGTERM, then SIGKILL: the evaluation's worker processes must not outlive it."""
    import signal
    import subprocess
    import sys
    import time

    from ..conftest import REPO

    root, _ = workspace
    proc = subprocess.Popen([sys.executable, "-c", WORKER_SCRIPT, str(root)], cwd=REPO,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 120
        workers: set[int] = set()
        while time.time() < deadline and len(workers) < 2:  # the pool's two workers (and spawn's helper)
            workers = _children(proc.pid)
            time.sleep(0.5)
        time.sleep(3)  # the workers have started evaluating
        workers = _children(proc.pid)
        assert len(workers) >= 2, workers
        proc.send_signal(getattr(signal, sig))
        proc.wait(timeout=60)
        deadline = time.time() + 30
        while time.time() < deadline and any(_alive(w) for w in workers):
            time.sleep(0.5)
        assert not [w for w in workers if _alive(w)]
    finally:
        proc.kill()


@pytest.mark.slow  # worker processes killed and watched
def test_a_finished_evaluation_ends_its_workers_normally(workspace):
    """After the last unit the worker processes exit by themselves (their finalizers run: no semaphore left for
    the resource tracker to clean up) and the progress bar reaches every unit; they used to be killed."""
    import subprocess
    import sys

    from ..conftest import REPO

    root, _ = workspace
    script = WORKER_SCRIPT.replace('"samples": 64', '"samples": 2').replace("* 8", "* 1")
    proc = subprocess.run([sys.executable, "-c", script, str(root)], cwd=REPO, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "leaked" not in proc.stderr, proc.stderr
    assert "8/8" in proc.stderr  # the bar's last update (it stopped at 7/8)


@pytest.mark.slow  # worker processes killed and watched
def test_a_failing_unit_stops_the_others_at_once(workspace):
    """A unit that fails (a missing model) raises as soon as it fails: before the long unit queued ahead of it
    yields, and without running the queue behind it (its workers are killed)."""
    root, params = workspace
    slow = params.model_copy(update={"eval": params.eval.model_copy(update={"workers": 2, "samples": 64,
                                                                             "max_new_tokens": 128})})
    units = _units(root)[:1] + [Unit("missing", str(root / "no-such-model"), "math", "val")] + _units(root) * 6
    got = []
    with pytest.raises(Exception, match="no-such-model"):
        for unit, _ in evaluate_units(units, slow, root / "curated"):
            got.append(unit)
    assert got == []  # the old order-bound wait yielded unit 0, then ran all 48 queued units before raising


def test_evaluate_to_tables_rows_gains_and_a_reusable_store(workspace, tmp_path):
    """``evaluate``'s and ``train-pairs``' tables: a row per unit, the paired gain over θ0 (``base``, evaluated
    first), and a ``units.jsonl`` from which the same rows come back without evaluating again."""
    from pipeline.commands.evaluate import evaluate_to_tables, write_tables
    from pipeline.eval.evaluate import paired_difference

    root, params = workspace
    one = params.model_copy(update={"eval": params.eval.model_copy(update={"workers": 1})})
    units = [Unit(name, str(root / folder), "math", split) for name, folder in (("base", "m0"), ("other", "m1"))
             for split in ("val", "test")]
    results = dict(((u.name, u.split), r) for u, r in evaluate_units(units, one, root / "curated"))
    rows, stored = evaluate_to_tables(units, one, root / "curated")
    assert [(r["trained_on"], r["split"]) for r in rows] == [("base", "val"), ("base", "test"),
                                                             ("other", "val"), ("other", "test")]
    assert "gain" not in rows[0] and "per_prompt" not in rows[0]
    for row in rows[2:]:
        gain = paired_difference(results["other", row["split"]]["per_prompt"], results["base", row["split"]]["per_prompt"])
        assert (row["gain"], row["gain_se"]) == gain
    write_tables(tmp_path, rows, stored)
    again, stored_again = evaluate_to_tables(units, one, root / "curated", reuse=[tmp_path])
    assert again == rows and stored_again == stored

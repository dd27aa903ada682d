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


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    root = tmp_path_factory.mktemp("parallel")
    params = parse_params({"tasks": ["math", "qa"], "data": {"tasks": {
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
    with pytest.raises(Exception, match="cannot be loaded"):
        list(evaluate_units([*_units(root)[:2], Unit("gone", str(root / "gone"), "math", "val")], two,
                            root / "curated"))

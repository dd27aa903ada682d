"""GPU check of the scale backend (skipped without CUDA, verl and vLLM): 6 verl GRPO steps on the tiny model
on one GPU (its final fp32 HF checkpoint becomes the model), then evaluated with the vLLM engine. Fails when
the rewards are 0 or do not move, or vLLM's accuracy is 0.

Run on a GPU machine with the [gpu] extra installed:  pytest -q tests/gpu -s
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import yaml

torch = pytest.importorskip("torch")
if not torch.cuda.is_available():
    pytest.skip("no CUDA GPU", allow_module_level=True)
pytest.importorskip("verl")
pytest.importorskip("vllm")

from ..conftest import REPO  # noqa: E402


def run(*args: str, params, cwd) -> subprocess.CompletedProcess:
    proc = subprocess.run([sys.executable, "-m", "pipeline", *args, "--params", str(params)], cwd=cwd,
                          capture_output=True, text=True, timeout=1800)
    print(proc.stdout[-4000:], proc.stderr[-8000:])
    assert proc.returncode == 0, proc.stderr[-4000:]
    return proc


def one_task_params(task: str) -> dict:
    """params.yaml cut to ``task`` alone: 200 prompts, a 50-step warm start on 800, no ablation runs."""
    raw = yaml.safe_load((REPO / "params.yaml").read_text())
    raw["tasks"] = [task]
    raw["data"]["tasks"] = {task: {**raw["data"]["tasks"][task], "n": 200, "pretrain_n": 800}}
    raw["ablations"] = {"temperature": {"runs": {}}}
    raw["models"].update({"warmstart_steps": 50})
    return raw


def test_two_verl_grpo_steps_then_vllm_evaluation(tmp_path):
    raw = one_task_params("math")
    raw["train"] = {"backend": "verl",
                    "verl": {"n_gpus_per_node": 1, "micro_batch_size_per_gpu": 4, "gpu_memory_utilization": 0.3,
                             "logger": ["console", "file"]},
                    "grpo": {"group_size": 4, "batch_size": 4, "mini_batch_size": 16, "max_steps": 6,
                             "max_new_tokens": 32, "lr": 1e-4, "checkpoint_every": 3, "keep_every": 2}}
    raw["eval"].update({"backend": "vllm", "samples": 2, "max_items": 8, "vllm": {"gpu_memory_utilization": 0.3}})
    params = tmp_path / "params.yaml"
    params.write_text(yaml.safe_dump(raw))
    run("curate", "--task", "math", "--out", str(tmp_path / "curated" / "math"), params=params, cwd=REPO)
    run("base-model", "--curated", str(tmp_path / "curated"), "--out", str(tmp_path / "base"), params=params, cwd=REPO)
    out = tmp_path / "single" / "math"
    run("train", "--mode", "single", "--task", "math", "--base", str(tmp_path / "base"), "--curated",
        str(tmp_path / "curated"), "--out", str(out), params=params, cwd=REPO)
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["backend"] == "verl" and metrics["steps"] == 6
    log = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]
    assert (out / "model" / "config.json").exists() and len(log) == 6
    # saved every step (gcd of 3 and the snapshots 2, 4); our checkpoint callback pruned each older save inside
    # verl's trainer but kept the snapshots' HF folders
    assert json.loads((out / "checkpoints" / "index.json").read_text())["steps"] == [2, 4]
    assert all((out / "checkpoints" / f"step-{s}" / "config.json").exists() for s in (2, 4))
    rewards = [row["tasks"]["math"]["reward"] for row in log]
    print("verl mean reward per step:", rewards)
    # a reward of 0 everywhere means the tags or answers never reached the reward (e.g. dropped by decoding)
    assert max(rewards) > 0 and len(set(rewards)) > 1, rewards
    run("evaluate", "--model", f"base={tmp_path / 'base'}", "--model", f"math={out / 'model'}",
        "--split", "val", "--curated", str(tmp_path / "curated"), "--out", str(tmp_path / "eval"), params=params,
        cwd=REPO)
    table = (tmp_path / "eval" / "accuracies.csv").read_text().splitlines()
    assert len(table) == 3
    accuracies = [float(line.split(",")[3]) for line in table[1:]]
    print("vLLM accuracies (base, math):", accuracies)
    assert max(accuracies) > 0, table  # vLLM's returned text keeps the tags


def test_the_rft_baseline_on_verls_sft_trainer(tmp_path):
    """sft-rft with train.backend: verl: responses sampled by vLLM, kept by the rewards, then verl's SFT trainer
    (torchrun, FSDP, packing, bf16) on one GPU; its last checkpoint's HF folder becomes the model. verl 0.9.1
    cannot run this on a CPU (its process group is `cpu:gloo,<device>:<backend>`), so this is its check."""
    raw = one_task_params("math")
    raw["train"] = {"backend": "verl", "verl": {"n_gpus_per_node": 1, "micro_batch_size_per_gpu": 4}}
    raw["eval"].update({"backend": "vllm", "vllm": {"gpu_memory_utilization": 0.3}})
    raw["baselines"]["rft"] = {"samples": 8, "max_prompts": 64, "max_new_tokens": 32, "batch_size": 8, "epochs": 2,
                               "max_len": 256, "lr": 1e-4}
    params = tmp_path / "params.yaml"
    params.write_text(yaml.safe_dump(raw))
    run("curate", "--task", "math", "--out", str(tmp_path / "curated" / "math"), params=params, cwd=REPO)
    run("base-model", "--curated", str(tmp_path / "curated"), "--out", str(tmp_path / "base"), params=params, cwd=REPO)
    out = tmp_path / "sft"
    run("sft-rft", "--base", str(tmp_path / "base"), "--curated", str(tmp_path / "curated"), "--out", str(out),
        params=params, cwd=REPO)
    summary = json.loads((out / "rft.json").read_text())
    print("verl SFT:", summary)
    kept = summary["examples"]
    assert kept >= 8 and summary["steps"] == (kept // 8) * 2 and (out / "model" / "config.json").exists()


def test_a_verl_run_with_undefined_judge_verdicts_leaves_them_out_and_counts_them(tmp_path):
    """The writing task judged by a local OpenAI-compatible server that gives every third request no verdict:
    those samples' rewards are NaN, verl's trainer runs our omni_grpo estimator on them (advantage 0, left out of
    their groups), the run finishes, and metrics.json and log.jsonl count them."""
    from ..openai_server import OpenAIServer, completion

    raw = one_task_params("writing")
    raw["train"] = {"backend": "verl",
                    "verl": {"n_gpus_per_node": 1, "micro_batch_size_per_gpu": 4, "gpu_memory_utilization": 0.3,
                             "reward_workers": 1},
                    "grpo": {"group_size": 4, "batch_size": 4, "mini_batch_size": 16, "max_steps": 3,
                             "max_new_tokens": 32, "lr": 1e-4, "checkpoint_every": 3}}
    with OpenAIServer(lambda body, n: (200, completion("no verdict here" if n % 3 == 0 else "[[A]]"))) as server:
        raw["rewards"]["judge"] = {"backend": "llm", "model": "judge-test", "base_url": server.base_url,
                                   "cache_dir": str(tmp_path / "cache"), "max_retries": 0}
        raw["rewards"]["max_undefined_share"] = 1.0
        params = tmp_path / "params.yaml"
        params.write_text(yaml.safe_dump(raw))
        run("curate", "--task", "writing", "--out", str(tmp_path / "curated" / "writing"), params=params, cwd=REPO)
        run("base-model", "--curated", str(tmp_path / "curated"), "--out", str(tmp_path / "base"), params=params,
            cwd=REPO)
        out = tmp_path / "single" / "writing"
        run("train", "--mode", "single", "--task", "writing", "--base", str(tmp_path / "base"), "--curated",
            str(tmp_path / "curated"), "--out", str(out), params=params, cwd=REPO)
    metrics = json.loads((out / "metrics.json").read_text())
    print("undefined rewards:", metrics["undefined_rewards"])
    assert metrics["steps"] == 3 and metrics["undefined_rewards"] > 0
    log = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]
    assert sum(row.get("undefined", 0) for row in log) == metrics["undefined_rewards"]

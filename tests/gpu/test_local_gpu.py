"""GPU check of the local backend (skipped without CUDA): the warm start, MT-GRPO (with the KL term),
a curriculum that starts from a single-task run, and evaluation, all on one GPU through the CLI.

Run on a GPU machine:  pytest -q tests/gpu/test_local_gpu.py -s
(``OMNI_GPU_REPORT=FILE`` also writes the figures as JSON).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest
import yaml

torch = pytest.importorskip("torch")
if not torch.cuda.is_available():
    pytest.skip("no CUDA GPU", allow_module_level=True)

from ..conftest import REPO  # noqa: E402

REPORT: dict = {}


def teardown_module(module) -> None:
    if os.environ.get("OMNI_GPU_REPORT"):
        with open(os.environ["OMNI_GPU_REPORT"], "w") as fh:
            json.dump(REPORT, fh, indent=1)


def run(*args: str, params, cwd=REPO) -> subprocess.CompletedProcess:
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "pipeline", *args, "--params", str(params)], cwd=cwd,
                          capture_output=True, text=True, timeout=1200)
    REPORT.setdefault("seconds", {})[" ".join(args[:3])] = round(time.perf_counter() - t0, 1)
    print(proc.stdout[-3000:], proc.stderr[-3000:])
    assert proc.returncode == 0, proc.stderr[-4000:]
    return proc


def test_rollout_log_probs_and_loss_on_cuda_equal_the_cpu(tmp_path):
    from pipeline.models.tiny import build_tiny_model
    from pipeline.models.tokenizer import build_tokenizer
    from pipeline.rl.grpo import mt_grpo_loss
    from pipeline.rl.rollout import generate, token_logprobs

    prompts = [[{"role": "user", "content": f"what is {i}+{i}?"}] for i in range(4)]
    tokenizer = build_tokenizer([p[0]["content"] for p in prompts] * 5 + ["<think>x</think><answer>4</answer>"], 300)
    cpu = build_tiny_model(len(tokenizer), 64, 2, 4, 2, 128, 256, 0, tokenizer).eval()
    gpu = build_tiny_model(len(tokenizer), 64, 2, 4, 2, 128, 256, 0, tokenizer).cuda().eval()
    gpu.load_state_dict(cpu.state_dict())
    torch.manual_seed(0)
    rollout = generate(gpu, tokenizer, prompts, 4, 16, 1.0, 1.0, 0)
    assert rollout.input_ids.is_cuda and rollout.logprobs.is_cuda
    mask = rollout.response_mask.bool()
    logp_gpu, ent_gpu = token_logprobs(gpu, rollout, with_entropy=True)
    torch.testing.assert_close(rollout.logprobs[mask], logp_gpu[mask], atol=1e-4, rtol=1e-4)
    cpu_rollout = type(rollout)(**{k: (v.cpu() if torch.is_tensor(v) else v) for k, v in vars(rollout).items()})
    logp_cpu, ent_cpu = token_logprobs(cpu, cpu_rollout, with_entropy=True)
    torch.testing.assert_close(logp_gpu.cpu()[mask.cpu()], logp_cpu[mask.cpu()], atol=1e-4, rtol=1e-4)
    adv = torch.linspace(-1, 1, len(mask))
    for _model, logp, m, a in ((gpu, logp_gpu, mask, adv.cuda()), (cpu, logp_cpu, mask.cpu(), adv)):
        out = mt_grpo_loss(logp, logp.detach(), a, m, 0.2, 0.2, beta=torch.full_like(a, 0.1),
                           ref_logp=logp.detach() - 0.05)
        out.loss.backward()
    for (name, p_gpu), p_cpu in zip(gpu.named_parameters(), cpu.parameters()):
        torch.testing.assert_close(p_gpu.grad.cpu(), p_cpu.grad, atol=1e-4, rtol=1e-3, msg=name)


def test_local_backend_warm_start_grpo_curriculum_and_evaluation_on_the_gpu(tmp_path):
    raw = yaml.safe_load((REPO / "params.yaml").read_text())  # the embedded default's model and settings
    raw["tasks"] = ["math", "qa"]
    raw["data"]["tasks"] = {t: raw["data"]["tasks"][t] for t in raw["tasks"]}
    raw["rewards"]["tasks"] = {t: raw["rewards"]["tasks"][t] for t in raw["tasks"]}
    raw["train"]["overrides"] = {"math": {"lr": 3e-5}, "qa": {"beta": {"qa": 0.01}}}  # qa: the KL term on the GPU
    raw["ablations"]["temperature"]["runs"] = {"qa": 1.2}
    params = tmp_path / "params.yaml"
    params.write_text(yaml.safe_dump(raw))
    curated, base = tmp_path / "curated", tmp_path / "base"
    for task in raw["tasks"]:
        run("curate", "--task", task, "--out", str(curated / task), params=params)
    run("base-model", "--curated", str(curated), "--out", str(base), params=params)
    info = json.loads((base / "base_model.json").read_text())
    assert info["device"] == "cuda" and info["final_loss"] < 0.5
    REPORT["base_model"] = info
    for task in raw["tasks"]:
        out = tmp_path / "single" / task
        run("train", "--mode", "single", "--task", task, "--base", str(base), "--curated", str(curated),
            "--out", str(out), params=params)
        metrics = json.loads((out / "metrics.json").read_text())
        assert metrics["device"].startswith("cuda") and metrics["steps"] == 80
        logs = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]
        timings = json.loads((out / "timings.json").read_text())
        REPORT.setdefault("grpo", {})[task] = {
            "step_s": timings["seconds"] / timings["steps_timed"], "tokens_per_s": timings["tokens_per_s"],
            "first10_acc": sum(m["tasks"][task]["reward_accuracy"] for m in logs[:10]) / 10,
            "last10_acc": sum(m["tasks"][task]["reward_accuracy"] for m in logs[-10:]) / 10,
            "kl_last": logs[-1]["kl"]}
    assert REPORT["grpo"]["qa"]["kl_last"] > 0  # β_qa > 0: the reference model ran on the GPU
    proc = run("train", "--mode", "curriculum", "--order", "math,qa", "--base", str(base), "--curated", str(curated),
               "--singles", str(tmp_path / "single"), "--out", str(tmp_path / "curriculum"), params=params)
    assert "taken from the single-task run" in proc.stderr
    assert json.loads((tmp_path / "curriculum" / "metrics.json").read_text())["steps"] == 160
    run("evaluate", "--transfer", str(base), str(tmp_path / "single"), "--split", "val", "--curated", str(curated),
        "--out", str(tmp_path / "eval"), params=params)
    rows = (tmp_path / "eval" / "accuracies.csv").read_text().splitlines()
    assert len(rows) == 1 + 3 * 2
    REPORT["accuracies"] = rows

"""Same commit, same params, same machine, same thread count: the same weights, bit for bit, in separate
processes, also side by side on a loaded machine (the trainer seeds every generator it uses and runs torch's
deterministic kernels; evaluation's noise is a function of the seed)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from ..conftest import REPO

SCRIPT = r"""
import hashlib, sys, tempfile
import numpy as np, torch
torch.set_num_threads(int(sys.argv[1]))
HIDDEN, LAYERS, INTER, VOCAB, GROUP, STEPS = (int(v) for v in sys.argv[2:8])
from pipeline.config import GRPOParams, RewardParams, parse_params
from pipeline.data.curate import curate_task
from pipeline.models.tiny import build_tiny_model
from pipeline.models.tokenizer import build_tokenizer
from pipeline.rewards.total import RewardModel
from pipeline.rl.schedules import joint_schedule
from pipeline.rl.trainer import GRPOTrainer
KINDS = {"math": {"kind": "math"}, "qa": {"kind": "qa"}}

def main():
    params = parse_params({"rewards": {"tasks": KINDS}, "tasks": ["math", "qa"], "data": {"tasks": {"math": {"source": "synthetic_math", "n": 80},
                           "qa": {"source": "synthetic_qa", "n": 80, "facts": 10}}}})
    records = {t: curate_task(params, t)[0]["train"] for t in ("math", "qa")}
    tok = build_tokenizer([m["content"] for rs in records.values() for r in rs for m in r["prompt"]] * 2, vocab_size=VOCAB)
    torch.manual_seed(0)
    model = build_tiny_model(len(tok), HIDDEN, LAYERS, 4, 2, INTER, 256, 0, tok)
    schedule = joint_schedule({t: 16 for t in records}, 4, 1, np.random.default_rng(0))[:STEPS]
    rewards = RewardModel(RewardParams.model_validate({"tasks": KINDS}))
    GRPOTrainer(model, tok, records, schedule, GRPOParams(group_size=GROUP, batch_size=4, max_new_tokens=16, lr=1e-3,
                checkpoint_every=0, mini_batch_size=64), rewards, tempfile.mkdtemp(), seed=0).train()
    rewards.close()
    print("HASH", hashlib.sha256(b"".join(v.numpy().tobytes() for v in model.state_dict().values())).hexdigest())

if __name__ == "__main__":
    main()
"""


SMALL = (64, 2, 128, 400, 4, 5)  # hidden, layers, intermediate, vocab, group size, steps


def weights_hashes(script: str, args: list[str], side_by_side: int = 1, env: dict[str, str] | None = None) -> list[str]:
    """Weight digests of ``side_by_side`` identical runs started at once (each in its own process)."""
    procs = [subprocess.Popen([sys.executable, "-c", script, *args], cwd=REPO, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, env=env) for _ in range(side_by_side)]
    hashes = []
    for proc in procs:
        out, err = proc.communicate(timeout=900)
        assert proc.returncode == 0, err[-2000:]
        hashes.append([line for line in out.splitlines() if line.startswith("HASH")][0])
    return hashes


@pytest.mark.slow  # training in several processes at once
def test_training_is_bit_identical_across_processes_at_a_fixed_thread_count():
    small = [str(v) for v in SMALL]
    assert weights_hashes(SCRIPT, ["2", *small]) == weights_hashes(SCRIPT, ["2", *small])
    assert weights_hashes(SCRIPT, ["1", *small]) == weights_hashes(SCRIPT, ["1", *small])


LOADED = r"""
import hashlib, sys, tempfile
import numpy as np, torch
torch.set_num_threads(2)
from pipeline.config import load_params
from pipeline.data.curate import curate_task
from pipeline.models.tiny import build_tiny_model
from pipeline.models.tokenizer import build_tokenizer
from pipeline.rewards.total import RewardModel
from pipeline.rl.schedules import joint_schedule
from pipeline.rl.trainer import GRPOTrainer

def main():
    params = load_params("params.yaml")
    records = {t: curate_task(params, t)[0]["train"][:64] for t in ("math", "qa", "writing")}
    tok = build_tokenizer([m["content"] for rs in records.values() for r in rs for m in r["prompt"]] * 2,
                          vocab_size=1024)
    torch.manual_seed(0)
    model = build_tiny_model(len(tok), 128, 4, 4, 2, 512, 256, 0, tok)  # the embedded default's sizes
    schedule = joint_schedule({t: 64 for t in records}, 8, 1, np.random.default_rng(0))[:2]
    rewards = RewardModel(params.rewards)
    grpo = params.train.grpo.model_copy(update={"checkpoint_every": 0, "lr": 1e-3})
    GRPOTrainer(model, tok, records, schedule, grpo, rewards, tempfile.mkdtemp(), seed=0).train()
    rewards.close()
    print("HASH", hashlib.sha256(b"".join(v.numpy().tobytes() for v in model.state_dict().values())).hexdigest())

if __name__ == "__main__":
    main()
"""


@pytest.mark.slow  # training in several processes at once
def test_training_is_bit_identical_side_by_side_on_a_loaded_machine():
    """Two joint GRPO steps of the embedded default's model on its synthetic prompts, three runs at once on two
    threads each. Without torch's deterministic kernels (pipeline/models/determinism.py) the backward pass
    accumulated in a load-dependent order and the three runs ended at three different weights."""
    assert len(set(weights_hashes(LOADED, [], side_by_side=3))) == 1


THREADS = LOADED.replace("torch.set_num_threads(2)\n", "").replace(
    "seed=0).train()", "seed=0, threads=int(sys.argv[1])).train()")
"""The embedded default's two steps with their thread count given to the trainer (params ``train.threads``), torch
left as the process started (at the tiny sizes of ``SCRIPT`` one thread and two happen to agree)."""


@pytest.mark.slow  # training in several processes
def test_the_trainer_runs_on_its_threads_whatever_the_tool_set():
    """Snakemake starts a job with ``OMP_NUM_THREADS`` set to its reserved cores, DVC with torch's default of one
    thread per core: with ``train.threads`` the trainer computes the same weights under both, and the count
    matters (one thread and two give other weights: torch splits its reductions by thread count)."""
    assert "threads=int(sys.argv[1])" in THREADS and "set_num_threads" not in THREADS
    env = {k: v for k, v in os.environ.items() if not k.endswith("_NUM_THREADS")}
    two = weights_hashes(THREADS, ["2"], env=env)
    assert weights_hashes(THREADS, ["2"], env={**env, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}) == two
    assert weights_hashes(THREADS, ["1"], env=env) != two

"""Same commit, same params, same machine, same thread count: the same weights, bit for bit, in separate
processes (the trainer seeds every generator it uses; evaluation's noise is a function of the seed)."""

from __future__ import annotations

import subprocess
import sys

from ..conftest import REPO

SCRIPT = r"""
import hashlib, sys, tempfile
import numpy as np, torch
torch.set_num_threads(int(sys.argv[1]))
from pipeline.config import GRPOParams, RewardParams, parse_params
from pipeline.data.curate import curate_task
from pipeline.models.tiny import build_tiny_model
from pipeline.models.tokenizer import build_tokenizer
from pipeline.rewards.total import RewardModel
from pipeline.rl.schedules import joint_schedule
from pipeline.rl.trainer import GRPOTrainer

def main():
    params = parse_params({"tasks": ["math", "qa"], "data": {"tasks": {"math": {"source": "synthetic_math", "n": 80},
                           "qa": {"source": "synthetic_qa", "n": 80, "facts": 10}}}})
    records = {t: curate_task(params, t)[0]["train"] for t in ("math", "qa")}
    tok = build_tokenizer([m["content"] for rs in records.values() for r in rs for m in r["prompt"]] * 2, vocab_size=400)
    torch.manual_seed(0)
    model = build_tiny_model(len(tok), 64, 2, 4, 2, 128, 256, 0, tok)
    schedule = joint_schedule({t: 16 for t in records}, 4, 1, np.random.default_rng(0))[:5]
    rewards = RewardModel(RewardParams())
    GRPOTrainer(model, tok, records, schedule, GRPOParams(group_size=4, batch_size=4, max_new_tokens=16, lr=1e-3,
                checkpoint_every=0, mini_batch_size=8), rewards, tempfile.mkdtemp(), seed=0).train()
    rewards.close()
    print("HASH", hashlib.sha256(b"".join(v.numpy().tobytes() for v in model.state_dict().values())).hexdigest())

if __name__ == "__main__":
    main()
"""


def weights_hash(threads: int) -> str:
    proc = subprocess.run([sys.executable, "-c", SCRIPT, str(threads)], cwd=REPO, capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return [line for line in proc.stdout.splitlines() if line.startswith("HASH")][0]


def test_training_is_bit_identical_across_processes_at_a_fixed_thread_count():
    assert weights_hash(2) == weights_hash(2)
    assert weights_hash(1) == weights_hash(1)

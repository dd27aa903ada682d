"""Curriculum segments chain through verl's own checkpoint writer, without rounding: verl 0.9.1's
``FSDPCheckpointManager`` (FSDP2 on CPU, one gloo process) saves a checkpoint with ``hf_model`` in its
``save_contents`` as our overrides render it, and the HF folder it writes — the next segment's model path —
loads back to exactly the weights that were trained, although their last changes are below bf16's
resolution (what ``verl.model_merger`` would have cast them to). Skips without verl."""

from __future__ import annotations

import subprocess
import sys

import pytest

pytest.importorskip("verl")
pytestmark = pytest.mark.slow  # verl's FSDP checkpoint writer in a torch.distributed subprocess

from ..conftest import REPO  # noqa: E402

SCRIPT = r'''
import os, socket, sys
with socket.socket() as s:
    s.bind(("127.0.0.1", 0)); port = s.getsockname()[1]
os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK="0", WORLD_SIZE="1", LOCAL_RANK="0")
import torch, torch.distributed as dist
from omegaconf import OmegaConf
from torch.distributed.fsdp import fully_shard
from transformers import AutoModelForCausalLM
from verl.utils.checkpoint.fsdp_checkpoint_manager import FSDPCheckpointManager
from pipeline.config import GRPOParams, VerlParams
from pipeline.models.tiny import build_tiny_model
from pipeline.models.tokenizer import build_tokenizer
from pipeline.scale.verl_config import VerlRun, grpo_overrides, hf_checkpoint
from pipeline.scale.verl_run import compose_config

out = sys.argv[1]
dist.init_process_group("gloo")
tok = build_tokenizer(["hello world <think>x</think> 12"] * 20, vocab_size=300)
torch.manual_seed(0)
model = build_tiny_model(len(tok), 32, 1, 2, 1, 64, 128, 0, tok)
model.config.architectures = ["Qwen2ForCausalLM"]  # as in a model verl loaded from an HF folder
with torch.no_grad():  # a segment's updates: far below bf16's resolution at these magnitudes
    for p in model.parameters():
        p.add_(torch.randn_like(p) * 1e-6)
trained = {k: v.detach().clone() for k, v in model.state_dict().items()}
rounded = sum(not torch.equal(v, v.bfloat16().float()) for v in trained.values())
fully_shard(model)
run = VerlRun(name="curriculum-1-math", model="m", train_file="t", val_file="v", steps=1, checkpoint_dir=out,
              grpo=GRPOParams(), beta=0.0)
checkpoint = compose_config(grpo_overrides(run, VerlParams(n_gpus_per_node=1), None, "p", 0)).actor_rollout_ref.actor.checkpoint
manager = FSDPCheckpointManager(model, torch.optim.AdamW(model.parameters(), lr=1e-6), None, processing_class=tok,
                                checkpoint_config=OmegaConf.create({**OmegaConf.to_container(checkpoint), "async_save": False}))
manager.save_checkpoint(os.path.join(out, "global_step_1", "actor"), global_step=1)
loaded = AutoModelForCausalLM.from_pretrained(hf_checkpoint(__import__("pathlib").Path(out), 1), dtype=torch.float32)
state = loaded.state_dict()
differ = [k for k in trained if not torch.equal(trained[k], state[k])]
print("RESULT", len(trained), rounded, len(differ), sorted({str(v.dtype) for v in state.values()}))
dist.destroy_process_group()
'''


def test_the_next_segment_loads_exactly_the_weights_verl_saved(tmp_path):
    proc = subprocess.run([sys.executable, "-c", SCRIPT, str(tmp_path / "checkpoints")], capture_output=True,
                          text=True, cwd=REPO, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = [line for line in proc.stdout.splitlines() if line.startswith("RESULT")][0].split(maxsplit=4)
    tensors, rounded, differ = int(result[1]), int(result[2]), int(result[3])
    assert rounded == tensors  # every tensor would change in bf16: the test can see rounding
    assert differ == 0 and result[4] == "['torch.float32']"

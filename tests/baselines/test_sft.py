"""The RFT baseline's local SFT: a run cut mid-epoch resumes from its last checkpoint and ends where an uncut run
ends (weights and losses), and its checkpoints are replaced, not piled up."""

from __future__ import annotations

import pytest
import torch

import pipeline.baselines.sft as sft
from pipeline.baselines.sft import SFTCheckpoints, sft_epochs
from pipeline.models.tiny import build_tiny_model
from pipeline.models.tokenizer import build_tokenizer

EXAMPLES = [{"prompt": [{"role": "user", "content": f"{a}+{b}"}], "completion": f"<answer>{a + b}</answer>"}
            for a in range(4) for b in range(3)]  # 12 examples: batches of 5 → 3 steps per epoch, 9 in 3 epochs


def fresh():
    tokenizer = build_tokenizer([e["prompt"][0]["content"] + e["completion"] for e in EXAMPLES] * 4, vocab_size=300)
    return build_tiny_model(len(tokenizer), 32, 1, 2, 1, 64, 128, 0, tokenizer), tokenizer


def train(checkpoints=None):
    model, tokenizer = fresh()
    losses = sft_epochs(model, tokenizer, EXAMPLES, epochs=3, batch_size=5, lr=1e-3, schedule="cosine", max_len=64,
                        seed=3, threads=1, checkpoints=checkpoints)
    return model, losses


def test_a_cut_sft_run_resumes_to_the_weights_of_an_uncut_one(tmp_path, monkeypatch):
    uncut, uncut_losses = train()
    assert len(uncut_losses) == 9

    real, calls = sft.sft_step, []

    def cut_at_the_sixth(*args, **kwargs):
        calls.append(1)
        if len(calls) == 6:
            raise KeyboardInterrupt("the job is cut")
        return real(*args, **kwargs)

    checkpoints = SFTCheckpoints(tmp_path / "work", every=2)
    monkeypatch.setattr(sft, "sft_step", cut_at_the_sixth)
    with pytest.raises(KeyboardInterrupt):
        train(checkpoints)
    assert [p.name for p in (tmp_path / "work").glob("checkpoint-*")] == ["checkpoint-00000004"]  # the newest only

    monkeypatch.setattr(sft, "sft_step", real)
    resumed, losses = train(checkpoints)
    assert losses == uncut_losses  # steps 1-4 from the checkpoint, 5-9 trained again as the uncut run did
    for (name, a), (_, b) in zip(uncut.state_dict().items(), resumed.state_dict().items()):
        assert torch.equal(a, b), name


def test_without_checkpoints_nothing_is_written(tmp_path):
    _, losses = train(SFTCheckpoints(tmp_path / "work", every=0))
    assert len(losses) == 9 and not (tmp_path / "work").exists()

"""A checkpoint write killed at any of its filesystem operations leaves a complete checkpoint that the next
run resumes from; a resumed run's log holds each step once."""

from __future__ import annotations

import builtins
import json
import os
import shutil

import pytest

import torch

from pipeline.rl.checkpoint import MARKER, checkpoint_dir, latest_checkpoint, save_checkpoint

from .test_trainer import GRPO, run, setup  # noqa: F401  (setup: the module fixture)


def killing(at: int) -> None:
    """In this (forked) process, die with os._exit at the ``at``-th filesystem write, rename or removal."""
    import safetensors.torch

    count = [0]

    def wrap(owner, name):
        real = getattr(owner, name)

        def op(*args, **kwargs):
            if name == "open" and not any(m in str(args[1] if len(args) > 1 else kwargs.get("mode", "r"))
                                          for m in "wax+"):
                return real(*args, **kwargs)
            count[0] += 1
            if count[0] == at:
                os._exit(9)
            return real(*args, **kwargs)
        setattr(owner, name, op)

    for owner, name in ((builtins, "open"), (os, "rename"), (os, "replace"), (os, "unlink"), (os, "rmdir"),
                        (os, "mkdir"), (shutil, "rmtree"), (safetensors.torch, "save_file")):
        wrap(owner, name)


@pytest.mark.slow  # a process killed at every filesystem operation
def test_a_kill_at_every_step_of_a_checkpoint_write_leaves_a_complete_one(setup, tmp_path):  # noqa: F811
    records, tokenizer = setup
    _, trainer = run(setup, tmp_path / "run", params=GRPO.model_copy(update={"checkpoint_every": 0}))
    out = trainer.out
    expected = {k: v.clone() for k, v in trainer.model.state_dict().items()}
    outcomes = []
    for at in range(1, 200):
        for old in out.glob("checkpoint-*"):
            shutil.rmtree(old)
        trainer.state.step = 2
        trainer.save_checkpoint()  # the previous checkpoint, complete
        trainer.state.step = 4
        pid = os.fork()
        if pid == 0:
            killing(at)
            try:
                trainer.save_checkpoint()
            finally:
                os._exit(0)
        _, status = os.waitpid(pid, 0)
        killed = os.waitstatus_to_exitcode(status) == 9
        ckpt = latest_checkpoint(out)
        assert ckpt is not None, f"no checkpoint after a kill at operation {at}"
        state = torch.load(ckpt / "state.pt", weights_only=True)
        from transformers import AutoModelForCausalLM

        loaded = AutoModelForCausalLM.from_pretrained(ckpt / "model", dtype=torch.float32).state_dict()
        assert all(torch.equal(loaded[k], v) for k, v in expected.items() if k in loaded)
        assert state["step"] in (2, 4) and ckpt == checkpoint_dir(out, state["step"]) and (ckpt / MARKER).exists()
        assert sorted(p.name for p in out.glob("checkpoint-*")) == [ckpt.name]  # leftovers cleaned up
        outcomes.append(state["step"])
        if not killed:
            break
    assert outcomes[-1] == 4 and 2 in outcomes and len(outcomes) > 10  # every operation of the write was hit


def test_save_checkpoint_replaces_the_previous_one(tmp_path):
    save_checkpoint(tmp_path, 5, lambda d: (d / "x").write_text("5"))
    save_checkpoint(tmp_path, 10, lambda d: (d / "x").write_text("10"))
    assert latest_checkpoint(tmp_path) == checkpoint_dir(tmp_path, 10)
    assert [p.name for p in tmp_path.iterdir()] == ["checkpoint-00000010"]
    # a complete write killed just before its rename is recovered; a half-written one is dropped
    (tmp_path / "checkpoint-00000015.tmp").mkdir()
    (tmp_path / "checkpoint-00000015.tmp" / MARKER).write_text("15")
    (tmp_path / "checkpoint-00000020.tmp").mkdir()
    assert latest_checkpoint(tmp_path) == checkpoint_dir(tmp_path, 15)
    assert [p.name for p in tmp_path.iterdir()] == ["checkpoint-00000015"]  # the older one removed too


def test_a_resumed_run_logs_each_step_once(setup, tmp_path):  # noqa: F811
    """Killed after step 3 with a checkpoint at step 2: step 3's line is written again on resume, once."""
    params = GRPO.model_copy(update={"checkpoint_every": 2})
    run(setup, tmp_path / "r", stop_after=3, params=params)
    assert len((tmp_path / "r" / "log.jsonl").read_text().splitlines()) == 3
    _, trainer = run(setup, tmp_path / "r", params=params)
    steps = [json.loads(line)["step"] for line in (tmp_path / "r" / "log.jsonl").read_text().splitlines()]
    assert steps == [0, 1, 2, 3]


class _Payload:
    """A pickle that runs a command when unpickled (what a forged state file from a shared remote would carry)."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


def test_a_forged_checkpoint_state_is_not_unpickled_and_the_run_trains_afresh(setup, tmp_path, capsys):  # noqa: F811
    expected, _ = run(setup, tmp_path / "fresh")
    run(setup, tmp_path / "forged", stop_after=2)
    ckpt = latest_checkpoint(tmp_path / "forged")
    marker = tmp_path / "pwned"
    torch.save({"step": 2, "payload": _Payload(marker)}, ckpt / "state.pt")
    model, trainer = run(setup, tmp_path / "forged")
    assert not marker.exists()
    assert "not a plain tensor state, not loaded" in capsys.readouterr().err
    assert trainer.state.step == 4
    for (name, a), (_, b) in zip(expected.state_dict().items(), model.state_dict().items()):
        torch.testing.assert_close(a, b, msg=name)


def test_a_forged_final_state_is_not_unpickled(tmp_path, capsys):
    from pipeline.rl.trainer import FINAL_STATE, final_state

    (tmp_path / "model").mkdir()
    marker = tmp_path / "pwned"
    torch.save({"key": "k", "payload": _Payload(marker)}, tmp_path / "model" / FINAL_STATE)
    assert final_state(tmp_path) is None and not marker.exists()
    assert "not a plain tensor state" in capsys.readouterr().err

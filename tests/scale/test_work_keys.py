"""Resumable work is keyed by what produced it: a verl run's checkpoints, the verl SFT run's and RFT's sampled
batches are resumed only by the very same run; a changed setting or input starts that work afresh (verl's
``resume_mode=auto`` would otherwise resume from another run's checkpoint, and a ``done.json`` would skip it)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import yaml

from pipeline.config import GRPOParams, VerlParams, load_params, parse_params
from pipeline.io import WORK_KEY, folder_identity, keyed_work_folder

from ..conftest import REPO


def test_a_work_folder_is_resumed_only_under_its_own_key(tmp_path, capsys):
    folder = tmp_path / "work"
    assert keyed_work_folder(folder, "a", "run") is False  # new: nothing to resume
    (folder / "checkpoints").mkdir()
    (folder / "checkpoints" / "step-3").write_text("weights")
    assert keyed_work_folder(folder, "a", "run") is True  # the same run: kept, resumed
    assert (folder / "checkpoints" / "step-3").exists()
    assert keyed_work_folder(folder, "b", "run") is False  # other settings: removed, afresh
    assert not (folder / "checkpoints").exists() and json.loads((folder / WORK_KEY).read_text()) == {"fingerprint": "b"}
    assert "holds work of other settings or inputs; starting afresh" in capsys.readouterr().out
    legacy = tmp_path / "legacy"  # work from before keys (or a corrupt key): not this run's
    legacy.mkdir()
    (legacy / "latest_checkpointed_iteration.txt").write_text("5")
    assert keyed_work_folder(legacy, "a", "run") is False and not (legacy / "latest_checkpointed_iteration.txt").exists()
    (legacy / WORK_KEY).write_text("{not json")
    (legacy / "x").write_text("1")
    assert keyed_work_folder(legacy, "a", "run") is False and not (legacy / "x").exists()


def test_a_model_folders_identity_changes_with_its_files(tmp_path):
    model = tmp_path / "m"
    model.mkdir()
    (model / "config.json").write_text("{}")
    (model / "timings.json").write_text("1")  # machine-dependent: not part of the model
    before = folder_identity(model)
    (model / "timings.json").write_text("22")
    assert folder_identity(model) == before
    (model / "model.safetensors").write_bytes(b"w")
    assert folder_identity(model) != before
    assert folder_identity("Qwen/Qwen2.5-7B-Instruct") == ["Qwen/Qwen2.5-7B-Instruct"]


pytest.importorskip("verl")


def _runs(tmp_path: Path, lrs: tuple[float, float], checkpoint_every: int = 25):
    from pipeline.scale.verl_config import VerlRun, grpo_overrides

    runs, overrides = [], []
    for i, (task, lr) in enumerate(zip(("math", "qa"), lrs), start=1):
        run = VerlRun(name=f"curriculum-{i}-{task}", model=str(tmp_path / "base") if i == 1 else f"ckpt-{i - 1}",
                      train_file=tmp_path / f"{i}-{task}" / "train.parquet", val_file=tmp_path / "v.parquet",
                      steps=3, checkpoint_dir=tmp_path / f"{i}-{task}" / "checkpoints",
                      grpo=GRPOParams(group_size=4, batch_size=4, mini_batch_size=8, lr=lr,
                                      checkpoint_every=checkpoint_every), beta=0.0)
        runs.append((run, [{"id": f"{task}-{k}", "task": task} for k in range(12)]))
        overrides.append(grpo_overrides(run, VerlParams(n_gpus_per_node=1), None, tmp_path / "p.yaml", 0))
    return runs, overrides


def test_verl_run_keys_follow_settings_inputs_and_the_chain(tmp_path):
    from pipeline.scale.verl_run import run_done, run_fingerprints

    (tmp_path / "base").mkdir()
    (tmp_path / "base" / "config.json").write_text("{}")
    params = load_params(REPO / "params.yaml")
    runs, overrides = _runs(tmp_path, (1e-6, 1e-6))
    keys = run_fingerprints(runs, overrides, params, str(tmp_path / "base"))
    assert keys == run_fingerprints(runs, overrides, params, str(tmp_path / "base")) and len(set(keys)) == 2
    lr1 = run_fingerprints(*_runs(tmp_path, (2e-6, 1e-6)), params, str(tmp_path / "base"))
    assert lr1[0] != keys[0] and lr1[1] != keys[1]  # the first segment changed: so does everything after it
    lr2 = run_fingerprints(*_runs(tmp_path, (1e-6, 2e-6)), params, str(tmp_path / "base"))
    assert lr2[0] == keys[0] and lr2[1] != keys[1]  # only the second: the first is resumed or kept
    runs1, every_step = _runs(tmp_path, (1e-6, 1e-6), checkpoint_every=1)
    assert [o for o in every_step[0] if o.startswith("trainer.save_freq=")] == ["trainer.save_freq=1"]
    assert run_fingerprints(runs1, every_step, params, str(tmp_path / "base")) == keys  # resubmitted: resumed
    raw = yaml.safe_load((REPO / "params.yaml").read_text())
    raw["rewards"].setdefault("judge", {})["model"] = "another-judge"
    judged = parse_params(raw)
    assert run_fingerprints(runs, overrides, judged, str(tmp_path / "base"))[0] != keys[0]  # what workers read
    fewer = [(run, rows[:8]) for run, rows in runs]
    assert run_fingerprints(fewer, overrides, params, str(tmp_path / "base"))[0] != keys[0]  # other batches
    (tmp_path / "base" / "model.safetensors").write_bytes(b"w")  # another θ0
    assert run_fingerprints(runs, overrides, params, str(tmp_path / "base"))[0] != keys[0]
    run = runs[0][0]
    run.train_file.parent.mkdir(parents=True)
    done = run.train_file.parent / "done.json"
    done.write_text(json.dumps({"run": run.name, "steps": 3}))  # finished before keys: not this run's
    assert not run_done(run, keys[0])
    done.write_text(json.dumps({"run": run.name, "steps": 3, "fingerprint": keys[0]}))
    assert run_done(run, keys[0]) and not run_done(run, lr1[0])

"""RFT filtering and deduplication, checkpoint selection, and both baseline stages end to end."""

from __future__ import annotations

import json
import shutil

import pytest
import yaml

from pipeline.baselines.rft import TaskStats, keep_response, select_responses
from pipeline.baselines.select import best_checkpoint, candidates
from pipeline.cli import main
from pipeline.config import read_params_files
from pipeline.errors import UserError

from ..conftest import REPO


def test_keep_rule_per_reward_kind():
    for kind in ("math", "code", "qa"):  # binary verifiers: only a correct response
        assert keep_response(1.0, kind) and not keep_response(0.0, kind)
    assert keep_response(1.0, "judge") and keep_response(0.5, "judge")  # writing: a win or a tie
    assert not keep_response(0.0, "judge")
    assert not keep_response(None, "math")  # unscorable (excluded) samples are never kept


def test_select_responses_filters_dedupes_and_counts():
    records = [{"task": "math", "id": "a", "prompt": [{"role": "user", "content": "1+1"}]},
               {"task": "math", "id": "b", "prompt": [{"role": "user", "content": "2+2"}]}]
    texts = ["x", "x", "y", "z", "p", "q", "r", "s"]
    acc = [1.0, 1.0, 1.0, 0.0, 0.0, 0.0, 0.0, None]
    stats = TaskStats()
    kept = select_responses(records, texts, acc, "math", 4, None, stats)
    assert [(e["id"], e["completion"]) for e in kept] == [("a", "x"), ("a", "y")]
    assert stats.as_dict() == {"prompts": 2, "prompts_kept": 1, "prompt_keep_rate": 0.5, "sampled": 8,
                               "correct": 3, "duplicates": 1, "kept": 2}
    capped = select_responses(records, texts, acc, "math", 4, 1, TaskStats())
    assert [e["completion"] for e in capped] == ["x"]


def test_best_checkpoint_prefers_accuracy_then_later_step():
    assert best_checkpoint([(10, 0.4), (20, 0.6), (30, 0.5)]) == 20
    assert best_checkpoint([(10, 0.6), (20, 0.6), (30, 0.5)]) == 20
    with pytest.raises(ValueError):
        best_checkpoint([])


def test_candidates_lists_snapshots_then_the_final_model(tmp_path):
    run = tmp_path / "math"
    with pytest.raises(UserError, match="not a finished training run"):
        candidates(run)
    for d in ("model", "checkpoints/step-2", "checkpoints/step-10", "checkpoints/step-4"):
        (run / d).mkdir(parents=True)
    (run / "metrics.json").write_text(json.dumps({"steps": 10}))
    assert candidates(run) == [(2, run / "checkpoints/step-2"), (4, run / "checkpoints/step-4"), (10, run / "model")]


# ---------------------------------------------------------------------------- the two stages, end to end


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """Curated data, a tiny θ0 and two single-task runs with kept snapshots (the smoke sizes)."""
    root = tmp_path_factory.mktemp("baselines")
    params = read_params_files([REPO / "params.yaml", REPO / "configs" / "smoke.yaml"])
    params["tasks"] = tasks = ["math", "writing"]
    params["train"]["overrides"] = {t: {} for t in tasks}  # every task on train.grpo's settings below
    params["ablations"] = {}  # the ablations name qa and writing
    for section in (params["data"]["tasks"], params["rewards"]["tasks"], params["train"]["overrides"]):
        for task in set(section) - set(tasks):
            del section[task]
    params["train"]["grpo"].update(max_steps=3, keep_every=1)
    params["models"].update(warmstart_steps=300, warmstart_lr=0.005)  # enough for some correct answers
    params["baselines"] = {"rft": {"samples": 4, "max_prompts": 6, "lr": 1e-3, "epochs": 2, "batch_size": 4},
                           "merge": {"lambda": 1.0, "density": 0.5}}
    path = root / "params.yaml"
    path.write_text(yaml.safe_dump(params))
    cur, models = root / "curated", root / "models"
    for task in params["tasks"]:
        assert main(["curate", "--task", task, "--out", str(cur / task), "--params", str(path)]) == 0
    assert main(["base-model", "--curated", str(cur), "--out", str(models / "base"), "--params", str(path)]) == 0
    for task in params["tasks"]:
        assert main(["train", "--mode", "single", "--task", task, "--base", str(models / "base"), "--curated",
                     str(cur), "--out", str(models / "single" / task), "--params", str(path)]) == 0
    return root, path


def test_single_task_runs_keep_snapshots_for_selection(trained):
    root, _ = trained
    run = root / "models" / "single" / "math"
    assert json.loads((run / "checkpoints" / "index.json").read_text()) == {"steps": [1, 2], "final": 3}
    assert [step for step, _ in candidates(run)] == [1, 2, 3]


def test_sft_rft_stage(trained):
    from transformers import AutoModelForCausalLM

    root, params = trained
    out = root / "models" / "sft"
    assert main(["sft-rft", "--base", str(root / "models" / "base"), "--curated", str(root / "curated"),
                 "--out", str(out), "--params", str(params)]) == 0
    stats = json.loads((out / "rft.json").read_text())
    assert set(stats["tasks"]) == {"math", "writing"}
    for s in stats["tasks"].values():
        assert s["prompts"] == 6 and s["sampled"] == 24 and s["kept"] <= s["correct"] - s["duplicates"]
    rows = [json.loads(line) for line in (out / "rft_data.jsonl").read_text().splitlines()]
    assert len(rows) == stats["examples"] == sum(s["kept"] for s in stats["tasks"].values()) > 0
    assert len({(r["id"], r["completion"]) for r in rows}) == len(rows)  # deduplicated
    tuned = AutoModelForCausalLM.from_pretrained(out / "model")
    base = AutoModelForCausalLM.from_pretrained(root / "models" / "base")
    assert any((a != b).any() for a, b in zip(tuned.parameters(), base.parameters()))


def test_merge_ties_stage(trained):
    from transformers import AutoModelForCausalLM

    root, params = trained
    out = root / "models" / "merged"
    assert main(["merge-ties", "--base", str(root / "models" / "base"), "--singles", str(root / "models" / "single"),
                 "--curated", str(root / "curated"), "--out", str(out), "--params", str(params)]) == 0
    selection = json.loads((out / "selection.json").read_text())
    assert selection["merge"] == {"method": "ties", "lambda": 1.0, "density": 0.5}
    for choice in selection["tasks"].values():
        scores = {c["step"]: c["accuracy"] for c in choice["candidates"]}
        assert sorted(scores) == [1, 2, 3]
        assert choice["selected_step"] == best_checkpoint(list(scores.items()))
    config = yaml.safe_load((out / "model" / "mergekit.yaml").read_text())
    assert [m["model"] for m in config["models"]] == [selection["tasks"][t]["path"] for t in ("math", "writing")]
    assert AutoModelForCausalLM.from_pretrained(out / "model").num_parameters() > 0


def test_merge_ties_needs_finished_runs(trained, tmp_path, capsys):
    root, params = trained
    assert main(["merge-ties", "--base", str(root / "models" / "base"), "--singles", str(tmp_path),
                 "--curated", str(root / "curated"), "--out", str(tmp_path / "m"), "--params", str(params)]) == 2
    assert "not a finished training run" in capsys.readouterr().err
    assert not (tmp_path / "m").exists()


def test_sft_rft_with_nothing_kept_warns_and_keeps_theta0(trained, tmp_path, capsys):
    import torch
    from transformers import AutoTokenizer

    from pipeline.models.tiny import build_tiny_model, load_model

    root, params = trained
    tokenizer = AutoTokenizer.from_pretrained(root / "models" / "base")
    untrained = build_tiny_model(len(tokenizer), 16, 1, 2, 1, 32, 128, 3, tokenizer)  # answers nothing right
    untrained.save_pretrained(tmp_path / "theta0")
    tokenizer.save_pretrained(tmp_path / "theta0")
    out = tmp_path / "sft"
    assert main(["sft-rft", "--base", str(tmp_path / "theta0"), "--curated", str(root / "curated"),
                 "--out", str(out), "--params", str(params)]) == 0
    assert "no response sampled" in capsys.readouterr().err
    assert json.loads((out / "rft.json").read_text())["examples"] == 0
    saved, theta0 = load_model(out / "model")[0], load_model(tmp_path / "theta0")[0]
    assert all(torch.equal(a, b) for a, b in zip(saved.state_dict().values(), theta0.state_dict().values()))


def test_rft_sampling_resumes_after_a_cut_and_keeps_what_an_uncut_run_keeps(trained, tmp_path, monkeypatch):
    """Batches of 2 prompts (3 per task, 6 in all); the job is cut during the 4th batch. The rerun samples only
    the 3 batches left and keeps exactly the responses of an uncut run (each batch's noise depends on its place)."""
    from pipeline.eval.generators import TransformersGenerator

    root, params_path = trained
    raw = yaml.safe_load(params_path.read_text())
    raw["baselines"]["rft"]["prompts_per_batch"] = 2
    params = tmp_path / "params.yaml"
    params.write_text(yaml.safe_dump(raw))
    args = ["--base", str(root / "models" / "base"), "--curated", str(root / "curated"), "--params", str(params)]
    assert main(["sft-rft", *args, "--out", str(tmp_path / "uncut")]) == 0

    real, calls = TransformersGenerator.sample, []

    def cut_at_the_fourth(self, *a, **k):
        calls.append(k.get("seed"))
        if len(calls) == 4:
            raise KeyboardInterrupt("the job is cut")
        return real(self, *a, **k)

    def counted(self, *a, **k):
        calls.append(k.get("seed"))
        return real(self, *a, **k)

    monkeypatch.setattr(TransformersGenerator, "sample", cut_at_the_fourth)
    assert main(["sft-rft", *args, "--out", str(tmp_path / "cut")]) != 0  # the CLI reports the interruption
    assert len(list((tmp_path / "cut" / "work" / "rft").rglob("batch-*.json"))) == 3
    monkeypatch.setattr(TransformersGenerator, "sample", counted)
    calls.clear()
    assert main(["sft-rft", *args, "--out", str(tmp_path / "cut")]) == 0
    assert len(calls) == 3  # the batches left, not the whole sampling again
    for name in ("rft_data.jsonl", "rft.json"):
        assert (tmp_path / "cut" / name).read_text() == (tmp_path / "uncut" / name).read_text(), name
    assert not (tmp_path / "cut" / "work").exists()

    # Another run's batches are not reused: a changed setting starts the sampling afresh.
    raw["baselines"]["rft"]["temperature"] = 0.7
    params.write_text(yaml.safe_dump(raw))
    monkeypatch.setattr(TransformersGenerator, "sample", cut_at_the_fourth)
    calls.clear()
    assert main(["sft-rft", *args, "--out", str(tmp_path / "cut")]) != 0  # the CLI reports the interruption
    raw["baselines"]["rft"]["temperature"] = 1.0
    params.write_text(yaml.safe_dump(raw))
    monkeypatch.setattr(TransformersGenerator, "sample", counted)
    calls.clear()
    assert main(["sft-rft", *args, "--out", str(tmp_path / "cut")]) == 0
    assert len(calls) == 6
    assert (tmp_path / "cut" / "rft_data.jsonl").read_text() == (tmp_path / "uncut" / "rft_data.jsonl").read_text()


def test_train_keeps_a_run_already_finished_in_its_folder_and_retrains_a_changed_one(trained, tmp_path, capsys):
    root, params = trained
    run = root / "models" / "single" / "math"
    out = tmp_path / "math"
    shutil.copytree(run, out)
    before = (out / "model" / "model.safetensors").stat().st_mtime_ns
    capsys.readouterr()
    args = ["train", "--mode", "single", "--task", "math", "--base", str(root / "models" / "base"), "--curated",
            str(root / "curated"), "--out", str(out)]
    assert main([*args, "--params", str(params)]) == 0
    assert "already trained there" in capsys.readouterr().out
    assert (out / "model" / "model.safetensors").stat().st_mtime_ns == before
    changed = yaml.safe_load(params.read_text())
    changed["train"]["grpo"]["lr"] = changed["train"]["grpo"]["lr"] * 2
    (tmp_path / "changed.yaml").write_text(yaml.safe_dump(changed))
    assert main([*args, "--params", str(tmp_path / "changed.yaml")]) == 0
    assert "already trained" not in capsys.readouterr().out
    assert (out / "model" / "model.safetensors").stat().st_mtime_ns != before


def test_a_run_retried_after_it_finished_resumes_at_its_end(trained, tmp_path, capsys):
    """Slurm marks a job that ends after its time limit TIMEOUT even when it succeeded; Snakemake then removes the
    declared outputs and runs the job again. The run's final resumable state stays in OUT/work (not an output), so
    the retry resumes at the last step, trains nothing, and writes the same outputs."""
    root, smoke = trained
    raw = yaml.safe_load(smoke.read_text())
    raw["train"]["grpo"]["checkpoint_every"] = 2  # steps 2 and 3 (the last) saved
    params = tmp_path / "params.yaml"
    params.write_text(yaml.safe_dump(raw))
    out = tmp_path / "math"
    args = ["train", "--mode", "single", "--task", "math", "--base", str(root / "models" / "base"), "--curated",
            str(root / "curated"), "--out", str(out), "--params", str(params)]
    assert main(args) == 0
    assert (out / "work").is_dir()  # the finished run left its final state
    outputs = {p.relative_to(out): p.read_bytes() for p in out.rglob("*")
               if p.is_file() and "work" not in p.relative_to(out).parts and p.name != "timings.json"}
    for declared in ("model", "checkpoints"):
        shutil.rmtree(out / declared)
    for declared in ("log.jsonl", "metrics.json"):
        (out / declared).unlink()
    capsys.readouterr()
    assert main(args) == 0
    assert "GRPO: resuming at step 3 of 3" in capsys.readouterr().err
    again = {p.relative_to(out): p.read_bytes() for p in out.rglob("*")
             if p.is_file() and "work" not in p.relative_to(out).parts and p.name != "timings.json"}
    assert sorted(again) == sorted(outputs)
    assert [str(k) for k in outputs if again[k] != outputs[k]] == []


def test_ablate_temperature_stage(trained, tmp_path):
    """Table 2's stage on its own (it ran only inside the DAG test before): a single-task run at another rollout
    temperature, trained as train_single's but for it, and evaluated on every task's test split."""
    import pandas as pd

    root, params = trained
    raw = yaml.safe_load(params.read_text())
    raw["ablations"] = {"temperature": {"runs": {"math": 0.5}}}
    ablation = tmp_path / "params.yaml"
    ablation.write_text(yaml.safe_dump(raw))
    out = tmp_path / "ablation"
    assert main(["ablate-temperature", "--base", str(root / "models" / "base"), "--curated", str(root / "curated"),
                 "--out", str(out), "--params", str(ablation)]) == 0
    acc = pd.read_csv(out / "accuracies.csv")
    assert list(acc.trained_on) == ["math@0.5", "math@0.5"] and list(acc.evaluated_on) == ["math", "writing"]
    assert set(acc.split) == {"test"} and (acc.temperature == 0.5).all() and acc.accuracy_greedy.between(0, 1).all()
    assert len((out / "units.jsonl").read_text().splitlines()) == 2
    log = [json.loads(line) for line in (out / "runs" / "math@0.5" / "log.jsonl").read_text().splitlines()]
    single = [json.loads(line) for line in (root / "models/single/math/log.jsonl").read_text().splitlines()]
    assert len(log) == len(single) == 3  # train_single's schedule, at another temperature

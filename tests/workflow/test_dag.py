"""Snakemake and DVC describe the same stages, and both really run them."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from pipeline.data.schema import read_split
from pipeline.workflow.render import RESOLVED_PARAMS

from ..smoke import ENV, REPO, copy_tree
from ..smoke import copy_repo as _copy_repo
from ..smoke import run as _run

LOG_REDIRECT = re.compile(r"\s*>\s*\S+\s+2>&1\s*$")

pytestmark = pytest.mark.skipif(shutil.which("snakemake", path=ENV["PATH"]) is None
                                or shutil.which("dvc", path=ENV["PATH"]) is None,
                                reason="snakemake and dvc come with the [dev] extra")


def snakemake_jobs(cwd: Path = REPO, extra: list[str] | None = None) -> dict[str, dict[str, object]]:
    """Jobs of a forced dry run (``rule@wildcard`` like DVC's foreach), with inputs, outputs and command."""
    out = _run(["snakemake", "--dry-run", "--forceall", "--printshellcmds", "--cores", "1", *(extra or [])], cwd).stdout
    jobs: dict[str, dict[str, object]] = {}
    for block in re.split(r"\n(?=(?:local)?rule \w+:)", out):
        head = re.match(r"(?:local)?rule (\w+):", block)
        if not head or head.group(1) == "all":
            continue
        field = lambda name, block=block: set(re.search(rf"^\s+{name}: (.*)$", block, re.M).group(1).split(", "))  # noqa: E731
        wildcards = re.search(r"^\s+wildcards: (.*)$", block, re.M)
        name = head.group(1) + ("@" + "-".join(v.split("=")[1] for v in wildcards.group(1).split(", "))
                                if wildcards else "")  # DVC's names: stage@seed-task
        cmd = re.search(r"^Shell command: (.*)$", block, re.M).group(1)
        jobs[name] = {"inputs": field("input"), "outputs": field("output"), "cmd": LOG_REDIRECT.sub("", cmd)}
    return jobs


def dvc_stages(cwd: Path = REPO) -> dict[str, dict[str, object]]:
    """DVC's own resolved stages (foreach expanded), code folders expanded to their .py files."""
    from dvc.repo import Repo

    result = {}
    for stage in Repo(str(cwd)).index.stages:
        deps: set[str] = set()
        for dep in stage.deps:
            rel = str(dep.def_path)
            if rel == "params.yaml":  # DVC's params dependency; Snakemake tracks params through `params:`
                continue
            path = cwd / rel
            code = rel.startswith("pipeline") and path.is_dir()
            deps |= {str(p.relative_to(cwd)) for p in path.rglob("*.py")} if code else {rel}
        result[stage.addressing] = {"inputs": deps, "outputs": {str(o.def_path) for o in stage.outs},
                                    "cmd": stage.cmd}
    return result


def test_snakemake_and_dvc_declare_the_same_stages():
    snake, dvc = snakemake_jobs(), dvc_stages()
    assert set(snake) == set(dvc)
    for name in snake:
        # Snakemake's stages read the configuration it was started with, resolved (workflow_rules/common.smk).
        assert snake[name]["cmd"] == dvc[name]["cmd"].replace("--params params.yaml", f"--params {RESOLVED_PARAMS}"), name
        assert snake[name]["outputs"] == dvc[name]["outputs"], name
        s_in, d_in = snake[name]["inputs"], dvc[name]["inputs"]
        # DVC may name a data folder where Snakemake lists the files in it; both must cover each other.
        under = lambda path, deps: any(path == d or path.startswith(d.rstrip("/") + "/") for d in deps)  # noqa: E731
        assert all(under(p, d_in) for p in s_in), (name, sorted(s_in - d_in))
        assert all(d in s_in or any(under(p, {d}) for p in s_in) for d in d_in), (name, sorted(d_in - s_in))


def test_slurm_profile_resolves_from_the_repo_root_and_holds_site_settings_only():
    """`snakemake --cores all --profile slurm`, as typed: the profile is ./slurm, the executor is the Slurm
    plugin, every rule but the local ones becomes a cluster job, and what a job asks for comes from the rules
    (params; tests/workflow/test_resources.py), so the profile has no per-rule requests to keep in step."""
    pytest.importorskip("snakemake_executor_plugin_slurm")
    out = _run(["snakemake", "--cores", "all", "--profile", "slurm", "--dry-run", "--forceall"], REPO).stdout
    rules = set(re.findall(r"^(?:local)?rule (\w+):", out, re.M))
    assert rules >= {"train_single", "train_curriculum", "train_joint", "evaluate_final", "report"}
    local = re.search(r"^localrules:\n((?:\s+\w+,\n)+)", (REPO / "workflow_rules" / "stages.smk").read_text(), re.M).group(1)
    assert set(re.findall(r"\w+", local)) == {"all", "order", "report"}  # cheap, run where snakemake runs
    profile = render_profile({})
    assert profile["executor"] == "slurm" and profile["slurm-status-command"] == "squeue"
    assert "set-resources" not in profile and "default-resources" not in profile  # unset: the cluster's defaults
    # Site values come from the environment, without editing the profile or the rules.
    site = render_profile({"OMNI_SLURM_PARTITION": "gpu", "OMNI_SLURM_ACCOUNT": "proj"})
    assert site["default-resources"] == {"slurm_partition": "gpu", "slurm_account": "proj"}
    paper = subprocess.run(["snakemake", "--cores", "all", "--profile", "slurm", "--configfile", "configs/paper.yaml",
                            "--dry-run", "--forceall", "data/models/joint/seed0/model"], cwd=REPO,
                           env={**ENV, "OMNI_SLURM_GPU_MODEL": "h100"}, capture_output=True, text=True)
    assert paper.returncode == 0, paper.stderr[-3000:]
    assert re.search(r"rule train_joint:(?:\n\s+.*)*?\n\s+resources: .*gres=gpu:h100:8", paper.stdout), paper.stdout[-3000:]


def render_profile(env: dict[str, str]) -> dict:
    """slurm/config.yaml as Snakemake reads it (a YTE template rendered with ``env`` in the environment)."""
    import yte

    saved = {k: os.environ.pop(k) for k in list(os.environ) if k.startswith("OMNI_SLURM_")}
    os.environ.update(env)
    try:
        with (REPO / "slurm" / "config.yaml").open() as fh:
            return yte.process_yaml(fh, require_use_yte=True)
    finally:
        for k in env:
            os.environ.pop(k, None)
        os.environ.update(saved)


def test_a_profile_overlay_and_a_copied_profile_run_the_same_stages(tmp_path):
    """`snakemake --configfile configs/smoke.yaml` on the shipped params.yaml and plain `snakemake` on the profile
    resolved into params.yaml: the same jobs, the same commands, the same configuration read by every stage."""
    from pipeline.config import load_params

    overlay = _copy_repo(tmp_path / "overlay", smoke=False)
    copied = _copy_repo(tmp_path / "copied", smoke=True)
    jobs_overlay = snakemake_jobs(overlay, extra=["--configfile", "configs/smoke.yaml"])
    jobs_copied = snakemake_jobs(copied)
    assert jobs_overlay == jobs_copied
    assert load_params(overlay / RESOLVED_PARAMS) == load_params(copied / RESOLVED_PARAMS) == \
        load_params([REPO / "params.yaml", REPO / "configs" / "smoke.yaml"])
    assert load_params(overlay / RESOLVED_PARAMS).models.hidden == 32  # the profile's value, not params.yaml's
    # Without the overlay, the stages read the embedded default.
    snakemake_jobs(overlay)
    assert load_params(overlay / RESOLVED_PARAMS) == load_params(REPO / "params.yaml")


def test_snakemake_lint_passes():
    proc = subprocess.run(["snakemake", "--lint"], cwd=REPO, env=ENV, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def _set(path: Path, key: str, value) -> None:
    """Set dotted ``key`` of a params file (a full file or an overlay) to ``value``."""
    import yaml

    data = yaml.safe_load(path.read_text()) or {}
    node = data
    *parents, leaf = key.split(".")
    for part in parents:
        node = node.setdefault(part, {})
    node[leaf] = value
    path.write_text(yaml.safe_dump(data, sort_keys=False))


def _get(path: Path, key: str):
    import yaml

    node = yaml.safe_load(path.read_text())
    for part in key.split("."):
        node = node[part]
    return node


SMOKE = ["--configfile", "configs/smoke.yaml"]


@pytest.mark.slow
def test_the_smoke_dag_through_dvc_fills_every_table_and_figure(smoke_dag, tmp_path):
    """The session's smoke DAG (`dvc repro` of the profile resolved into params.yaml): every stage ran for both
    replicas, the report is complete, DVC's metrics and plots read it, and a second repro does nothing."""
    dvc = smoke_dag
    report = json.loads((dvc / "data/order/curriculum.json").read_text())
    assert sorted(report["order"]) == ["coding", "math", "qa", "writing"]
    summary = (dvc / "data/report/summary.md").read_text()
    for heading in ("Table 1", "Table 2", "Figure 3", "BWT (val)", "BWT (test)", "Table 3", "The headline claims",
                    "Table 4"):
        assert f"## {heading}" in summary, heading
    metrics = json.loads((dvc / "data/report/details.json").read_text())
    assert set(metrics["headline"]) == {"CL vs JT", "CL vs MM"}
    assert all(h["gain"] is None or h["se"] >= 0 for h in metrics["headline"].values())
    spearman = metrics["table4"]["spearman_val_test"]
    assert (spearman is None) == (metrics["no_signal"] is not None) and (spearman is None or -1 <= spearman <= 1)
    assert len(metrics["figure3"]) == 4  # trained × evaluated answer formats on qa's test split
    # Two replicas (the smoke profile's seeds): every per-seed stage ran for each, the report averaged them.
    assert metrics["seeds"] == [0, 1] and "Replicas: 2 training seeds" in summary
    assert set(metrics["test_accuracy_sd"]) == {"Base", "ST×K", "SFT", "MM", "JT", "CL"}
    for seed in (0, 1):
        assert (dvc / f"data/models/curriculum/seed{seed}/model/config.json").exists()
        validation = json.loads((dvc / f"data/validate/seed{seed}/validation.json").read_text())
        assert len(validation["orders"]) == 3  # best, worst and one drawn at random
        for split in ("val", "test"):  # the smoke profile's pair runs: both predictors scored on the same orders
            assert {"algorithm1", "pairwise", "pairwise_loo", "fitted_scales"} == set(validation["errors"][split])
        pairs = pd.read_csv(dvc / f"data/pairs/seed{seed}/accuracies.csv")
        assert len(pairs) == 12 * 4 * 2  # K(K − 1) pairs × K tasks × val and test
    assert "## The curriculum predictors on the 3 trained orders" in summary
    assert set(metrics["predictors"]) == {"val", "test"}
    assert "pairwise_rank" in pd.read_csv(dvc / "data/order/curricula.csv").columns
    for png in ("figure1", "figure3", "bwt_val", "bwt_test", "entropy_change", "training_curves"):
        assert (dvc / "data/report" / f"{png}.png").read_bytes()[:4] == b"\x89PNG", png
    # The smoke profile's benchmarks (our fixtures): θ0 and every single-task model on each (benchmark_transfer, whose
    # domain averages are order's split `benchmarks`), the final models beside them in Table 1 on the benchmarks.
    transfer = pd.read_csv(dvc / "data/eval/benchmark_transfer/seed1/accuracies.csv")
    assert len(transfer) == 5 * 3 and set(transfer.split) == {"benchmarks"}  # θ0 + 4 single-task models × 3 domains
    bench_table = pd.read_csv(dvc / "data/report/table1_benchmarks.csv", index_col=[0, 1])
    assert list(bench_table.columns) == ["Base", "ST×K", "SFT", "MM", "JT", "CL"]
    assert ("qa", "mmlu_pro") in bench_table.index and ("coding", "livecodebench") in bench_table.index
    table1 = pd.read_csv(dvc / "data/report/table1.csv", index_col=0)
    assert list(table1.columns) == ["Base", "ST×K", "SFT", "MM", "JT", "CL"] and not table1.isna().any().any()
    shown = _run(["dvc", "metrics", "show"], dvc).stdout  # the report's comparison metrics, nothing else
    assert "data/report/metrics.json" in shown and "curriculum.json" not in shown and "validation.json" not in shown
    columns = _run(["dvc", "exp", "show", "--csv", "--drop", ".*", "--keep", EXP_SHOW_KEEP], dvc).stdout
    assert len(columns.splitlines()[0].split(",")) <= 16, columns.splitlines()[0]  # docs/dag.md's line: a terminal
    _run(["dvc", "plots", "show", "-o", str(tmp_path / "plots")], dvc)
    assert (tmp_path / "plots" / "index.html").exists()
    assert "Running stage" not in _run(["dvc", "repro"], dvc).stdout  # a second repro does nothing


EXP_SHOW_KEEP = "Experiment|average|headline|curriculum|no_signal"
"""docs/dag.md's `dvc exp show --drop '.*' --keep '…'`: the columns that compare experiments."""


def _dry(root: Path) -> list[str]:
    """The stages `dvc repro` would run if every changed stage's outputs changed (``--dry --force-downstream``:
    the stages whose dependencies changed, then all that depend on them), in the order it would run them."""
    return re.findall(r"Running stage '([^']+)'", _run(["dvc", "repro", "--dry", "--force-downstream"], root).stdout)


@pytest.mark.slow
def test_a_change_reruns_in_dvc_only_what_depends_on_it(smoke_dag, tmp_path):
    """On a copy of the session's smoke DAG: which stages each kind of change reruns (dry, as the DAG's shape
    decides it), and for real where it is cheap: a code edit and one task's training."""
    dvc = copy_tree(smoke_dag, tmp_path / "dvc")
    params = dvc / "params.yaml"
    resolved = params.read_text()
    # The order method: `order` and everything downstream of it.
    _set(params, "order.method", "greedy")
    rerun = _dry(dvc)
    assert rerun[0] == "order" and set(rerun) == {"order", *replicas(DOWNSTREAM_OF_ORDER - {"report"}), "report"}
    params.write_text(resolved)
    # One task's data parameter reruns that task's curation and everything downstream of θ0 (which is
    # trained on every task's data), but no other task's curation.
    _set(params, "data.tasks.math.pretrain_n", _get(params, "data.tasks.math.pretrain_n") + 1)
    rerun = _dry(dvc)
    assert rerun[:2] == ["curate@math", "base_model"] and not [s for s in rerun if s.startswith("curate@")][1:]
    params.write_text(resolved)
    # One task's GRPO parameter reruns only that task's training and its consumers.
    _set(params, "train.overrides.math.lr", 0.0002)
    rerun = _dry(dvc)
    math_runs = {"train_single@0-math", "train_single@1-math"}
    assert set(rerun[:2]) == math_runs and set(rerun) <= {*math_runs, *replicas(CONSUMERS_OF_A_TASK_RUN)}
    assert "evaluate_transfer@0" in rerun and "merge_ties@1" in rerun  # they read the run's folder, log included
    params.write_text(resolved)
    # One task's reward weight: `dvc status` names that task's single-task runs, never another task's (a run
    # reads its own rewards.tasks.<task> and the shared verifier and judge settings only).
    _set(params, "rewards.tasks.math.weights.format", 0.2)
    changed = set(re.findall(r"^(\S+):$", _run(["dvc", "status"], dvc).stdout, re.M))
    singles = {s for s in changed if s.startswith("train_single@")}
    assert singles == math_runs, changed
    params.write_text(resolved)
    # A fifth task (a second arithmetic task), curated for real: its own stages are new, θ0's stage sees the new
    # data, and the four tasks' single-task runs stay up to date (they rerun only if θ0's weights change, as they
    # do in the embedded default, which warm-starts θ0 on every task's data).
    fifth = yaml.safe_load(resolved)
    fifth["tasks"].append("arith")
    fifth["data"]["tasks"]["arith"] = {**fifth["data"]["tasks"]["math"], "n": 60}
    fifth["rewards"]["tasks"]["arith"] = fifth["rewards"]["tasks"]["math"]
    fifth["train"]["overrides"]["arith"] = {}
    params.write_text(yaml.safe_dump(fifth, sort_keys=False))
    _run(["dvc", "repro", "--single-item", "curate@arith"], dvc, timeout=600)
    changed = set(re.findall(r"^(\S+):$", _run(["dvc", "status"], dvc).stdout, re.M))
    assert "base_model" in changed and {"train_single@0-arith", "train_single@1-arith"} <= changed, changed
    assert not {s for s in changed if s.startswith(("train_single@", "curate@")) and not s.endswith("arith")}, changed
    params.write_text(resolved)
    shutil.rmtree(dvc / "data/curated/arith")
    # A module that `order` imports only indirectly (commands/order → analysis/ordering → analysis/bounds):
    # editing it reruns `order`, for real; its outputs come out byte-identical, so nothing after it runs.
    module = dvc / "pipeline" / "analysis" / "bounds.py"
    module.write_text(module.read_text() + "\n# an edit\n")
    status = _run(["dvc", "status"], dvc).stdout
    assert re.findall(r"^(\S+):$", status, re.M) == ["order"], status
    rerun = re.findall(r"Running stage '([^']+)'", _run(["dvc", "repro"], dvc, timeout=600).stdout)
    assert rerun[0] == "order" and set(rerun) <= {"order", *replicas(DOWNSTREAM_OF_ORDER - {"report"}), "report"}
    # The math runs retrained for real with another learning rate: DVC's status then names their consumers, and
    # nothing else, as changed (their weights, and the train.overrides they read as params).
    _set(params, "train.overrides.math.lr", 0.0002)
    _run(["dvc", "repro", "--single-item", *sorted(math_runs)], dvc, timeout=600)
    changed = set(re.findall(r"^(\S+):$", _run(["dvc", "status"], dvc).stdout, re.M))
    direct = {"evaluate_transfer@0", "merge_ties@0", "train_joint@0", "train_pairs@0", "ablate_temperature@0"}
    assert direct <= changed <= replicas(CONSUMERS_OF_A_TASK_RUN), changed


@pytest.mark.slow
def test_snakemake_agrees_with_dvc_on_the_same_outputs(smoke_dag, tmp_path):
    """Snakemake started on DVC's finished run, the smoke profile as an overlay on the shipped params.yaml (what a
    Snakemake user types): nothing to do. Once it has recorded its metadata for those outputs, each kind of change
    reruns the same jobs as in DVC (dry). Forced to run
    `order` and the curations again, it writes the very bytes DVC wrote, and DVC then finds nothing changed (the
training and evaluation stages through Snakemake are compared with this run in tests/slurm)."""
    snake = copy_tree(smoke_dag, tmp_path / "snake")
    resolved = (snake / "params.yaml").read_text()
    (snake / "params.yaml").write_text((REPO / "params.yaml").read_text())
    done = _run(["snakemake", "--cores", "1", *SMOKE], snake)
    assert "Nothing to be done" in done.stdout + done.stderr
    # Snakemake adopts the outputs DVC made: `--touch --forceall` records its metadata (each job's params, code and
    # inputs) without running a job, so that its params and code triggers see the changes below.
    _run(["snakemake", "--touch", "--forceall", "--cores", "1", *SMOKE], snake)
    # The same parameter change as in DVC, in the profile: the same jobs (params trigger), nothing else.
    overlay = snake / "configs" / "smoke.yaml"
    _set(overlay, "train.overrides.math.lr", 0.0002)
    dry = _run(["snakemake", "--dry-run", "--cores", "1", *SMOKE], snake).stdout
    assert set(re.findall(r"^rule (\w+):", dry, re.M)) - {"all"} == {"train_single", *CONSUMERS_OF_A_TASK_RUN}
    assert sorted(re.findall(r"^\s+wildcards: seed=(\d), task=(\w+)", dry, re.M)) == [("0", "math"), ("1", "math")]
    # One task's reward weight: that task's single-task runs, no other task's (and the stages that score every task).
    overlay.write_text(_read_smoke())
    _set(overlay, "rewards.tasks.math.weights.format", 0.2)
    dry = _run(["snakemake", "--dry-run", "--cores", "1", *SMOKE], snake).stdout
    assert sorted(re.findall(r"^\s+wildcards: seed=(\d), task=(\w+)", dry, re.M)) == [("0", "math"), ("1", "math")]
    # A third seed (the math change reverted): the new replica's jobs, then `order` and what follows it; the
    # existing replicas' jobs before `order` are not rerun.
    overlay.write_text(_read_smoke())
    _set(overlay, "seeds", [0, 1, 2])
    dry = _run(["snakemake", "--dry-run", "--cores", "1", *SMOKE], snake).stdout
    before_order = {"train_single", "evaluate_transfer", "benchmark_transfer", "sft_rft", "merge_ties",
                    "train_joint", "train_pairs", "ablate_temperature", "ablate_format"}
    jobs = [(m.group(1), seed.group(1)) for block in re.split(r"\n(?=(?:local)?rule \w+:)", dry)
            if (m := re.match(r"(?:local)?rule (\w+):", block)) and (seed := re.search(r"wildcards: seed=(\d)", block))]
    assert {rule for rule, seed in jobs if seed != "2"} <= set(DOWNSTREAM_OF_ORDER), jobs
    assert {rule for rule, seed in jobs if seed == "2"} >= before_order, jobs
    # The order method: `order` and everything downstream, nothing upstream.
    overlay.write_text(_read_smoke())
    _set(overlay, "order.method", "greedy")
    dry = _run(["snakemake", "--dry-run", "--cores", "1", *SMOKE], snake).stdout
    assert set(re.findall(r"^rule (\w+):", dry, re.M)) - {"all"} == {"order", *DOWNSTREAM_OF_ORDER}
    # A module that `order` imports only indirectly: `order` and its dependents, nothing else.
    overlay.write_text(_read_smoke())
    module = snake / "pipeline" / "analysis" / "bounds.py"
    original = module.read_text()
    module.write_text(original + "\n# an edit\n")
    dry = _run(["snakemake", "--dry-run", "--cores", "1", *SMOKE], snake).stdout
    assert set(re.findall(r"^rule (\w+):", dry, re.M)) - {"all"} == {"order", *DOWNSTREAM_OF_ORDER}
    module.write_text(original)
    # Real runs through Snakemake, `order` and then the curations (each alone): the same bytes as DVC's run.
    _run(["snakemake", "--cores", "1", *SMOKE, "--forcerun", "order", "--until", "order"], snake, timeout=600)
    for name in ("bwt.csv", "curricula.csv", "curriculum.json", "entropy_change.csv"):
        assert (snake / "data/order" / name).read_bytes() == (smoke_dag / "data/order" / name).read_bytes(), name
    _run(["snakemake", "--cores", "1", *SMOKE, "--forcerun", "curate", "--until", "curate"], snake, timeout=600)
    for task in ("math", "coding", "qa", "writing"):
        assert (snake / f"data/curated/{task}/stats.json").read_bytes() == \
            (smoke_dag / f"data/curated/{task}/stats.json").read_bytes(), task
        for split in ("train", "val", "test", "pretrain"):
            rel = f"data/curated/{task}/{split}.parquet"
            assert read_split(snake / rel) == read_split(smoke_dag / rel), rel
    # Back to the resolved profile for DVC: the outputs Snakemake rewrote hash the same, so nothing to do.
    (snake / "params.yaml").write_text(resolved)
    assert "up to date" in _run(["dvc", "status"], snake).stdout
    # docs/dag.md's sequence for both tools in one workspace: `dvc commit` records Snakemake's outputs (relinking
    # them from DVC's cache changes their modification times, so Snakemake would rerun most jobs); `snakemake
    # --touch` then marks them current again, and neither tool has anything to do.
    _run(["dvc", "commit", "--force"], snake, timeout=600)
    _run(["snakemake", "--touch", "--cores", "1", *SMOKE], snake, timeout=600)
    done = _run(["snakemake", "--dry-run", "--cores", "1", *SMOKE], snake)
    assert "Nothing to be done" in done.stdout + done.stderr, done.stdout[-3000:]
    assert "up to date" in _run(["dvc", "status"], snake).stdout


def replicas(stages: set[str], seeds: tuple[int, ...] = (0, 1)) -> set[str]:
    """DVC's names of ``stages`` for every replica of the smoke profile (``order`` and ``report`` have none)."""
    return {s if s in ("order", "report") else f"{s}@{seed}" for s in stages for seed in seeds}


def _read_smoke() -> str:
    return (REPO / "configs" / "smoke.yaml").read_text()


DOWNSTREAM_OF_ORDER = {"train_curriculum", "validate_predictions", "evaluate_final", "evaluate_benchmarks", "report"}
CONSUMERS_OF_A_TASK_RUN = {"evaluate_transfer", "order", "merge_ties", "train_curriculum", "train_joint", "train_pairs",
                           "validate_predictions", "evaluate_final", "evaluate_benchmarks", "report",
                           "ablate_temperature", "ablate_format", "benchmark_transfer"}
"""A task's GRPO settings also drive its curriculum segment and its prompts in the joint run; the ablations read
all of train.overrides (which tasks they train is itself a parameter), and ablate_format reads the single-task
models."""


def test_invalid_params_stop_snakemake(tmp_path):
    root = _copy_repo(tmp_path / "repo")
    params = root / "params.yaml"
    params.write_text(params.read_text().replace("floor: 0.001", "floor: -1"))
    assert "floor: -1" in params.read_text()
    proc = subprocess.run(["snakemake", "--dry-run", "--cores", "1"], cwd=root, env=ENV, capture_output=True, text=True)
    assert proc.returncode != 0
    assert "order.floor" in proc.stdout + proc.stderr


def test_timings_beside_outputs_change_no_hash(tmp_path):
    """Stages write wall-clock timings to timings.json / timings.jsonl beside their outputs; the project's
    .dvcignore keeps them out of every hash, so a rerun that only changes them leaves `dvc status` clean."""
    import shutil
    import subprocess

    dvc = shutil.which("dvc") or str(Path(sys.executable).parent / "dvc")
    shutil.copy(REPO / ".dvcignore", tmp_path / ".dvcignore")
    (tmp_path / "dvc.yaml").write_text(
        "stages:\n  s:\n    cmd: mkdir -p out && echo 1 > out/model && echo 3.2 > out/timings.json\n"
        "    outs: [out]\n  t:\n    cmd: cat out/model > used\n    deps: [out]\n    outs: [used]\n")
    env = {**os.environ, "DVC_NO_ANALYTICS": "1"}
    for cmd in (["init", "--no-scm", "-q"], ["repro", "-q"]):
        subprocess.run([dvc, *cmd], cwd=tmp_path, check=True, env=env, capture_output=True, timeout=300)
    (tmp_path / "out" / "timings.json").write_text("9.9\n")  # what a rerun on another machine writes
    status = subprocess.run([dvc, "status"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert "up to date" in status.stdout, status.stdout
    (tmp_path / "out" / "model").write_text("2\n")  # a real change is still seen
    status = subprocess.run([dvc, "status"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert "modified" in status.stdout, status.stdout

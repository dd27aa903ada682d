"""Each stage's Slurm request follows the run's params (pipeline/workflow/resources.py): the embedded default
asks for CPU jobs only; configs/paper.yaml asks for verl's nodes × GPUs, vLLM's GPUs, and slurm's CPUs,
memory and time. The last test renders the Slurm profile with Snakemake itself (a dry run) and checks what
each job would be submitted with."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from pipeline.config import load_params, parse_params
from pipeline.errors import UserError
from pipeline.workflow.resources import all_stage_resources, check_stage_names, stage_resources
from pipeline.workflow.stages import STAGES, stage

from ..smoke import ENV, REPO
from ..smoke import copy_repo as _copy_repo

PAPER = [REPO / "params.yaml", REPO / "configs" / "paper.yaml"]
VERL_TRAINING = {"train_single", "train_curriculum", "train_joint", "validate_predictions"}
VLLM_EVALUATION = {"evaluate_transfer", "evaluate_final", "evaluate_benchmarks", "merge_ties"}


def test_the_embedded_default_asks_for_cpu_jobs_only():
    params = load_params(REPO / "params.yaml")
    requests = all_stage_resources(params)
    assert set(requests) == {s.name for s in STAGES if s.resources != "local"}
    for name, request in requests.items():
        assert request == {"nodes": 1, "cpus_per_task": 1, "mem_mb": 4096, "runtime": 60, "tasks": 1}, name


def test_paper_scale_requests_follow_train_verl_and_eval_vllm():
    params = load_params(PAPER)
    verl, slurm = params.train.verl, params.slurm
    assert (verl.nnodes, verl.n_gpus_per_node) == (4, 8)
    for name in VERL_TRAINING:
        r = stage_resources(stage(name), params)
        hours = (slurm.stages[name].hours if name in slurm.stages and slurm.stages[name].hours
                 else slurm.gpu_hours["gpu_train"])
        assert r == {"nodes": 4, "gres": "gpu:8", "slurm_extra": "--ntasks-per-node=1", "cpus_per_task": 8 * 8,
                     "mem_mb": 64 * 8 * 1024, "runtime": round(hours * 60)}, name
    for name in VLLM_EVALUATION:
        r = stage_resources(stage(name), params)
        assert r["nodes"] == 1 and r["gres"] == f"gpu:{params.eval.vllm.tensor_parallel_size}", name
    sft = stage_resources(stage("sft_rft"), params)
    assert (sft["nodes"], sft["gres"], sft["runtime"]) == (1, "gpu:8", 24 * 60)
    assert stage_resources(stage("train_curriculum"), params)["runtime"] == 96 * 60  # slurm.stages
    assert stage_resources(stage("merge_ties"), params)["mem_mb"] == 256 * 1024
    assert "gres" not in stage_resources(stage("curate"), params)
    assert stage_resources(stage("train_single"), params, gpu_model="h100")["gres"] == "gpu:h100:8"


def test_the_shape_follows_the_params_not_the_profile():
    data = load_params(PAPER).model_dump(mode="json", by_alias=True)
    data["train"]["verl"].update(nnodes=2, n_gpus_per_node=4)
    data["eval"]["vllm"]["tensor_parallel_size"] = 2
    data["slurm"] = {"cpus_per_gpu": 4, "mem_gb_per_gpu": 32}
    params = parse_params(data)
    train = stage_resources(stage("train_joint"), params)
    assert (train["nodes"], train["gres"], train["cpus_per_task"], train["mem_mb"]) == (2, "gpu:4", 16, 128 * 1024)
    assert stage_resources(stage("evaluate_final"), params)["gres"] == "gpu:2"
    data["eval"]["backend"] = "transformers"
    data["train"]["backend"] = "local"
    assert "gres" not in stage_resources(stage("train_joint"), parse_params(data))
    assert "gres" not in stage_resources(stage("evaluate_final"), parse_params(data))


def test_a_stage_whose_work_is_switched_off_asks_for_no_gpu():
    """configs/paper.yaml leaves the pair runs off (train_pairs writes empty tables): a CPU job, not 4 nodes of
    8 GPUs for 48 hours; switched on, the verl training request. The ablations alike."""
    data = load_params(PAPER).model_dump(mode="json", by_alias=True)
    assert data["pairs"]["enabled"] is False
    assert "gres" not in stage_resources(stage("train_pairs"), parse_params(data))
    assert stage_resources(stage("ablate_temperature"), parse_params(data))["gres"] == "gpu:8"  # paper: runs set
    data["pairs"]["enabled"] = True
    data["ablations"]["temperature"]["runs"] = {}
    data["ablations"]["answer_format"]["task"] = None
    on = parse_params(data)
    assert stage_resources(stage("train_pairs"), on)["gres"] == "gpu:8"
    assert "gres" not in stage_resources(stage("ablate_temperature"), on)
    assert "gres" not in stage_resources(stage("ablate_format"), on)


def test_an_unknown_stage_in_slurm_stages_is_one_line():
    data = load_params(REPO / "params.yaml").model_dump(mode="json", by_alias=True)
    data["slurm"] = {"stages": {"train_singel": {"hours": 3}, "order": {"hours": 1}}}
    with pytest.raises(UserError, match=r"slurm.stages: unknown stage\(s\) order, train_singel; cluster stages"):
        check_stage_names(parse_params(data))


def _dry_run_resources(cwd, *args) -> dict[str, dict[str, str]]:
    """rule → the resources Snakemake prints for its (first) job in a forced dry run."""
    out = subprocess.run(["snakemake", "--dry-run", "--forceall", *args], cwd=cwd, env=ENV, capture_output=True,
                         text=True)
    assert out.returncode == 0, out.stderr[-3000:] + out.stdout[-3000:]
    found: dict[str, dict[str, str]] = {}
    for block in re.split(r"\n(?=(?:local)?rule \w+:)", out.stdout):
        rule = re.match(r"(?:local)?rule (\w+):", block)
        res = re.search(r"^\s+resources: (.+)$", block, re.M)
        if rule and res and rule.group(1) not in found:
            found[rule.group(1)] = dict(item.split("=", 1) for item in res.group(1).split(", "))
    return found


@pytest.mark.skipif(shutil.which("snakemake", path=ENV["PATH"]) is None, reason="snakemake comes with [dev]")
def test_the_slurm_profile_renders_each_gpu_stage_from_paper_yaml(tmp_path):
    """`snakemake --profile slurm --configfile configs/paper.yaml`, dry: every GPU stage's job carries its
    nodes, gres, CPUs, memory and time as derived from the paper profile's params; evaluate_benchmarks too."""
    repo = _copy_repo(tmp_path / "repo", smoke=False)
    printed = _dry_run_resources(repo, "--profile", "slurm", "--configfile", "configs/paper.yaml")
    params = load_params(PAPER)
    gpu_stages = VERL_TRAINING | VLLM_EVALUATION | {"sft_rft"}
    assert gpu_stages <= set(printed)
    for name in gpu_stages:
        expected = stage_resources(stage(name), params)
        assert {k: printed[name].get(k) for k in expected} == {k: str(v) for k, v in expected.items()}, name
    assert "gres" not in printed["curate"] and "gres" not in printed["base_model"]
    default = _dry_run_resources(repo, "--profile", "slurm")
    assert not any("gres" in r for r in default.values())

"""Snakemake and DVC describe the same stages, and both really run them."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
ENV = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
LOG_REDIRECT = re.compile(r"\s*>\s*\S+\s+2>&1\s*$")

pytestmark = pytest.mark.skipif(shutil.which("snakemake", path=ENV["PATH"]) is None
                                or shutil.which("dvc", path=ENV["PATH"]) is None,
                                reason="snakemake and dvc come with the [dev] extra")


def _run(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(args, cwd=cwd, env=ENV, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, f"{' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}"
    return proc


def snakemake_jobs(cwd: Path = REPO) -> dict[str, dict[str, object]]:
    """Rules of a forced dry run, with their inputs, outputs and shell command."""
    out = _run(["snakemake", "--dry-run", "--forceall", "--printshellcmds", "--cores", "1"], cwd).stdout
    jobs: dict[str, dict[str, object]] = {}
    for block in re.split(r"\n(?=rule \w+:)", out):
        head = re.match(r"rule (\w+):", block)
        if not head or head.group(1) == "all":
            continue
        field = lambda name: set(re.search(rf"^\s+{name}: (.*)$", block, re.M).group(1).split(", "))  # noqa: E731
        cmd = re.search(r"^Shell command: (.*)$", block, re.M).group(1)
        jobs[head.group(1)] = {"inputs": field("input"), "outputs": field("output"), "cmd": LOG_REDIRECT.sub("", cmd)}
    return jobs


def dvc_stages(cwd: Path = REPO) -> dict[str, dict[str, object]]:
    stages = yaml.safe_load((cwd / "dvc.yaml").read_text())["stages"]
    result = {}
    for name, stage in stages.items():
        deps: set[str] = set()
        for dep in stage["deps"]:
            path = cwd / dep
            deps |= {str(p.relative_to(cwd)) for p in sorted(path.glob("*.py"))} if path.is_dir() else {dep}
        outs = {next(iter(o)) if isinstance(o, dict) else o for o in stage.get("outs", []) + stage.get("metrics", [])}
        result[name] = {"inputs": deps, "outputs": outs, "cmd": stage["cmd"]}
    return result


def test_snakemake_and_dvc_declare_the_same_stages():
    assert snakemake_jobs() == dvc_stages()


def test_snakemake_lint_passes():
    proc = subprocess.run(["snakemake", "--lint"], cwd=REPO, env=ENV, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def _copy_repo(dst: Path) -> Path:
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=REPO, capture_output=True,
                           text=True, check=True).stdout.split()
    for rel in files:
        if (REPO / rel).is_file():
            (dst / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / rel, dst / rel)
    return dst


def test_both_tools_run_the_dag_and_agree(tmp_path):
    snake = _copy_repo(tmp_path / "snake")
    _run(["snakemake", "--cores", "1"], snake)
    dvc = _copy_repo(tmp_path / "dvc")
    _run(["dvc", "init", "--no-scm", "-f", "-q"], dvc)
    _run(["dvc", "repro"], dvc)
    for name in ("bwt.csv", "curricula.csv", "curriculum.json"):
        assert (snake / "data/order" / name).read_bytes() == (dvc / "data/order" / name).read_bytes()
    # A second repro does nothing; a parameter change reruns the stage.
    assert "Stage 'order' didn't change" in _run(["dvc", "repro"], dvc).stdout
    params = dvc / "params.yaml"
    params.write_text(params.read_text().replace("method: exact", "method: greedy"))
    assert "Running stage 'order'" in _run(["dvc", "repro"], dvc).stdout


def test_invalid_params_stop_snakemake(tmp_path):
    root = _copy_repo(tmp_path / "repo")
    params = root / "params.yaml"
    params.write_text(params.read_text().replace("floor: 0.001", "floor: -1"))
    proc = subprocess.run(["snakemake", "--dry-run", "--cores", "1"], cwd=root, env=ENV, capture_output=True, text=True)
    assert proc.returncode != 0
    assert "order.floor" in proc.stdout + proc.stderr

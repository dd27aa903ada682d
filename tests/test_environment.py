"""environment.yml installs what the README's commands need: the package with its workflow extra (DVC and
Snakemake) and the pinned torch."""

from __future__ import annotations

import re
import tomllib

import yaml

from .conftest import REPO


def test_the_conda_environment_installs_the_workflow_tools():
    env = yaml.safe_load((REPO / "environment.yml").read_text())
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d)
    package = [p for p in pip if p.startswith("-e .")]
    assert len(package) == 1
    extras = re.fullmatch(r"-e \.(?:\[([\w,]+)\])?", package[0].split("#")[0].strip()).group(1) or ""
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    installed = [d for extra in extras.split(",") if extra for d in project["optional-dependencies"][extra]]
    names = {re.split(r"[<>=\[ ;]", d, maxsplit=1)[0].lower() for d in installed}
    assert {"dvc", "snakemake"} <= names, names
    assert "torch==2.13.0" in pip  # the CPU wheel pin (before anything that depends on torch)


def test_what_dvc_plots_writes_is_ignored_by_git():
    import subprocess

    proc = subprocess.run(["git", "check-ignore", "-q", "dvc_plots/index.html"], cwd=REPO)
    assert proc.returncode == 0

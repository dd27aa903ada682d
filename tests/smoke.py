"""The project copied into a temporary folder and the smoke profile's DAG run there: the helpers of the slow tier's
end-to-end tests (tests/workflow, tests/slurm) and of the session fixture ``smoke_dag`` (tests/conftest.py)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
ENV = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
GIT = ["git", "-c", "user.name=omni", "-c", "user.email=omni@example.org", "-c", "init.defaultBranch=main"]


def run(args: list[str], cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """``args`` in ``cwd`` with the venv's tools first on PATH; a non-zero exit fails the test with the output."""
    proc = subprocess.run(args, cwd=cwd, env=ENV, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, f"{' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}"
    return proc


def copy_repo(dst: Path, smoke: bool = True) -> Path:
    """The project's files (tracked and untracked, not ignored; no dvc.lock) copied to ``dst``; with ``smoke``,
    the smoke profile resolved into its params.yaml, as DVC runs it."""
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=REPO, capture_output=True,
                           text=True, check=True).stdout.split()
    for rel in files:
        if (REPO / rel).is_file() and rel != "dvc.lock":
            (dst / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / rel, dst / rel)
    if smoke:  # the whole DAG with tiny sizes: the smoke profile resolved into params.yaml, as for DVC
        from pipeline.config import dump_params, load_params

        (dst / "params.yaml").write_text(dump_params(load_params([REPO / "params.yaml", REPO / "configs" / "smoke.yaml"])))
    return dst


def run_smoke_dag(dst: Path) -> Path:
    """The smoke DAG run by ``dvc repro`` in a git repository at ``dst``: the project committed, then its results
    (dvc.lock; data/ is DVC's, ignored by git). A test that changes it works on :func:`copy_tree` of it."""
    root = copy_repo(dst)
    run([*GIT, "init", "-q"], root)
    run([*GIT, "add", "-A"], root)
    run([*GIT, "commit", "-q", "-m", "the project"], root)
    run(["dvc", "repro"], root, timeout=2400)
    run([*GIT, "add", "-A"], root)
    run([*GIT, "commit", "-q", "-m", "results"], root)
    return root


def copy_tree(src: Path, dst: Path) -> Path:
    """A private copy of a run (git history, DVC cache and hard links included: ``cp -a``)."""
    subprocess.run(["cp", "-a", str(src), str(dst)], check=True)
    return dst

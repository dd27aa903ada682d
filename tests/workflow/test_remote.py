"""Results between people: the smoke DAG run in one git clone, pushed to a DVC remote (a local folder here, an
object store or a shared path at a site), and pulled into a second clone, where `dvc status` is clean and
`dvc repro` runs nothing. The committed cache settings link outputs instead of copying them."""

from __future__ import annotations

import os
import re
import shutil
import subprocess

import pytest

from ..smoke import ENV, GIT
from ..smoke import run as _run

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(shutil.which("dvc", path=ENV["PATH"]) is None or shutil.which("git") is None,
                                 reason="dvc comes with the [dev] extra; git is needed for clones")]
PULLED = ("data/curated/math/train.parquet", "data/models/base/model.safetensors",
          "data/order/curriculum.json", "data/eval/final/seed1/accuracies.csv", "data/report/table1.csv")


def _reflinks(folder) -> bool:
    a, b = folder / "reflink-probe", folder / "reflink-probe-copy"
    a.write_bytes(b"x")
    ok = subprocess.run(["cp", "--reflink=always", str(a), str(b)], capture_output=True).returncode == 0
    a.unlink()
    b.unlink(missing_ok=True)
    return ok


def test_a_second_clone_pulls_the_results_and_reruns_nothing(smoke_dag, tmp_path):
    origin = smoke_dag  # the session's smoke DAG: the project and its results (dvc.lock) committed in git
    remote = tmp_path / "remote"
    _run(["dvc", "remote", "add", "-d", "shared", str(remote)], origin)
    _run([*GIT, "commit", "-q", "-m", "the shared remote", ".dvc/config"], origin)
    tracked = _run(["git", "ls-files"], origin).stdout.split()
    assert "dvc.lock" in tracked and [t for t in tracked if t.startswith("data/")] == ["data/README.md"]

    # Outputs are links into the cache, not second copies (a hardlink or symlink; a reflink cannot be seen).
    weights = origin / "data/models/base/model.safetensors"
    if not _reflinks(tmp_path):
        assert weights.is_symlink() or os.stat(weights).st_nlink > 1, "the model was copied, not linked"

    pushed = _run(["dvc", "push"], origin, timeout=600).stdout
    assert re.search(r"\d+ files? pushed", pushed), pushed

    # A colleague clones the repository and pulls everything: nothing to rerun.
    clone = tmp_path / "clone"
    _run([*GIT, "clone", "-q", str(origin), str(clone)], tmp_path)
    assert not (clone / "data/report/table1.csv").exists()
    _run(["dvc", "pull"], clone, timeout=600)
    for name in PULLED:
        assert (clone / name).read_bytes() == (origin / name).read_bytes(), name
    assert "Data and pipelines are up to date" in _run(["dvc", "status"], clone).stdout
    assert "Running stage" not in _run(["dvc", "repro"], clone, timeout=600).stdout

    # Or only chosen stages' outputs (a laptop: the report and its figures).
    laptop = tmp_path / "laptop"
    _run([*GIT, "clone", "-q", str(origin), str(laptop)], tmp_path)
    _run(["dvc", "pull", "report"], laptop, timeout=600)
    assert (laptop / "data/report/table1.csv").read_bytes() == (origin / "data/report/table1.csv").read_bytes()
    assert not (laptop / "data/models/base").exists()

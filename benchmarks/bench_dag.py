#!/usr/bin/env python
"""Wall time of the DAG on this machine (issue: the whole experiment as one DAG).

1. The smoke profile (configs/smoke.yaml) end to end with ``dvc repro`` in a scratch copy of the
   working tree. Target: at most 5 minutes.
2. A second ``dvc repro`` there, after the full run (nothing to do). Target: at most 10 s.
3. With ``--workspace``: ``dvc status`` and a no-op ``dvc repro`` in this checkout, after ``make run``.

The embedded default's full run is ``time make run`` on a fresh clone (target: 25 minutes with
set-up); it takes long enough that it is not repeated here.

Usage: python benchmarks/bench_dag.py [--workspace]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.workflow.test_dag import _copy_repo  # noqa: E402
ENV = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}


def timed(args: list[str], cwd: Path) -> tuple[float, str]:
    t0 = time.perf_counter()
    proc = subprocess.run(args, cwd=cwd, env=ENV, capture_output=True, text=True)
    seconds = time.perf_counter() - t0
    if proc.returncode != 0:
        sys.exit(f"{' '.join(args)} failed in {cwd}:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return seconds, proc.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workspace", action="store_true", help="also time dvc status / repro in this checkout")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = _copy_repo(Path(tmp) / "smoke")  # the working tree with configs/smoke.yaml resolved into params.yaml
        timed(["dvc", "init", "--no-scm", "-f", "-q"], root)
        full, out = timed(["dvc", "repro"], root)
        stages = out.count("Running stage")
        again, out = timed(["dvc", "repro"], root)
        print(f"smoke DAG, dvc repro: {stages} stages in {full:.0f} s (target ≤ 300 s)")
        print(f"second dvc repro: {again:.1f} s, {out.count('Running stage')} stages run (target ≤ 10 s, 0 stages)")
    if args.workspace:
        status, out = timed(["dvc", "status"], REPO)
        noop, out2 = timed(["dvc", "repro"], REPO)
        print(f"this checkout: dvc status {status:.1f} s ({out.strip().splitlines()[-1] if out.strip() else ''}); "
              f"no-op dvc repro {noop:.1f} s, {out2.count('Running stage')} stages run")


if __name__ == "__main__":
    main()

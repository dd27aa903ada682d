"""A stage ends when the DVC or Snakemake process that started it dies (SIGKILL to the tool alone left the stage
running, writing outputs the tool never recorded, racing a rerun: issue 36)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pipeline.lifeline import workflow_tool

from ..smoke import ENV, GIT, REPO, copy_repo, run

STAGE = ("import sys, time\nfrom pipeline.lifeline import watch_workflow_tool\n"
         "print('watching', watch_workflow_tool(), flush=True)\n"
         "try:\n    time.sleep(60)\nexcept KeyboardInterrupt:\n    print('interrupted', flush=True)\n    sys.exit(130)\n")


def _wait_for(pattern: str, seconds: float) -> int | None:
    """The pid of the first process whose command line matches ``pattern``, once there is one (None: none came)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = subprocess.run(["pgrep", "-f", pattern], capture_output=True, text=True).stdout.split()
        if found:
            return int(found[0])
        time.sleep(0.2)
    return None


def _wait_gone(pid: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.1)
    return False


def test_a_stage_whose_tool_is_killed_stops(tmp_path):
    """A process named dvc (argv[0]) runs a shell that runs the stage; SIGKILL to the tool alone: the stage sees
    it and stops within a second or two, as Ctrl-C would, also when it was started with SIGINT ignored (as the
    workers of a test runner and some schedulers start their children)."""
    out, script = tmp_path / "out.txt", tmp_path / "stage.py"
    script.write_text(STAGE)
    tool = subprocess.Popen(["bash", "-c", f"exec -a dvc bash -c '{sys.executable} {script} > {out} 2>&1; sleep 60'"],
                            cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)},
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN))
    try:
        deadline = time.monotonic() + 30
        while "watching" not in (out.read_text() if out.exists() else "") and time.monotonic() < deadline:
            time.sleep(0.1)
        assert f"watching {tool.pid}" in out.read_text(), out.read_text()
        stage = int(subprocess.run(["pgrep", "-P", str(tool.pid), "-f", str(script)], capture_output=True,
                                   text=True).stdout.split()[0])
        os.kill(tool.pid, signal.SIGKILL)
        tool.wait()
        assert _wait_gone(stage, 10), "the stage outlived its tool"
        text = out.read_text()
        assert "the workflow tool that started this stage" in text and "interrupted" in text, text
    finally:
        if tool.poll() is None:
            tool.kill()


def test_a_process_not_started_by_a_tool_watches_nothing():
    assert workflow_tool() is None or Path(f"/proc/{workflow_tool()[0]}").exists()
    proc = subprocess.run([sys.executable, "-c", "from pipeline.lifeline import watch_workflow_tool\n"
                           "print(watch_workflow_tool())"], cwd=REPO, capture_output=True, text=True, check=True)
    assert proc.stdout.strip() == "None"


@pytest.mark.slow
def test_sigkill_to_dvc_ends_its_running_stage_and_records_nothing(tmp_path):
    """Real DVC: `dvc repro` of θ0 with a long warm start, SIGKILL to DVC alone while the stage trains: the stage
    stops, writes no model, and a rerun starts cleanly instead of racing it."""
    root = copy_repo(tmp_path / "repo")
    params = root / "params.yaml"
    params.write_text(params.read_text().replace("warmstart_steps: 10", "warmstart_steps: 100000"))
    run([*GIT, "init", "-q"], root)
    run(["dvc", "repro", "--single-item", "curate@math", "curate@coding", "curate@qa", "curate@writing"], root)
    dvc = subprocess.Popen(["dvc", "repro", "--single-item", "base_model"], cwd=root, env=ENV,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        stage = _wait_for("pipeline base-model", 120)
        assert stage is not None, "the stage never started"
        time.sleep(5)  # into its warm start (100,000 steps: minutes)
        assert _wait_gone(stage, 0.1) is False, "the stage ended by itself"
        os.kill(dvc.pid, signal.SIGKILL)
        dvc.wait()
        assert _wait_gone(stage, 15), "the stage outlived DVC"
        assert not (root / "data" / "models" / "base").exists()
        rerun = subprocess.run(["dvc", "status", "base_model"], cwd=root, env=ENV, capture_output=True, text=True)
        assert "base_model" in rerun.stdout, rerun.stdout  # DVC recorded nothing: the stage is still to run
    finally:
        if dvc.poll() is None:
            dvc.kill()


@pytest.mark.slow
def test_a_killed_snakemake_run_is_resumed_with_the_documented_commands(tmp_path):
    """SIGKILL to Snakemake while θ0 trains: its stage stops with it (no orphan finishing later), and the commands
    of docs/robustness.md, `snakemake --unlock` then the same command with `--rerun-incomplete`, finish the run
    (the same command alone meets Snakemake's stale lock)."""
    root = copy_repo(tmp_path / "repo", smoke=False)
    overlay = root / "configs" / "smoke.yaml"
    smoke = overlay.read_text()
    overlay.write_text(smoke.replace("warmstart_steps: 10,", "warmstart_steps: 100000,"))
    command = ["snakemake", "data/models/base", "--cores", "1", "--configfile", "configs/smoke.yaml"]
    tool = subprocess.Popen(command, cwd=root, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        stage = _wait_for("pipeline base-model", 180)
        assert stage is not None, "θ0's stage never started"
        time.sleep(3)
        os.kill(tool.pid, signal.SIGKILL)
        tool.wait()
        assert _wait_gone(stage, 15), "the stage outlived Snakemake"
    finally:
        if tool.poll() is None:
            tool.kill()
    again = subprocess.run(command, cwd=root, env=ENV, capture_output=True, text=True)
    assert again.returncode != 0 and "LockException" in again.stdout + again.stderr
    overlay.write_text(smoke)  # a short warm start for the resumed run
    run(["snakemake", "--unlock", *command[1:]], root)
    run([*command, "--rerun-incomplete"], root, timeout=600)
    assert (root / "data" / "models" / "base" / "config.json").exists()

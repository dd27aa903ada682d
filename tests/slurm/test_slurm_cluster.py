"""The cluster path for real: the smoke DAG through `snakemake --cores all --profile slurm` on a running
Slurm cluster (scripts/slurm-local-cluster in CI), compared with the session's local DVC run of the same profile; a failing job must end Snakemake quickly. Runs when OMNI_SLURM_TESTS=1 and a cluster answers (`.ci/run` starts one)."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ..smoke import ENV, REPO
from ..smoke import copy_repo as _copy_repo
from ..smoke import run as _run

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(os.environ.get("OMNI_SLURM_TESTS") != "1" or shutil.which("sinfo") is None,
                                 reason="needs a running Slurm cluster and OMNI_SLURM_TESTS=1 "
                                        "(scripts/slurm-local-cluster start; .ci/run does both)")]

# The local cluster's nodes share one machine: small Ray object stores (site flags, as a cluster would set them).
CPU_ENV = {**ENV, "OMNI_RAY_START_ARGS": "--object-store-memory=200000000"}
# Status checks: the plugin waits this long before the first and after each check that found a job finished,
# 10 s more after each that found none. The local cluster answers squeue at once and its jobs take seconds, so
# the tests check every second where the profile (for real clusters, whose controllers must not be polled
# that often) says 5.
STATUS = ["--slurm-init-seconds-before-status-checks", "1"]
SUBMITTED = re.compile(r"Job (\d+) has been submitted with SLURM jobid (\d+)")


def start_snakemake(args: list[str], cwd: Path) -> subprocess.Popen:
    return subprocess.Popen(["snakemake", *args, *STATUS], cwd=cwd, env=CPU_ENV, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)


def finish_snakemake(proc: subprocess.Popen, args: list[str], cwd: Path, timeout: float) -> tuple[int, str]:
    """Wait for a started snakemake; on timeout send SIGINT (a hung Snakemake ignores SIGTERM) and fail with its
    log."""
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=60)
        pytest.fail(f"snakemake {' '.join(args)} still running after {timeout} s:\n{out[-6000:]}\n{slurm_logs(cwd)}")
    return proc.returncode, out


def run_snakemake(args: list[str], cwd: Path, timeout: int) -> tuple[int, str, float]:
    t0 = time.monotonic()
    code, out = finish_snakemake(start_snakemake(args, cwd), args, cwd, timeout)
    return code, out, time.monotonic() - t0


def slurm_logs(cwd: Path) -> str:
    """Every Slurm job log of the run and the daemons' log tails, for a failure message."""
    parts = []
    for log in sorted((cwd / ".snakemake" / "slurm_logs").rglob("*.log")):
        parts.append(f"--- {log.relative_to(cwd)}\n{log.read_text(errors='replace')[-3000:]}")
    for daemon in ("/var/log/slurm/slurmctld.log", "/var/log/slurm/slurmd.log"):
        if Path(daemon).exists():
            parts.append(f"--- {daemon}\n{Path(daemon).read_text(errors='replace')[-2000:]}")
    return "\n".join(parts)


def planned_cluster_jobs(cwd: Path, extra: list[str]) -> list[str]:
    """The jobs of a forced dry run that are not local rules (one entry per job)."""
    out = subprocess.run(["snakemake", "--dry-run", "--forceall", "--cores", "1", *extra], cwd=cwd, env=CPU_ENV,
                         capture_output=True, text=True, check=True).stdout
    stats = out.split("Job stats:", 1)[1]
    counts = dict((m.group(1), int(m.group(2))) for m in re.finditer(r"^(\w+)\s+(\d+)$", stats, re.M))
    counts.pop("total", None)
    return [rule for rule, n in counts.items() if rule not in ("all", "order", "report") for _ in range(n)]


def job_state(job_id: str) -> str:
    out = subprocess.run(["scontrol", "show", "job", job_id], capture_output=True, text=True).stdout
    match = re.search(r"JobState=(\w+)", out)
    return match.group(1) if match else f"unknown ({out.strip() or 'not listed'})"


def test_smoke_dag_runs_as_slurm_jobs_and_matches_a_local_run(request, tmp_path):
    """The smoke profile as an overlay (--configfile): every Slurm job's Snakemake gets it forwarded and its stage
    reads it; the results equal the session's local run of the same profile resolved into params.yaml (by DVC:
    the two tools train and evaluate the very same models), every file DVC tracks byte for byte (training runs
    on `train.threads` torch threads whichever tool starts it).

    The cluster's run starts first, then the session's local run (``smoke_dag``) is made beside it if no test has
    made it yet (this is the first test of the slow tier that needs it): `dvc repro` runs one stage at a time on
    about one core, and the cluster's jobs take the other."""
    cluster = _copy_repo(tmp_path / "cluster", smoke=False)
    overlay = ["--configfile", "configs/smoke.yaml"]
    args = ["--cores", "all", "--profile", "slurm", *overlay]
    t0 = time.monotonic()
    proc = start_snakemake(args, cluster)
    try:
        local_run = request.getfixturevalue("smoke_dag")
    finally:
        code, log = finish_snakemake(proc, args, cluster, timeout=1500)
    seconds = time.monotonic() - t0
    assert code == 0, f"snakemake through Slurm failed:\n{log[-6000:]}\n{slurm_logs(cluster)}"
    print(f"smoke DAG through Slurm (beside the local run): {seconds:.0f} s")

    # Every rule but the local ones ran as a Slurm job, and Slurm says each COMPLETED.
    remote = re.findall(r"^rule (\w+):", log, re.M)
    assert set(re.findall(r"^localrule (\w+):", log, re.M)) == {"all", "order", "report"}
    assert len(remote) == len(planned_cluster_jobs(cluster, overlay)) and {
        "curate", "train_single", "evaluate_transfer", "train_curriculum", "train_joint", "sft_rft", "merge_ties",
        "evaluate_final", "validate_predictions"} <= set(remote)
    submitted = SUBMITTED.findall(log)
    assert len(submitted) == len(remote), (f"{len(remote)} cluster jobs expected, {len(submitted)} submitted:\n"
                                           f"{log[-4000:]}")
    states = {slurm_id: job_state(slurm_id) for _, slurm_id in submitted}
    assert set(states.values()) == {"COMPLETED"}, states

    # The same DAG run locally (the session's `dvc repro`) gives the same results: every file DVC tracks (weights,
    # logs, tables, figures; not the timings and locks it ignores), byte for byte.
    tracked = tracked_files(local_run)
    assert len(tracked) > 100 and "data/models/curriculum/seed1/model/model.safetensors" in tracked
    differ = [rel for rel in tracked if not (cluster / rel).is_file()
              or (cluster / rel).read_bytes() != (local_run / rel).read_bytes()]
    assert not differ, f"{len(differ)} of {len(tracked)} files DVC tracks differ from the local run: {differ[:20]}"
    print(f"all {len(tracked)} files DVC tracks are byte-identical to the local run's")


def tracked_files(root: Path) -> list[str]:
    """Every file DVC tracks in the run at ``root`` (its stages' outputs and metrics, directory outputs file by
    file, without what .dvcignore leaves out), as DVC lists them."""
    out = subprocess.run(["dvc", "ls", "--recursive", "--dvc-only", "--json", ".", "data"], cwd=root, env=ENV,
                         capture_output=True, text=True, check=True).stdout
    return sorted(f"data/{entry['path']}" for entry in json.loads(out))


def test_a_failing_job_ends_snakemake_quickly(tmp_path):
    """A rule that fails inside its Slurm job: Snakemake must exit non-zero, not wait forever (the sacct trap)."""
    shutil.copytree(Path(__file__).parent / "failing", tmp_path / "failing")
    # One attempt: the profile's retries (a failed job is submitted twice more) are tested with a time limit below.
    code, log, seconds = run_snakemake(["--cores", "all", "--profile", str(REPO / "slurm"), "--retries", "0"],
                                       tmp_path / "failing", timeout=300)
    assert code != 0, log
    assert SUBMITTED.search(log), f"the failing rule was not submitted to Slurm:\n{log[-3000:]}"
    assert "Error in rule fails" in log, log[-3000:]
    assert seconds < 180, f"took {seconds:.0f} s to notice the failure"
    print(f"failing job reported after {seconds:.0f} s")


# train_single@0-math of the smoke profile made long enough to pass a two-minute Slurm limit: 1,260 GRPO steps,
# about 165 s on this 2-core machine (steps slow down as the model starts to learn: more groups carry a
# gradient), a resumable checkpoint every 25. Slurm ends a job 120-150 s after it starts (its controller
# checks time limits every 30 s), so the first job always times out and the second, which has at most ~60 s
# left to train, always finishes well inside its limit (with one minute, a job finishing near its end raced
# the kill).
RETRY_OVERLAY = """train:
  overrides: {math: {max_steps: null, epochs: 180, checkpoint_every: 25, keep_every: 400, group_size: 8,
                     batch_size: 8, max_new_tokens: 16}}
slurm:
  stages: {train_single: {hours: 0.0334}}   # two minutes
"""
SINGLE = "data/models/single/seed0/math"


def stage_files(folder: Path) -> list[Path]:
    """The files a stage wrote under ``folder``, without its machine-dependent timings, Snakemake's markers and the
    resumable state in ``work/`` (not an output)."""
    return sorted(p.relative_to(folder) for p in folder.rglob("*")
                  if p.is_file() and p.name not in ("timings.json", ".snakemake_timestamp")
                  and p.relative_to(folder).parts[0] != "work")


def test_a_job_that_hits_its_time_limit_is_retried_and_resumes_to_the_same_outputs(tmp_path):
    """The profile's retries: train_single's job is ended by Slurm at its time limit (TIMEOUT), Snakemake submits
    it again, the stage resumes from its last checkpoint in OUT/work (not an output, so kept), and the outputs are
    byte for byte those of the same stage run once without a cut."""
    root = _copy_repo(tmp_path / "retry", smoke=False)
    (root / "retry.yaml").write_text(RETRY_OVERLAY, encoding="utf-8")
    overlay = ["--configfile", "configs/smoke.yaml", "retry.yaml"]
    _run(["snakemake", "data/models/base", "data/curated/math/train.parquet", "--cores", "2", *overlay], root)

    code, log, seconds = run_snakemake([f"{SINGLE}/metrics.json", "--cores", "all", "--profile", "slurm", *overlay],
                                       root, timeout=900)
    assert code == 0, f"{log[-6000:]}\n{slurm_logs(root)}"
    states = [job_state(slurm_id) for _, slurm_id in SUBMITTED.findall(log)]
    # Each attempt resumes where the last one was cut; a slower machine needs a third (the profile allows two
    # retries). An attempt that ends after its limit, before Slurm's kill, is TIMEOUT too although it finished:
    # its retry resumes at the end from the final state kept in OUT/work.
    assert len(states) >= 2 and set(states[:-1]) == {"TIMEOUT"} and states[-1] == "COMPLETED", states
    for _, slurm_id in SUBMITTED.findall(log):  # the profile asks Slurm to requeue a preempted job itself
        show = subprocess.run(["scontrol", "show", "job", slurm_id], capture_output=True, text=True).stdout
        assert "Requeue=1" in show, show  # the local cluster's default is JobRequeue=0
    assert "GRPO: resuming at step" in (root / "data/logs/train_single/seed0/math.log").read_text()
    print(f"train_single through Slurm with a 2-minute limit: {len(states)} jobs {states}, {seconds:.0f} s")

    t0 = time.monotonic()
    _run([sys.executable, "-m", "pipeline", "train", "--mode", "single", "--task", "math", "--base",
          "data/models/base", "--out", "uncut", "--seed", "0", "--params", ".snakemake/omni-thinker/params.yaml"],
         root, timeout=900)
    print(f"the same stage uncut: {time.monotonic() - t0:.0f} s")
    outputs = stage_files(root / SINGLE)
    assert len(outputs) > 5 and Path("model/model.safetensors") in outputs and Path("log.jsonl") in outputs
    assert stage_files(root / "uncut") == outputs
    differ = [str(rel) for rel in outputs if (root / SINGLE / rel).read_bytes() != (root / "uncut" / rel).read_bytes()]
    assert not differ, f"the retried job's outputs differ from an uncut run's: {differ}"
    assert len((root / SINGLE / "log.jsonl").read_text().splitlines()) == 1260


RAY_PROCESS = r"raylet|gcs_server|ray start|ray::|default_worker.py"


def ray_processes() -> list[str]:
    """Ray's processes on this machine (every local node's), as `pid command` lines."""
    out = subprocess.run(["pgrep", "-af", RAY_PROCESS], capture_output=True, text=True).stdout
    return [line for line in out.splitlines() if "pgrep" not in line]


def job_logs(cwd: Path) -> str:
    """The Slurm job logs of a run, whole."""
    return "\n".join(log.read_text(errors="replace") for log in sorted((cwd / ".snakemake/slurm_logs").rglob("*.log")))


def wait_until_no_ray(seconds: float = 60.0) -> list[str]:
    deadline = time.monotonic() + seconds
    while ray_processes() and time.monotonic() < deadline:
        time.sleep(1)
    return ray_processes()


def cluster_nodes() -> list[str]:
    return subprocess.run(["sinfo", "-h", "-N", "-o", "%N"], capture_output=True, text=True,
                          check=True).stdout.split()


@pytest.fixture
def ray_job(tmp_path):
    """The two-node Ray workflow (tests/slurm/ray_job) in a fresh folder; needs a cluster of 2+ nodes and no Ray
    already running here (so that what is left afterwards is the job's)."""
    if len(set(cluster_nodes())) < 2:
        pytest.skip("needs a Slurm cluster of two nodes (scripts/slurm-local-cluster starts two)")
    assert not ray_processes(), f"Ray is already running here:\n{ray_processes()}"
    shutil.copytree(Path(__file__).parent / "ray_job", tmp_path / "ray_job")
    return tmp_path / "ray_job"


def test_a_two_node_job_runs_verls_ray_start_up_and_stops_ray(ray_job):
    """Slurm allocation → Ray head on the first node, a worker on the second through srun → verl's start-up
    (ray.init as run_ppo, a placement group per node through RayResourcePool) → teardown."""
    code, log, seconds = run_snakemake(["--cores", "all", "--profile", str(REPO / "slurm"), "probe"], ray_job,
                                       timeout=600)
    assert code == 0, f"{log[-6000:]}\n{slurm_logs(ray_job)}"
    probe = json.loads((ray_job / "probe.json").read_text())
    nodes = sorted(set(cluster_nodes()))[:2]
    assert probe == {"ray_nodes": 2, "placement_groups": 2, "nodes": nodes}, probe
    job_log = job_logs(ray_job)
    assert f"ray: head on {nodes[0]}" in job_log and f"workers on {nodes[1]}" in job_log and "ray: stopped" in job_log
    assert [job_state(slurm_id) for _, slurm_id in SUBMITTED.findall(log)] == ["COMPLETED"]
    assert not wait_until_no_ray(), f"Ray processes left after the job:\n{ray_processes()}"
    print(f"two-node Ray job through Slurm: {seconds:.0f} s")


def test_a_failing_stage_on_the_ray_cluster_leaves_no_ray(ray_job):
    code, log, _ = run_snakemake(["--cores", "all", "--profile", str(REPO / "slurm"), "--retries", "0", "fails.txt"],
                                 ray_job, timeout=600)
    assert code != 0 and "Error in rule fails" in log, log[-3000:]
    assert "ray: stopped" in job_logs(ray_job)
    assert not wait_until_no_ray(), f"Ray processes left after the failed job:\n{ray_processes()}"


def test_a_cancelled_stage_on_the_ray_cluster_leaves_no_ray(ray_job):
    # --retries 0: the profile's retries would submit the cancelled job again (Snakemake retries every failure)
    proc = start_snakemake(["--cores", "all", "--profile", str(REPO / "slurm"), "--retries", "0", "sleeps.txt"],
                           ray_job)
    try:
        deadline = time.monotonic() + 300
        while not (ray_job / "started").exists() and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(1)
        assert (ray_job / "started").exists(), "the job never started its command on the Ray cluster"
        assert ray_processes(), "no Ray process while the job runs"
        jobs = subprocess.run(["squeue", "-h", "-o", "%i"], capture_output=True, text=True).stdout.split()
        assert len(jobs) == 1, jobs
        subprocess.run(["scancel", jobs[0]], check=True)
        out, _ = proc.communicate(timeout=300)
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            proc.communicate(timeout=60)
    assert proc.returncode != 0, out[-3000:]
    assert job_state(jobs[0]) == "CANCELLED"
    assert not wait_until_no_ray(90), f"Ray processes left after scancel:\n{ray_processes()}"

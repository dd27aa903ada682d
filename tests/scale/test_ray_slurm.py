"""Ray inside a Slurm job (pipeline/scale/ray_slurm.py): the pure parts on hand-written cases, and a real Ray
head started, waited for and stopped on this machine as a one-node allocation (the two-node path through real
Slurm jobs is tests/slurm)."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from pipeline.errors import UserError
from pipeline.scale.ray_slurm import (Allocation, head_command, job_node_list, missing_nodes, ray_cluster_for_job,
                                      ray_on_slurm, slurm_step_env, worker_command)

SCONTROL = ("JobId=61 JobName=probe\n   UserId=root(0) GroupId=root(0)\n   NodeList=node[1-2] BatchHost=node1\n"
            "   NumNodes=2 NumCPUs=2 NumTasks=2 CPUs/Task=1\n   ReqNodeList=(null) ExcNodeList=(null)\n")


def test_the_jobs_node_list_is_read_not_a_requested_one():
    assert job_node_list(SCONTROL) == "node[1-2]"
    with pytest.raises(UserError, match="no NodeList"):
        job_node_list("JobId=61 JobState=PENDING\n   NodeList=(null)\n")


def test_an_srun_inside_a_step_keeps_only_the_job_id():
    env = {"SLURM_JOB_ID": "61", "SLURM_NNODES": "1", "SLURM_JOB_NODELIST": "node1", "SLURM_CPUS_PER_TASK": "1",
           "SRUN_DEBUG": "3", "SBATCH_PARTITION": "x", "SLURMD_NODENAME": "node1", "PATH": "/bin"}
    assert slurm_step_env(env) == {"SLURM_JOB_ID": "61", "SLURMD_NODENAME": "node1", "PATH": "/bin"}


def test_the_worker_command_names_each_node_in_json_that_ray_accepts():
    cmd = worker_command("10.0.0.1:6379", ["node2", "node3"], ["--object-store-memory=100"])
    assert cmd[:7] == ["srun", "--overlap", "--nodes=2", "--ntasks=2", "--ntasks-per-node=1", "--nodelist=node2,node3",
                       "--kill-on-bad-exit=1"]
    shown = cmd[-1].replace("exec ray start", "printf '%s\\n'")  # what `ray start` would receive on node3
    args = subprocess.run(["bash", "-c", shown], env={"SLURMD_NODENAME": "node3", "SLURM_CPUS_ON_NODE": "16"},
                          capture_output=True, text=True, check=True).stdout.splitlines()
    assert args == ["--block", "--address=10.0.0.1:6379", '--resources={"slurm_node:node3": 1}', "--num-cpus=16",
                    "--object-store-memory=100"]
    no_cpus = subprocess.run(["bash", "-c", shown], env={"SLURMD_NODENAME": "n"}, capture_output=True, text=True)
    assert "--num-cpus" not in no_cpus.stdout


def test_the_head_command():
    assert head_command("node1", "10.0.0.1", 6400, ["--num-cpus=4"]) == [
        "ray", "start", "--head", "--block", "--node-ip-address=10.0.0.1", "--port=6400",
        '--resources={"slurm_node:node1": 1}', "--num-cpus=4"]


def _node(name: str, alive: bool = True, gpus: float = 0) -> dict:
    resources = {"CPU": 8.0, f"slurm_node:{name}": 1.0, **({"GPU": gpus} if gpus else {})}
    return {"Alive": alive, "Resources": resources}


def test_missing_nodes_are_the_ones_not_alive_or_short_of_gpus():
    expected = ["n1", "n2", "n3", "n4"]
    ray_nodes = [_node("n1", gpus=8), _node("n2", alive=False, gpus=8), _node("n3", gpus=4), _node("n4", gpus=8),
                 {"Alive": True, "Resources": {"CPU": 1.0, "GPU": 8.0}}]  # a node Slurm did not start: ignored
    assert missing_nodes(expected, ray_nodes, 8) == ["n2", "n3"]
    assert missing_nodes(expected, ray_nodes, 0) == ["n2"]
    assert missing_nodes(["n1"], [], 0) == ["n1"]


def test_outside_slurm_one_node_is_verls_own_ray_and_more_is_an_error(monkeypatch):
    monkeypatch.delenv("SLURM_JOB_ID", raising=False)
    monkeypatch.delenv("SLURM_JOBID", raising=False)
    with ray_cluster_for_job(1, 8) as env:
        assert env == {}
    with pytest.raises(UserError, match=r"train.verl.nnodes: 4 nodes need a Slurm job over 4 nodes"):
        with ray_cluster_for_job(4, 8):
            pass


def _ray_processes() -> list[str]:
    out = subprocess.run(["pgrep", "-af", "raylet|gcs_server"], capture_output=True, text=True).stdout
    return [line for line in out.splitlines() if "pgrep" not in line]


@pytest.fixture
def no_ray_running():
    if _ray_processes():
        pytest.skip("Ray is already running on this machine")
    bin_dir = os.path.dirname(sys.executable)
    old = os.environ["PATH"]
    os.environ["PATH"] = f"{bin_dir}{os.pathsep}{old}"  # the venv's `ray`
    os.environ["OMNI_RAY_START_ARGS"] = "--object-store-memory=100000000"
    yield
    os.environ["PATH"] = old
    os.environ.pop("OMNI_RAY_START_ARGS")


@pytest.mark.slow  # a real Ray cluster
def test_a_one_node_allocation_starts_ray_hands_its_address_and_stops_it(no_ray_running, capfd):
    allocation = Allocation(job_id="local", nodes=("thisnode",), this_node="thisnode")
    with ray_on_slurm(allocation, gpus_per_node=0, timeout_s=120) as env:
        probe = subprocess.run([sys.executable, "-c", "import ray; ray.init(); "
                                "print(sorted(k for n in ray.nodes() for k in n['Resources'] if 'slurm' in k))"],
                               env={**os.environ, **env}, capture_output=True, text=True, check=True)
        assert probe.stdout.strip() == "['slurm_node:thisnode']"
        assert _ray_processes()
    deadline = time.monotonic() + 30
    while _ray_processes() and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not _ray_processes()
    assert "ray: 1 node(s) up" in capfd.readouterr().err


@pytest.mark.slow  # a real Ray cluster
def test_nodes_that_never_join_are_named_and_everything_is_stopped(no_ray_running, tmp_path):
    """A worker node whose Ray never comes up (here: an `srun` that only sleeps, standing in for a node that cannot
    exist on this machine): the wait ends with one line naming it, and the head and the worker step are stopped."""
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "srun").write_text(f"#!/bin/sh\necho $$ > {tmp_path}/srun.pid\nexec sleep 600\n")
    (fake / "srun").chmod(0o755)
    os.environ["PATH"] = f"{fake}{os.pathsep}{os.environ['PATH']}"
    allocation = Allocation(job_id="local", nodes=("thisnode", "ghost"), this_node="thisnode")
    with pytest.raises(UserError, match=r"Ray cluster at \S+: node\(s\) ghost not up after 8 s"):
        with ray_on_slurm(allocation, gpus_per_node=0, timeout_s=8.0):
            pytest.fail("the block must not run without every node")
    srun_pid = int((tmp_path / "srun.pid").read_text())
    with pytest.raises(ProcessLookupError):
        os.kill(srun_pid, 0)
    deadline = time.monotonic() + 30
    while _ray_processes() and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not _ray_processes()


@pytest.mark.slow  # a real Ray cluster
def test_a_token_left_by_an_earlier_local_ray_does_not_lock_the_driver_out(no_ray_running, tmp_path, monkeypatch):
    """Ray turns token authentication on when ~/.ray/auth_token exists (any local ray.init() writes one); the
    job's cluster sets its mode explicitly, so its head still admits this process's driver."""
    (tmp_path / ".ray").mkdir()
    (tmp_path / ".ray" / "auth_token").write_text("0" * 64)
    monkeypatch.setenv("HOME", str(tmp_path))
    allocation = Allocation(job_id="local", nodes=("thisnode",), this_node="thisnode")
    with ray_on_slurm(allocation, gpus_per_node=0, timeout_s=60) as env:
        assert env["RAY_AUTH_MODE"] == "disabled"

"""A Ray cluster inside a Slurm allocation, for verl stages that span nodes (``train.verl.nnodes``).

The stage runs as one Slurm job over N nodes (the profile's ``nodes``, derived from params by
:mod:`pipeline.workflow.resources`); Snakemake's job step runs it on the allocation's first node. There
:func:`ray_on_slurm`

1. starts a Ray head on this node (``ray start --head --block``, on a free port),
2. starts one Ray worker on every other node of the allocation with one ``srun`` step
   (``ray start --address … --block``, one task per node, ``--overlap``),
3. waits until Ray reports every node alive with its GPUs (``ray.nodes()``), at most ``timeout_s``, else
   stops with one line naming the missing nodes,
4. hands the caller ``RAY_ADDRESS`` and the job's Ray auth mode (verl's ``ray.init`` then joins this cluster
   instead of starting one),
5. and stops Ray when the block ends, fails or is cancelled (Slurm's SIGTERM is turned into an exception):
   the worker step is terminated (its ``ray start --block`` stops that node's processes), then the head's.

Each Ray node carries a custom resource ``slurm_node:<name>`` so that Ray's view can be matched to Slurm's
node names (several Ray nodes may share one host and IP, as on the two-``slurmd`` test cluster).
Site flags for ``ray start`` (a temp dir, the object store size) go in ``OMNI_RAY_START_ARGS``.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Iterator, Mapping, Sequence

from ..errors import UserError

NODE_RESOURCE = "slurm_node:"
KEEP_SLURM = ("SLURM_JOB_ID", "SLURM_JOBID", "SLURM_CLUSTER_NAME", "SLURM_CONF")


@dataclass(frozen=True)
class Allocation:
    """The Slurm job this process runs in: its id, its nodes (in Slurm's order) and the node we are on."""

    job_id: str
    nodes: tuple[str, ...]
    this_node: str

    @property
    def workers(self) -> tuple[str, ...]:
        return tuple(n for n in self.nodes if n != self.this_node)


def job_node_list(scontrol_job: str) -> str:
    """The compact ``NodeList=`` of ``scontrol show job`` output (the job's nodes, not a step's)."""
    match = re.search(r"(?:^|\s)NodeList=(\S+)", scontrol_job)
    if match is None or match.group(1) == "(null)":
        raise UserError("scontrol show job: no NodeList in its output (is the job running?)")
    return match.group(1)


def slurm_step_env(env: Mapping[str, str]) -> dict[str, str]:
    """``env`` without the step's Slurm settings, for an ``srun`` started inside a job step: a step's
    ``SLURM_NNODES``, ``SLURM_JOB_NODELIST`` (the step's one node) and task geometry would otherwise become the
    new step's defaults; only the job id is kept, so srun asks the controller for the job's allocation."""
    return {k: v for k, v in env.items()
            if not (k.startswith(("SLURM_", "SRUN_", "SBATCH_")) and k not in KEEP_SLURM)}


def current_allocation(env: Mapping[str, str] | None = None) -> Allocation | None:
    """The Slurm allocation of this process (``SLURM_JOB_ID``), or None outside Slurm."""
    env = os.environ if env is None else env
    job_id = env.get("SLURM_JOB_ID") or env.get("SLURM_JOBID")
    if not job_id:
        return None
    shown = _check_output(["scontrol", "show", "job", job_id])
    nodes = _check_output(["scontrol", "show", "hostnames", job_node_list(shown)]).split()
    this = env.get("SLURMD_NODENAME") or socket.gethostname().split(".")[0]
    if this not in nodes:
        raise UserError(f"Slurm job {job_id}: this node {this} is not among the job's nodes {nodes}")
    return Allocation(job_id=job_id, nodes=tuple(nodes), this_node=this)


def ray_start_args(head: bool, node_cpus: int | None = None) -> list[str]:
    """Flags of ``ray start``: usage stats off, no dashboard (on the head), the site's ``OMNI_RAY_START_ARGS``."""
    args = ["--disable-usage-stats"] + (["--include-dashboard=false"] if head else [])
    if node_cpus:
        args.append(f"--num-cpus={node_cpus}")
    return args + shlex.split(os.environ.get("OMNI_RAY_START_ARGS", ""))


def head_command(node: str, ip: str, port: int, extra: Sequence[str] = ()) -> list[str]:
    """``ray start --head`` on this node, blocking (so that stopping the process stops the head)."""
    return ["ray", "start", "--head", "--block", f"--node-ip-address={ip}", f"--port={port}",
            f"--resources={json.dumps({NODE_RESOURCE + node: 1})}", *extra]


def worker_command(address: str, workers: Sequence[str], extra: Sequence[str] = ()) -> list[str]:
    """One ``srun`` step with one task on each worker node, each ``ray start --address … --block`` with its
    node's ``slurm_node:<name>`` resource and the job's CPUs there (``$SLURMD_NODENAME``,
    ``$SLURM_CPUS_ON_NODE``, expanded on that node)."""
    resource = "--resources='{\"" + NODE_RESOURCE + "'\"$SLURMD_NODENAME\"'\": 1}'"  # JSON; the name from bash
    cpus = "${SLURM_CPUS_ON_NODE:+--num-cpus=$SLURM_CPUS_ON_NODE}"  # the node's CPUs in the job, as on the head
    ray = " ".join(["exec ray start --block", shlex.quote(f"--address={address}"), resource, cpus,
                    *map(shlex.quote, extra)])
    n = str(len(workers))
    return ["srun", "--overlap", f"--nodes={n}", f"--ntasks={n}", "--ntasks-per-node=1",
            f"--nodelist={','.join(workers)}", "--kill-on-bad-exit=1", "bash", "-c", ray]


def missing_nodes(expected: Sequence[str], ray_nodes: Sequence[Mapping[str, Any]], gpus_per_node: int) -> list[str]:
    """Slurm nodes without a live Ray node holding at least ``gpus_per_node`` GPUs (pure: ``ray.nodes()``
    entries in, node names out, in ``expected`` order)."""
    ready = set()
    for node in ray_nodes:
        if not node.get("Alive"):
            continue
        resources = node.get("Resources", {})
        names = [k[len(NODE_RESOURCE):] for k in resources if k.startswith(NODE_RESOURCE)]
        if names and resources.get("GPU", 0) >= gpus_per_node:
            ready.update(names)
    return [n for n in expected if n not in ready]


def _check_output(cmd: list[str], env: Mapping[str, str] | None = None) -> str:
    try:
        return subprocess.run(cmd, capture_output=True, text=True, check=True, env=env).stdout
    except FileNotFoundError as exc:
        raise UserError(f"{cmd[0]}: not found on PATH (needed to start Ray inside the Slurm job)") from exc
    except subprocess.CalledProcessError as exc:
        raise UserError(f"{shlex.join(cmd)} failed: {(exc.stderr or '').strip().splitlines()[-1:]}") from exc


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("", 0))
        return int(s.getsockname()[1])


def job_auth_env() -> dict[str, str]:
    """Ray's token authentication set explicitly for the job's cluster (off: the allocation's nodes only talk
    to each other). Without it Ray decides by whether ``~/.ray/auth_token`` exists, a file any earlier local
    ``ray.init()`` writes, and a head that turns authentication on from it refuses this process's driver."""
    return {"RAY_AUTH_MODE": "disabled"}


@contextmanager
def _environ(values: Mapping[str, str]) -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


class _Terminated(Exception):
    """SIGTERM (scancel, Slurm's time limit) while the Ray cluster was up."""


def _stop(proc: subprocess.Popen | None, grace_s: float = 30.0) -> None:
    """SIGTERM a ``ray start --block`` (or the srun running them) and wait; SIGKILL its group if it hangs."""
    if proc is None or proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        proc.wait(timeout=grace_s)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def wait_for_nodes(address: str, expected: Sequence[str], gpus_per_node: int, timeout_s: float,
                   processes: Mapping[str, subprocess.Popen[bytes]]) -> None:
    """Poll ``ray.nodes()`` until every expected node is up, or fail naming the missing ones."""
    import ray

    deadline = time.monotonic() + timeout_s
    missing = list(expected)
    while time.monotonic() < deadline:
        for what, proc in processes.items():
            if proc.poll() is not None:
                raise UserError(f"Ray start-up failed: {what} exited with code {proc.returncode} (its log above)")
        try:
            if not ray.is_initialized():
                ray.init(address=address, logging_level=logging.ERROR, log_to_driver=False)
            missing = missing_nodes(expected, ray.nodes(), gpus_per_node)
        except ConnectionError:
            missing = list(expected)
        if not missing:
            break
        time.sleep(1.0)
    if ray.is_initialized():
        ray.shutdown()
    if missing:
        gpus = f" with {gpus_per_node} GPU(s)" if gpus_per_node else ""
        raise UserError(f"Ray cluster at {address}: node(s) {', '.join(missing)} not up{gpus} after "
                        f"{timeout_s:.0f} s")


@contextmanager
def ray_on_slurm(allocation: Allocation, gpus_per_node: int, timeout_s: float = 300.0) -> Iterator[dict[str, str]]:
    """A Ray cluster over ``allocation``'s nodes for the duration of the block; yields the environment that
    points a driver at it (``RAY_ADDRESS``). Ray is stopped on every exit, SIGTERM included."""
    import ray.util

    ip = ray.util.get_node_ip_address()
    port = free_port()
    address = f"{ip}:{port}"
    cpus = int(os.environ["SLURM_CPUS_ON_NODE"]) if os.environ.get("SLURM_CPUS_ON_NODE", "").isdigit() else None
    extra = ray_start_args(True, cpus)
    auth = job_auth_env()
    # the job is over when Ray stops: no graceful drain (Ray waits up to 30 s per node for it by default)
    env = {**slurm_step_env(os.environ), **auth, "RAY_GRACEFUL_SHUTDOWN_DRAIN_TIMEOUT_S": "0"}
    head = workers = None

    def on_term(signum: int, frame: Any) -> None:
        raise _Terminated(f"signal {signum}")

    previous = signal.signal(signal.SIGTERM, on_term)
    try:
        print(f"ray: head on {allocation.this_node} ({address}), workers on {', '.join(allocation.workers) or 'none'}",
              file=sys.stderr, flush=True)
        head = subprocess.Popen(head_command(allocation.this_node, ip, port, extra), env=env,
                                stdout=sys.stderr, start_new_session=True)
        if allocation.workers:
            workers = subprocess.Popen(worker_command(address, allocation.workers, ray_start_args(False)), env=env,
                                       stdout=sys.stderr, start_new_session=True)
        started = {f"the head (ray start on {allocation.this_node})": head}
        if workers is not None:
            started[f"the workers (srun ray start on {','.join(allocation.workers)})"] = workers
        with _environ(auth):  # this process's driver authenticates like the nodes
            wait_for_nodes(address, allocation.nodes, gpus_per_node, timeout_s, started)
        print(f"ray: {len(allocation.nodes)} node(s) up", file=sys.stderr, flush=True)
        yield {"RAY_ADDRESS": address, **auth}
    except _Terminated as exc:
        raise UserError(f"Slurm job {allocation.job_id} was terminated ({exc}); Ray stopped") from None
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # teardown is not interrupted by a second SIGTERM
        _stop(workers)
        _stop(head)
        signal.signal(signal.SIGTERM, previous)
        print("ray: stopped", file=sys.stderr, flush=True)


@contextmanager
def ray_cluster_for_job(nnodes: int, gpus_per_node: int, timeout_s: float = 300.0) -> Iterator[dict[str, str]]:
    """Inside a Slurm job: :func:`ray_on_slurm` over its nodes, which must be ``nnodes``. Outside Slurm: nothing
    (verl's ``ray.init`` starts a local Ray, one node)."""
    allocation = current_allocation()
    if allocation is None:
        if nnodes > 1:
            raise UserError(f"train.verl.nnodes: {nnodes} nodes need a Slurm job over {nnodes} nodes "
                            f"(snakemake --profile slurm requests them); this process is not in one")
        yield {}
        return
    if len(allocation.nodes) != nnodes:
        raise UserError(f"train.verl.nnodes: {nnodes}, but Slurm job {allocation.job_id} has "
                        f"{len(allocation.nodes)} node(s) ({','.join(allocation.nodes)})")
    with ray_on_slurm(allocation, gpus_per_node, timeout_s) as env:
        yield env

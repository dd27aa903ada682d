"""A stage ends when the workflow tool that started it dies.

DVC and Snakemake start a stage as ``tool → shell → python -m pipeline …``. Killed with SIGKILL (not its
process group), the tool dies alone: the shell and the stage go on, write outputs the tool never records, and a
rerun started at once races them. :func:`watch_workflow_tool` finds the nearest ancestor that is DVC or
Snakemake and, from a daemon thread, interrupts the stage as soon as that process is gone, as Ctrl-C would:
staged outputs are discarded, locks released, worker processes (``PR_SET_PDEATHSIG``) follow.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from pathlib import Path

TOOLS = ("dvc", "snakemake")
POLL_S = 0.5


def _stat(pid: int) -> tuple[int, str, int] | None:
    """(parent pid, state, start time) of ``pid`` from /proc, or None when it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2:].split()  # after "pid (comm) "
    return int(fields[1]), fields[0], int(fields[19])


def _is_tool(pid: int) -> bool:
    """Is ``pid`` DVC or Snakemake (``dvc …``, ``python …/bin/dvc …``, ``python -m snakemake …``)?"""
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[:4]
    except OSError:
        return False
    names = [os.path.basename(a.decode("utf-8", "replace")) for a in argv]
    return any(name in TOOLS for name in names)


def workflow_tool(start: int | None = None, depth: int = 8) -> tuple[int, int] | None:
    """(pid, start time) of the nearest DVC or Snakemake ancestor of ``start`` (default: this process)."""
    pid = os.getppid() if start is None else start
    for _ in range(depth):
        if pid <= 1:
            return None
        info = _stat(pid)
        if info is None:
            return None
        if _is_tool(pid):
            return pid, info[2]
        pid = info[0]
    return None


def _alive(pid: int, started: int) -> bool:
    info = _stat(pid)
    return info is not None and info[2] == started and info[1] not in ("Z", "X")


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def watch_workflow_tool() -> int | None:
    """Interrupt the main thread when the DVC or Snakemake process above this one dies; its pid, or None when
    this process was not started by either (then nothing is watched). Call it from the main thread.

    The interrupt is a real signal of its own (SIGUSR1, whose handler raises ``KeyboardInterrupt``), not SIGINT:
    a process started with SIGINT ignored (a worker of a test runner, a job of some schedulers) keeps it
    ignored, and a real signal also wakes a main thread that sleeps or waits."""
    found = workflow_tool()
    if found is None:
        return None
    pid, started = found
    signal.signal(signal.SIGUSR1, _interrupt)

    def watch() -> None:
        while _alive(pid, started):
            time.sleep(POLL_S)
        print(f"stopping: the workflow tool that started this stage (pid {pid}) is gone", file=sys.stderr)
        os.kill(os.getpid(), signal.SIGUSR1)

    threading.Thread(target=watch, name="workflow-lifeline", daemon=True).start()
    return pid

"""Running untrusted programs under bubblewrap.

Guarantees of :class:`Sandbox` when ``bwrap`` is available (see README "Rewards and security"):

- **no network**: a new network namespace (only its own, down loopback);
- **read-only system**: only ``/usr`` (with ``/lib``, ``/bin`` links), ``/etc/ld.so.cache``,
  the Python installation and the virtual environment of the interpreter that runs the programs
  (:class:`Interpreter`: this process's own, or ``rewards.code.python``) are visible, all bound read-only;
- **private, size-capped /tmp**: a tmpfs of ``tmp_size_mb``, the only writable place;
- **cleared environment**: ``--clearenv``; only ``PATH``, ``HOME=/tmp`` and ``LANG`` are set;
- **new PID namespace with die-with-parent**: the program cannot see or signal the host's
  processes; everything it started dies with the sandbox's init when the program ends
  or when the parent kills it;
- **non-root uid**: as root, bwrap drops every capability except the ones ``setpriv``
  needs to switch to a dedicated uid (one per concurrent slot, claimed from ``uid_base`` on with a
  lock file so that no two processes on the machine share one) with
  no capabilities and ``no_new_privs``; as a normal user, an unprivileged user namespace;
- **rlimits** (``prlimit``): CPU seconds, address space, processes (per slot uid), file
  size and open files;
- **wall-clock limit** and **output cap** (``max_output_bytes``) per program, enforced by the
  in-sandbox harness, with the parent's watchdog behind it (it kills the whole sandbox);
- **nothing carries over between programs**: a sandbox runs up to ``programs_per_sandbox``
  programs one after another (starting bubblewrap and the interpreter costs ~50 ms, running a
  small program well under 1 ms), each in its own forked child; between two programs the harness
  kills every other process in the sandbox, waits for them to be gone and restores ``/tmp``, and
  the next program's request is sent only then. The harness is non-dumpable, so a program cannot
  reach its memory or descriptors. See :mod:`._harness` for the protocol. A program during which
  the harness died or stopped answering is run again as the first program of a fresh sandbox,
  so that it alone bears the result (0) of what it did.

Without bwrap the fallback runs the program with the rlimits, a cleared environment
and, where the kernel allows, ``unshare --net --pid --fork``; it warns loudly once, and
``require_isolation=True`` makes a missing bwrap an error instead.
"""

from __future__ import annotations

import fcntl
import json
import os
import queue
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Generator

from ..errors import UserError


@dataclass(frozen=True)
class SandboxLimits:
    timeout_s: float = 10.0
    cpu_s: int = 10
    memory_mb: int = 1024
    max_processes: int = 16
    max_file_mb: int = 16
    max_open_files: int = 64
    tmp_size_mb: int = 64
    max_output_bytes: int = 1 << 20
    programs_per_sandbox: int = 64


@dataclass(frozen=True)
class RunResult:
    returncode: int | None
    stdout: bytes                # the program's stray output (capped)
    timed_out: bool
    output_truncated: bool
    seconds: float
    outcome: Any = None          # what the program's conversation concluded (None: it did not finish)


Conversation = Generator[bytes, bytes, Any]
"""The trusted side of one program: it receives the program's answer to its request, then yields operations
(JSON bytes) and receives their answers, and returns its conclusion (``RunResult.outcome``)."""


@dataclass(frozen=True)
class Job:
    """One program for the sandbox: its request (marshal-ed for the harness) and a factory of its conversation
    (called again when the program must be run again in a fresh sandbox)."""

    request: bytes
    converse: Callable[[], Conversation]


SITE_PACKAGES = [p for p in __import__("site").getsitepackages() if Path(p).is_dir()]


@dataclass(frozen=True)
class Interpreter:
    """The Python that runs programs in the sandbox: this process's own, or another one given by
    ``rewards.code.python`` (BigCodeBench's environment, whose pinned libraries cannot share this one's).

    ``same_bytecode`` says whether code objects compiled here can be sent to it (``marshal`` of code
    objects is specific to a Python minor version); otherwise the harness compiles the test source itself.
    """

    path: Path                   # as given (a venv's ``bin/python`` is a link that must not be resolved)
    prefix: Path                 # sys.prefix (the venv)
    base_prefix: Path            # sys.base_prefix (the installation it was made from)
    site_packages: tuple[str, ...]
    version: tuple[int, int]

    @property
    def same_bytecode(self) -> bool:
        return self.version == sys.version_info[:2] and sys.implementation.name == "cpython"

    @classmethod
    def current(cls) -> "Interpreter":
        return cls(Path(os.path.abspath(sys.executable)), Path(sys.prefix).resolve(),
                   Path(sys.base_prefix).resolve(), tuple(SITE_PACKAGES), (sys.version_info[0], sys.version_info[1]))

    @classmethod
    def at(cls, python: str | os.PathLike[str]) -> "Interpreter":
        """Describe the interpreter at ``python`` by asking it (one short run). A missing or broken
        interpreter is a one-line error naming it."""
        path = Path(os.path.abspath(Path(python).expanduser()))
        if not path.is_file() or not os.access(path, os.X_OK):
            raise UserError(f"rewards.code.python: {path} is not an executable Python interpreter (for BigCodeBench's "
                            "libraries build it with `make bigcodebench-env`)")
        probe = ("import json, site, sys; print(json.dumps([sys.prefix, sys.base_prefix, site.getsitepackages(), "
                 "list(sys.version_info[:2])]))")
        try:
            out = subprocess.run([str(path), "-I", "-c", probe], capture_output=True, text=True, timeout=60,
                                 check=True).stdout
            prefix, base, site_dirs, version = json.loads(out.strip().splitlines()[-1])
        except (OSError, subprocess.SubprocessError, ValueError, IndexError) as exc:
            raise UserError(f"rewards.code.python: {path} does not run as Python ({type(exc).__name__})") from None
        if tuple(version) < (3, 8):
            raise UserError(f"rewards.code.python: {path} is Python {version[0]}.{version[1]}; the harness needs 3.8+")
        return cls(path, Path(prefix).resolve(), Path(base).resolve(),
                   tuple(d for d in site_dirs if Path(d).is_dir()), (int(version[0]), int(version[1])))


UID_RANGE = 4096  # slot uids are claimed in [uid_base, uid_base + UID_RANGE)


def claim_uids(count: int, uid_base: int, lock_dir: Path | None = None) -> list[tuple[int, Any]]:
    """Claim ``count`` slot uids that no other process on this machine is using, with one
    ``flock``-ed file per uid (released when the process exits, even if it is killed).

    RLIMIT_NPROC counts every process of a uid machine-wide, so two jobs sharing slot uids (two
    Snakemake jobs on a node, or a training run beside the test suite) would eat each other's
    process budget: one job's fork bomb could make the other's programs fail to start, scoring 0.
    ``lock_dir`` defaults to the system's temporary folder.
    """
    lock_dir = Path(tempfile.gettempdir()) if lock_dir is None else lock_dir
    claimed: list[tuple[int, Any]] = []
    for uid in range(uid_base, uid_base + UID_RANGE):
        fh = open(lock_dir / f"omni-thinker-sandbox-uid-{uid}.lock", "a+")
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            fh.close()
            continue
        claimed.append((uid, fh))
        if len(claimed) == count:
            return claimed
    for _, fh in claimed:
        fh.close()
    raise RuntimeError(f"no free sandbox uid in [{uid_base}, {uid_base + UID_RANGE}) (all locked by other processes)")


def _parents(path: Path) -> list[str]:
    return [str(p) for p in reversed(path.parents) if str(p) != "/"]


HEADER = struct.Struct("<BIiBB")  # the harness's frame header: kind, length, return code, timed out, truncated
FINAL, REPLY = 0, 1
WATCHDOG_GRACE_S = 5.0  # the harness enforces ``timeout_s``; the parent kills the sandbox this much later


class Sandbox:
    """Runs ``python -I -S -B <script> …`` inside bubblewrap (or the loud fallback), feeding it requests.

    ``-S`` skips ``site`` (and its ``.pth`` processing) for a fast start; the harness adds the
    interpreter's site-packages to ``sys.path`` itself so that solutions can still import them.
    """

    _warned = False

    def __init__(self, limits: SandboxLimits | None = None, require_isolation: bool = False,
                 slots: int = 8, uid_base: int = 61000, python: Interpreter | None = None) -> None:
        self.limits = limits or SandboxLimits()
        self.bwrap = shutil.which("bwrap")
        self.prlimit = shutil.which("prlimit")
        self.setpriv = shutil.which("setpriv")
        self.is_root = os.geteuid() == 0
        self.isolated = bool(self.bwrap and self.prlimit and (self.setpriv or not self.is_root))
        if not self.isolated:
            if require_isolation:
                raise UserError("rewards.code.require_isolation is true but bubblewrap (bwrap), prlimit or setpriv "
                                "is missing; install the 'bubblewrap' and 'util-linux' packages")
            if not Sandbox._warned:
                warnings.warn("bubblewrap is not available: untrusted code runs WITHOUT filesystem, network and "
                              "PID isolation (rlimits only). Install bubblewrap or set "
                              "rewards.code.require_isolation=true.", RuntimeWarning, stacklevel=2)
                print("WARNING: bubblewrap missing: code rewards run with rlimits only, NOT isolated", file=sys.stderr)
                Sandbox._warned = True
        self.interpreter = python or Interpreter.current()
        self.python = self.interpreter.path  # absolute: the sandbox runs in another folder
        self._slots: queue.Queue[int] = queue.Queue()
        self.uid_base = uid_base
        # As root each slot switches to its own uid, claimed for this process alone (see claim_uids).
        self._locks = claim_uids(slots, uid_base) if self.is_root and self.isolated else []
        for uid in [u for u, _ in self._locks] or range(uid_base, uid_base + slots):
            self._slots.put(uid)

    def _prlimit_args(self) -> list[str]:
        lim = self.limits
        return [self.prlimit or "prlimit", f"--cpu={lim.cpu_s}", f"--as={lim.memory_mb << 20}",
                f"--nproc={lim.max_processes}", f"--fsize={lim.max_file_mb << 20}",
                f"--nofile={lim.max_open_files}", "--"]

    @property
    def programs_per_sandbox(self) -> int:
        """Only a sandbox with its own PID namespace and /tmp can be reset between programs."""
        return self.limits.programs_per_sandbox if self.isolated else 1

    def command(self, script: Path, uid: int) -> list[str]:
        """The full command line of one sandbox (exposed for tests and ``--dry-run``)."""
        python = [str(self.python), "-I", "-S", "-B", str(script), str(self.limits.timeout_s),
                  str(self.limits.max_output_bytes), *(["--reset"] if self.isolated else [])]
        if not self.isolated:
            return [*self._prlimit_args(), *python] if self.prlimit else python
        # The private /tmp comes first: a checkout or venv that lives under /tmp is then bound
        # (read-only) inside it instead of being hidden by it.
        binds: list[str] = ["--size", str(self.limits.tmp_size_mb << 20), "--perms", "1777", "--tmpfs", "/tmp"]
        mounted: set[str] = {"/tmp"}
        interp = self.interpreter
        for source in sorted({interp.base_prefix, interp.prefix, script.parent.resolve()}):
            for parent in _parents(source):
                if parent not in mounted and not parent.startswith("/usr"):
                    binds += ["--perms", "0755", "--dir", parent]
                    mounted.add(parent)
            binds += ["--ro-bind", str(source), str(source)]
        cmd = [self.bwrap, "--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try",
               "--die-with-parent", "--new-session",
               "--ro-bind", "/usr", "/usr", "--symlink", "usr/lib", "/lib", "--symlink", "usr/lib64", "/lib64",
               "--symlink", "usr/bin", "/bin", "--ro-bind-try", "/etc/ld.so.cache", "/etc/ld.so.cache",
               "--proc", "/proc", "--dev", "/dev", *binds,
               "--clearenv", "--setenv", "PATH", "/usr/bin:/bin", "--setenv", "HOME", "/tmp",
               "--setenv", "LANG", "C.UTF-8", "--chdir", "/tmp"]
        if self.is_root:
            cmd += ["--cap-drop", "ALL", "--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID",
                    "--cap-add", "CAP_SETPCAP", "--", *self._prlimit_args(),
                    self.setpriv, f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "--no-new-privs",
                    "--inh-caps=-all", "--bounding-set=-all", "--", *python]
        else:
            cmd += ["--unshare-user", "--uid", "65534", "--gid", "65534", "--cap-drop", "ALL", "--",
                    *self._prlimit_args(), *python]
        return cmd

    def popen(self, cmd: list[str]) -> subprocess.Popen:
        """One sandbox of :meth:`command` started (stdin and stdout are pipes to it), in its own process group."""
        env = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "HOME": "/tmp"} if not self.isolated else None
        if not self.isolated and shutil.which("unshare") and self.is_root:
            cmd = ["unshare", "--net", "--pid", "--fork", "--kill-child", *cmd]
        return subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                env=env, start_new_session=True, cwd="/tmp")

    def close(self) -> None:
        """Release the claimed slot uids (also released when the process exits)."""
        for _, fh in self._locks:
            fh.close()
        self._locks = []

    def run(self, script: Path, job: Job) -> RunResult:
        return self.run_many(script, [job])[0]

    def run_many(self, script: Path, jobs: list[Job]) -> list[RunResult]:
        """One result per job, in order, from as few sandboxes as ``programs_per_sandbox`` allows."""
        results: list[RunResult] = []
        while len(results) < len(jobs):
            uid = self._slots.get()
            try:
                batch = jobs[len(results):len(results) + self.programs_per_sandbox]
                results += self._session(self.command(script, uid), batch)
            finally:
                if self._locks:  # a dedicated slot uid: its killed processes must be gone before the slot is reused
                    _wait_until_gone(uid)
                self._slots.put(uid)
        return results

    def _session(self, cmd: list[str], jobs: list[Job]) -> list[RunResult]:
        """Run ``jobs`` in one sandbox; returns the results of a prefix of them (at least one).

        A job during which the harness dies or stops answering ends the session; it is then reported as failed
        only if it was the session's first (otherwise it runs again, first in a fresh sandbox: what an earlier
        program did cannot make it fail).
        """
        proc = self.popen(cmd)
        frames: queue.Queue[tuple[int, int, bool, bool, bytes] | None] = queue.Queue()
        threading.Thread(target=self._read_frames, args=(proc, frames), daemon=True).start()
        results: list[RunResult] = []
        try:
            for job in jobs:
                start = time.monotonic()
                final, outcome = self._converse(proc, frames, job)
                if final is None:  # the harness died or hung during this job
                    if not results:
                        hung = proc.poll() is None  # alive but silent (a dead one reached EOF)
                        _kill(proc)
                        proc.wait()
                        results.append(RunResult(proc.returncode, b"", hung, False, time.monotonic() - start))
                    break
                code, timed_out, truncated, output = final
                results.append(RunResult(code, output, bool(timed_out), bool(truncated), time.monotonic() - start,
                                         outcome))
        finally:
            try:
                if proc.stdin is not None:
                    proc.stdin.close()
            except OSError:
                pass
            try:
                proc.wait(timeout=2)
            except subprocess.TimeoutExpired:
                pass
            _kill(proc)  # the session may still hold stray children (fallback mode)
            proc.wait()
        return results

    def _converse(self, proc: subprocess.Popen, frames: "queue.Queue", job: Job) -> tuple[Any, Any]:
        """Send ``job``'s request, relay its conversation's operations and the program's answers, end it; the
        final frame's (returncode, timed out, truncated, output) and the conversation's outcome, or (None, None)
        when the harness died or stopped answering."""
        wait = self.limits.timeout_s + WATCHDOG_GRACE_S  # the harness ends a program within timeout_s
        conversation = job.converse()
        next(conversation)
        outcome, frame = None, None
        try:
            message: bytes | None = job.request
            while True:
                frame = self._exchange(proc, frames, message, wait)
                if frame is None or frame[0] != REPLY:
                    return None, None
                try:
                    message = conversation.send(frame[4])
                except StopIteration as done:
                    outcome = done.value
                    break
            frame = self._exchange(proc, frames, b"", wait)  # the end of this program
            if frame is None or frame[0] != FINAL:
                return None, None
            return frame[1:], outcome
        finally:
            conversation.close()

    def _exchange(self, proc: subprocess.Popen, frames: "queue.Queue", message: bytes, wait: float) -> Any:
        try:
            assert proc.stdin is not None
            proc.stdin.write(struct.pack("<I", len(message)) + message)
            proc.stdin.flush()
        except (BrokenPipeError, OSError):
            return None
        try:
            return frames.get(timeout=wait)
        except queue.Empty:
            return None

    def _read_frames(self, proc: subprocess.Popen, frames: "queue.Queue") -> None:
        """Parse the harness's frames into ``frames``: (kind, returncode, timed out, truncated, payload);
        ``None`` at EOF or on a malformed frame."""
        assert proc.stdout is not None
        while True:
            head = proc.stdout.read(HEADER.size)
            if len(head) < HEADER.size:
                frames.put(None)
                return
            kind, length, code, timed_out, truncated = HEADER.unpack(head)
            if kind not in (FINAL, REPLY) or length > self.limits.max_output_bytes + 64:
                frames.put(None)
                return
            payload = proc.stdout.read(length)
            if len(payload) < length:
                frames.put(None)
                return
            frames.put((kind, code, timed_out, truncated, payload))


def _wait_until_gone(uid: int, timeout_s: float = 10.0) -> bool:
    """Wait until no process runs as ``uid``: SIGKILL of a sandbox's processes (the pid namespace's init
    dying) is asynchronous, and on a loaded machine a fork bomb's children take a moment to exit. The slot's
    RLIMIT_NPROC counts them, so the next run in the slot waits for them. Returns False on timeout."""
    deadline = time.monotonic() + timeout_s
    while True:
        alive = False
        for entry in os.scandir("/proc"):
            if entry.name.isdigit():
                try:
                    if entry.stat().st_uid == uid:
                        alive = True
                        break
                except FileNotFoundError:
                    continue
        if not alive:
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)


def _kill(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass

"""Verifier processes: every call runs in a fresh fork of a clean template, under a deadline and resource limits.

The arguments of a call are model output (a math answer), so a call is treated as hostile:

- **Immutable state.** Each worker is a *template*: a process that imports the ``preload`` modules, runs the
  ``warmup`` calls on trusted inputs (so that lazy caches, such as the LaTeX parser's, are built once), and
  then never runs a call itself. Each call runs in a child forked from the template, which answers and exits.
  Nothing a call does (rebinding a function, filling a cache, leaking memory) survives it: the next call starts
  from the template again, so a verdict depends only on its own arguments.
- **Deadline.** The template waits ``timeout_s`` for the child's answer, then kills it: :data:`TIMEOUT`. The
  child also has ``RLIMIT_CPU`` just above the deadline, and dies with the template (``PR_SET_PDEATHSIG``).
  The caller waits ``timeout_s`` plus a grace period for the template, and replaces a template that did not
  answer (not expected: it runs nothing hostile).
- **Memory.** The child's address space is capped (``RLIMIT_AS``, ``memory_mb``): a call that would exhaust it
  fails with ``MemoryError`` inside the child, :data:`OUT_OF_MEMORY`, instead of pushing the host into swap
  or the OOM killer.
- **One-way data.** The child writes its result as JSON on a pipe of its own (never pickle) and closes the
  template's connection to the caller first, so it cannot speak to the caller directly.

math-verify's own timeouts use ``signal.alarm``, which only works in the main thread; they are off, and this
pool enforces the deadline from outside. The templates are started by a forkserver that preloads the same
modules, so that a template (first start or replacement) is ready in milliseconds.
"""

from __future__ import annotations

import gc
import importlib
import json
import math
import multiprocessing as mp
import os
import resource
import select
import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, Sequence

TIMEOUT = object()
"""A call that missed its deadline."""
OUT_OF_MEMORY = object()
"""A call that exceeded its address-space limit."""
FAILED = object()
"""A call that raised, or whose process died without an answer."""

GRACE_S = 5.0  # what the caller adds to the deadline before it gives up on a template
MAX_RESULT_BYTES = 1 << 20
PR_SET_PDEATHSIG = 1


def _child(fn: Callable[..., Any], args: tuple, out: int, timeout_s: float, memory_mb: int | None, libc) -> None:
    """Runs in the fork: limits, the call, its JSON result on ``out``; never returns."""
    try:
        if libc is not None:
            libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        cpu = math.ceil(timeout_s) + 1
        resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
        if memory_mb is not None:
            limit = memory_mb << 20
            resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
        try:
            reply: list[Any] = ["ok", fn(*args)]
        except MemoryError:
            reply = ["memory"]
        except BaseException as exc:  # noqa: BLE001 - every failure of the call is a failed call
            reply = ["error", f"{type(exc).__name__}: {str(exc)[:200]}"]
        data = json.dumps(reply).encode()
        while data:
            data = data[os.write(out, data):]
    finally:
        os._exit(0)


def _run_forked(fn: Callable[..., Any], args: tuple, timeout_s: float, memory_mb: int | None, conn, libc) -> list:
    """The template's side of one call: fork, wait for the answer until the deadline, reap."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read)
        conn.close()  # the child has no channel to the caller
        _child(fn, args, write, timeout_s, memory_mb, libc)
    os.close(write)
    chunks, size, deadline = [], 0, time.monotonic() + timeout_s
    try:
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not select.select([read], [], [], remaining)[0]:
                os.kill(pid, signal.SIGKILL)
                return ["timeout"]
            chunk = os.read(read, 65536)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
            if size > MAX_RESULT_BYTES:
                os.kill(pid, signal.SIGKILL)
                return ["error", "result too large"]
    finally:
        os.close(read)
        os.waitpid(pid, 0)
    try:
        reply = json.loads(b"".join(chunks))
    except ValueError:
        return ["error", "the verifier process died without an answer"]
    return reply if isinstance(reply, list) and reply else ["error", "malformed answer"]


def _serve(conn, fn: Callable[..., Any], preload: Sequence[str], warmup: Sequence[tuple], timeout_s: float,
           memory_mb: int | None) -> None:
    import ctypes

    for name in preload:
        importlib.import_module(name)
    for args in warmup:  # trusted inputs only: builds lazy caches in the template, shared by every fork
        fn(*args)
    try:
        libc = ctypes.CDLL(None)
    except OSError:
        libc = None
    gc.collect()
    gc.freeze()  # the forks' garbage collector leaves the template's objects (and their pages) alone
    conn.send("ready")
    while True:
        try:
            args = conn.recv()
        except EOFError:
            return
        conn.send(_run_forked(fn, args, timeout_s, memory_mb, conn, libc))


class _Worker:
    def __init__(self, ctx, fn: Callable[..., Any], preload: Sequence[str], warmup: Sequence[tuple],
                 timeout_s: float, memory_mb: int | None) -> None:
        self.ctx, self.fn, self.preload, self.warmup = ctx, fn, tuple(preload), tuple(warmup)
        self.timeout_s, self.memory_mb = timeout_s, memory_mb
        self.restarts = 0
        self._start()

    def _start(self) -> None:
        self.conn, child = self.ctx.Pipe()
        self.proc = self.ctx.Process(target=_serve, daemon=True,
                                     args=(child, self.fn, self.preload, self.warmup, self.timeout_s, self.memory_mb))
        self.proc.start()
        child.close()
        try:
            ready = self.conn.recv()  # outside any call's deadline
        except EOFError:
            ready = None
        if ready != "ready":
            raise RuntimeError(f"verifier worker failed to start (exit code {self.proc.exitcode})")

    def call(self, args: tuple) -> Any:
        try:
            self.conn.send(args)
        except OSError:  # the template died since the last call (killed from outside): start another
            self.restart()
            self.conn.send(args)
        if self.conn.poll(self.timeout_s + GRACE_S):
            try:
                reply = self.conn.recv()
            except (EOFError, OSError):
                reply = ["error", "worker died"]
            if not self.proc.is_alive():
                self.restart()
        else:
            self.restart()
            reply = ["timeout"]
        return {"ok": lambda: reply[1], "timeout": lambda: TIMEOUT,
                "memory": lambda: OUT_OF_MEMORY}.get(reply[0], lambda: FAILED)()

    def restart(self) -> None:
        self.restarts += 1
        self.proc.kill()
        self.proc.join()
        self.conn.close()
        self._start()

    def close(self) -> None:
        self.proc.kill()
        self.proc.join()
        self.conn.close()


class DeadlinePool:
    """``map(args_list)`` runs ``fn(*args)`` for each, in ``workers`` templates, each call in a fresh fork within
    ``timeout_s`` and ``memory_mb`` of address space. A call returns its JSON-serialisable value, or
    :data:`TIMEOUT`, :data:`OUT_OF_MEMORY` or :data:`FAILED`. ``fn`` must be importable (a module-level
    function of a ``preload`` module); ``warmup`` calls run once in each template, on trusted inputs only.
    """

    def __init__(self, fn: Callable[..., Any], workers: int = 2, timeout_s: float = 5.0,
                 preload: Sequence[str] = (), memory_mb: int | None = 1024, warmup: Sequence[tuple] = ()) -> None:
        self.fn, self.preload, self.warmup, self.memory_mb = fn, tuple(preload), tuple(warmup), memory_mb
        self.timeout_s, self.size = timeout_s, workers
        self._workers: list[_Worker] | None = None
        self._free: list[_Worker] = []
        self._lock = threading.Condition()

    @property
    def workers(self) -> list[_Worker]:
        """The templates, started on first use: a scorer whose pairs plain string work decides never pays for
        them (a stage's start-up stays short)."""
        with self._lock:
            if self._workers is None:
                ctx = mp.get_context("forkserver")
                ctx.set_forkserver_preload(list(self.preload))  # effective when this process's forkserver starts
                self._workers = [_Worker(ctx, self.fn, self.preload, self.warmup, self.timeout_s, self.memory_mb)
                                 for _ in range(self.size)]
                self._free = list(self._workers)
            return self._workers

    def _take(self) -> _Worker:
        self.workers  # noqa: B018 (starts the templates on the first call)
        with self._lock:
            while not self._free:
                self._lock.wait()
            return self._free.pop()

    def _give(self, worker: _Worker) -> None:
        with self._lock:
            self._free.append(worker)
            self._lock.notify()

    def call(self, *args: Any) -> Any:
        worker = self._take()
        try:
            return worker.call(args)
        finally:
            self._give(worker)

    def map(self, args_list: Sequence[tuple]) -> list[Any]:
        if not args_list:
            return []
        with ThreadPoolExecutor(self.size) as threads:
            return list(threads.map(lambda args: self.call(*args), args_list))

    def close(self) -> None:
        with self._lock:
            workers, self._workers, self._free = self._workers or [], None, []
        for worker in workers:
            worker.close()

    def __enter__(self) -> "DeadlinePool":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

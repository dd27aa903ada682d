"""A pool of worker processes with a hard per-call deadline enforced from outside.

math-verify's own timeouts use ``signal.alarm``, which only works in the main thread.
We turn them off and run each call in a worker process instead; a call that misses its
deadline gets its worker killed (and replaced) and returns :data:`TIMEOUT`.

A replacement worker must be cheap and ready before its next call's deadline starts:
otherwise its first call pays the import of math-verify and sympy (seconds), misses the
deadline under load, gets killed again, and the pool livelocks. So the forkserver preloads
the ``preload`` modules (workers fork with them imported, in milliseconds), and a worker
reports ready only after importing them.
"""

from __future__ import annotations

import importlib
import multiprocessing as mp
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, Sequence

TIMEOUT = object()


def _serve(conn, fn: Callable[..., Any], preload: Sequence[str]) -> None:
    for name in preload:
        importlib.import_module(name)
    conn.send("ready")
    while True:
        try:
            args = conn.recv()
        except EOFError:
            return
        try:
            conn.send((True, fn(*args)))
        except Exception as exc:  # noqa: BLE001
            conn.send((False, f"{type(exc).__name__}: {exc}"))


class _Worker:
    def __init__(self, ctx, fn: Callable[..., Any], preload: Sequence[str]) -> None:
        self.ctx, self.fn, self.preload = ctx, fn, tuple(preload)
        self.restarts = 0
        self._start()

    def _start(self) -> None:
        self.conn, child = self.ctx.Pipe()
        self.proc = self.ctx.Process(target=_serve, args=(child, self.fn, self.preload), daemon=True)
        self.proc.start()
        child.close()
        if self.conn.recv() != "ready":  # outside any call's deadline
            raise RuntimeError("deadline worker failed to start")

    def call(self, args: tuple, timeout: float) -> Any:
        self.conn.send(args)
        if self.conn.poll(timeout):
            try:
                ok, value = self.conn.recv()
            except (EOFError, OSError):
                ok, value = False, "worker died"
            if not self.proc.is_alive():
                self.restart()
            return value if ok else None
        self.restart()
        return TIMEOUT

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
    """``map(args_list)`` runs ``fn(*args)`` in ``workers`` processes, each call within ``timeout_s``.

    A call that raises returns ``None``; one that misses the deadline returns :data:`TIMEOUT`.
    """

    def __init__(self, fn: Callable[..., Any], workers: int = 2, timeout_s: float = 5.0,
                 preload: Sequence[str] = ()) -> None:
        ctx = mp.get_context("forkserver")
        ctx.set_forkserver_preload(list(preload))  # effective when this process's forkserver starts
        self.timeout_s = timeout_s
        self.workers = [_Worker(ctx, fn, preload) for _ in range(workers)]
        self._free = list(self.workers)
        self._lock = threading.Condition()

    def _take(self) -> _Worker:
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
            return worker.call(args, self.timeout_s)
        finally:
            self._give(worker)

    def map(self, args_list: Sequence[tuple]) -> list[Any]:
        with ThreadPoolExecutor(len(self.workers)) as threads:
            return list(threads.map(lambda args: self.call(*args), args_list))

    def close(self) -> None:
        for worker in self.workers:
            worker.close()

    def __enter__(self) -> "DeadlinePool":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

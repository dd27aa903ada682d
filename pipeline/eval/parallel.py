"""Many evaluations at once: ``(model, task, split)`` units, side by side in worker processes on a CPU.

Every unit seeds torch itself (:func:`~pipeline.eval.evaluate.evaluate_split`), so its result does not
depend on which process runs it, or when. With the ``transformers`` backend on a CPU, ``eval.workers``
processes (default: one per core the stage may use; ``OMP_NUM_THREADS`` under Snakemake) evaluate
units side by side, one torch thread each: a tiny model's small matrix products and the reward scoring
(sandboxed programs, math-verify) use a second core poorly, and on the embedded default two one-thread
workers got through 8 evaluations in 58.6 s against 67.0 s for one process on two threads. A unit is
computed the same way whatever the number of workers: each runs on a single torch thread, in the main
process when there is one worker (80.3 s for the same 8), so both workflow tools and any core count give
the same results. With vLLM or a GPU, one worker evaluates in the main process on the device.
"""

from __future__ import annotations

import multiprocessing as mp
import os
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Sequence

from ..config import Params
from ..progress import progress


@dataclass(frozen=True)
class Unit:
    """One evaluation: the model at ``path`` (called ``name`` in the tables) on ``task``'s ``split``."""

    name: str
    path: str
    task: str
    split: str


def cpu_budget() -> int:
    """Cores this stage may use: ``OMP_NUM_THREADS`` when set (Snakemake sets it to the job's threads),
    else the CPUs this process may run on."""
    value = os.environ.get("OMP_NUM_THREADS", "")
    if value.isdigit() and int(value) > 0:
        return int(value)
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def worker_count(params: Params, units: int) -> int:
    """Processes for ``units`` evaluations: ``eval.workers`` (null: :func:`cpu_budget`), capped by the number
    of units; 1 with vLLM or when a GPU is present (the device is the bottleneck there)."""
    import torch

    if params.eval.backend != "transformers" or torch.cuda.is_available():
        return 1
    return max(1, min(params.eval.workers or cpu_budget(), units))


class _Evaluator:
    """Evaluates units in one process, keeping the last model loaded and one reward model."""

    def __init__(self, params: Params, curated: Path, processes: int = 1) -> None:
        from ..rewards.total import RewardModel

        self.params, self.curated = params, Path(curated)
        self.rewards = RewardModel(params.rewards, judge_processes=processes)  # an API judge's share of concurrency
        self.path: str | None = None
        self.generator = None

    def __call__(self, unit: Unit) -> dict[str, Any]:
        from ..eval.evaluate import evaluate_split
        from ..eval.generators import open_generator

        if unit.path != self.path:
            self.release()
            self.generator, self.path = open_generator(unit.path, self.params.eval, self.params.seed), unit.path
        return evaluate_split(self.generator, self.curated, unit.task, unit.split, self.params.eval, self.rewards,
                              self.params.seed)

    def release(self) -> None:
        if self.generator is not None:
            self.generator.close()
        self.generator, self.path = None, None

    def close(self) -> None:
        self.release()
        self.rewards.close()


_WORKER: _Evaluator | None = None


def die_with_parent(parent: int) -> None:
    """Have the kernel kill this process when its parent dies (Linux ``PR_SET_PDEATHSIG``), so that a killed
    or timed-out stage (SIGTERM/SIGKILL from Slurm) leaves no worker behind; exits at once if the parent is
    already gone."""
    import ctypes
    import signal

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG = 1
    except (OSError, AttributeError):  # not Linux: nothing to set
        return
    if os.getppid() != parent:
        os._exit(1)


def _init_worker(params: Params, curated: str, processes: int, parent: int) -> None:
    from multiprocessing.util import Finalize

    import torch

    die_with_parent(parent)
    global _WORKER
    torch.set_num_threads(1)
    _WORKER = _Evaluator(params, Path(curated), processes)
    Finalize(_WORKER, _WORKER.close, exitpriority=10)  # the reward pools end with the worker


def _run_unit(unit: Unit) -> dict[str, Any]:
    assert _WORKER is not None
    return _WORKER(unit)


def evaluate_units(units: list[Unit], params: Params, curated: Path, desc: str = "evaluate",
                   reuse: Sequence[Path] = ()) -> Iterator[tuple[Unit, dict[str, Any]]]:
    """``(unit, result)`` for every unit, in the order given (results of :func:`evaluate_split`, with
    ``per_prompt``, plus ``key`` (:func:`~pipeline.eval.reuse.unit_key`) and ``reused``); in ``worker_count``
    processes side by side. Units whose result is stored in a ``reuse`` folder are not evaluated again."""
    from .reuse import load_results, unit_key

    keys = [unit_key(Path(u.path), u.task, u.split, params, Path(curated)) for u in units]
    stored = load_results(reuse) if reuse else {}
    todo = [u for u, key in zip(units, keys) if key not in stored]
    if reuse:
        print(f"{desc}: {len(units) - len(todo)} of {len(units)} evaluations reused from "
              f"{', '.join(map(str, reuse))}", flush=True)
    computed = _evaluate(todo, params, curated, desc)
    try:
        for unit, key in zip(units, keys):
            if key in stored:
                yield unit, {**stored[key], "key": key, "reused": True}
            else:
                done, result = next(computed)
                assert done == unit
                yield unit, {**result, "key": key, "reused": False}
        # Run the evaluation past its last unit: its workers then end normally (closing it instead, as when the
        # caller stops early, kills them) and its progress bar shows every unit.
        assert next(computed, None) is None
    finally:
        computed.close()


def _first_failure_or(future: Future, futures: list[Future]) -> None:
    """Wait until ``future`` is done, raising at once the error of any unit that fails meanwhile."""
    while not future.done():
        wait([f for f in futures if not f.done()], return_when=FIRST_COMPLETED)
        for other in futures:
            if other.done() and not other.cancelled() and other.exception() is not None:
                raise other.exception()


def _evaluate(units: list[Unit], params: Params, curated: Path, desc: str) -> Iterator[tuple[Unit, dict[str, Any]]]:
    import torch

    if not units:
        return
    workers = worker_count(params, len(units))
    bar = progress(total=len(units), desc=desc, unit="eval")
    try:
        if workers == 1:
            threads = torch.get_num_threads()
            if params.eval.backend == "transformers" and not torch.cuda.is_available():
                torch.set_num_threads(1)  # the same arithmetic as a worker process's
            evaluator = _Evaluator(params, curated)
            try:
                for unit in units:
                    yield unit, evaluator(unit)
                    bar.update(1)
            finally:
                evaluator.close()
                torch.set_num_threads(threads)
            return
        context = mp.get_context("spawn")  # no fork of a process that holds torch threads and reward pools
        with ProcessPoolExecutor(workers, mp_context=context, initializer=_init_worker,
                                 initargs=(params, str(curated), workers, os.getpid())) as pool:
            futures = [pool.submit(_run_unit, unit) for unit in units]
            try:
                for unit, future in zip(units, futures):
                    _first_failure_or(future, futures)
                    yield unit, future.result()
                    bar.update(1)
            except BaseException:  # a failed unit (or the caller stopping): stop the others now, not after the queue
                for process in list(getattr(pool, "_processes", {}).values()):
                    process.kill()
                pool.shutdown(wait=False, cancel_futures=True)
                raise
    finally:
        bar.close()

"""Several generation engines on one node, each on its own GPUs, sharing every ``sample`` call: the RFT
baseline's sampling uses the whole GPU node its job requests (128 responses for each of ~26,000 train prompts at
paper scale), not one GPU of eight.

Each engine is a process of its own with ``CUDA_VISIBLE_DEVICES`` set to its GPUs before anything imports
CUDA, running the ``eval.backend`` generator on the model (vLLM's offline engine at scale; data parallelism
for a dense model needs nothing more: the engines share no state). A call's prompts are split into contiguous
shards, one per engine, and the results joined in prompt order. With vLLM the samples are the ones a single
engine would draw: a request's seed is ``seed + prompt·n`` (:func:`~.generators.vllm_request_seed`), so the
shard starting at prompt ``s`` is sampled with ``seed + s·n``. How many engines, and so how many GPUs, is one
derivation shared with the job's request (:func:`rft_engines`).
"""

from __future__ import annotations

import multiprocessing as mp
import os
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from ..config import EvalParams, Params
from .generators import Generation, Messages, open_generator


def rft_engines(params: Params) -> tuple[int, int]:
    """(engines, GPUs per engine) of the RFT sampling: the GPUs of the ``sft_rft`` job's node
    (:mod:`pipeline.workflow.resources`), ``eval.vllm.tensor_parallel_size`` per engine; one engine in the
    stage's own process on a CPU."""
    from ..workflow.resources import gpu_shape
    from ..workflow.stages import STAGES

    gpus = gpu_shape(next(s for s in STAGES if s.name == "sft_rft"), params).gpus_per_node
    if params.eval.backend != "vllm" or gpus == 0:
        return 1, 0
    per_engine = params.eval.vllm.tensor_parallel_size
    return max(1, gpus // per_engine), per_engine


def shards(count: int, parts: int) -> list[tuple[int, int]]:
    """``count`` prompts as at most ``parts`` contiguous (start, stop) ranges, sizes differing by at most one."""
    parts = max(1, min(parts, count))
    bounds = [count * k // parts for k in range(parts + 1)]
    return [(a, b) for a, b in zip(bounds, bounds[1:]) if b > a]


_ENGINE: dict[str, Any] = {}


def _start_engine(path: str, params: EvalParams, seed: int, devices: str | None, parent: int) -> None:
    """A worker's start: its GPUs, then its engine (kept for the process's lifetime)."""
    from .parallel import die_with_parent

    if devices is not None:
        os.environ["CUDA_VISIBLE_DEVICES"] = devices
    die_with_parent(parent)
    _ENGINE["generator"] = open_generator(path, params, seed)


def _engine_devices() -> str | None:
    return os.environ.get("CUDA_VISIBLE_DEVICES")


def _engine_sample(prompts: list[Messages], kwargs: dict[str, Any]) -> Generation:
    return _ENGINE["generator"].sample(prompts, **kwargs)


class EnginePool:
    """``engines`` generator processes (each on ``gpus_per_engine`` GPUs of the node), used as one generator."""

    def __init__(self, path: str | Path, params: EvalParams, seed: int, engines: int, gpus_per_engine: int) -> None:
        context = mp.get_context("spawn")  # a fresh interpreter: CUDA is initialised after its devices are set
        self.workers = []
        for rank in range(engines):
            devices = ",".join(str(rank * gpus_per_engine + g) for g in range(gpus_per_engine)) \
                if gpus_per_engine else None
            self.workers.append(ProcessPoolExecutor(1, mp_context=context, initializer=_start_engine,
                                                    initargs=(str(path), params, seed, devices, os.getpid())))

    def devices(self) -> list[str | None]:
        """Each engine's ``CUDA_VISIBLE_DEVICES``."""
        return [w.submit(_engine_devices).result() for w in self.workers]

    def sample(self, prompts: list[Messages], n: int, max_new_tokens: int, temperature: float, top_p: float,
               top_k: int, greedy: bool = False, with_entropy: bool = False,
               seed: int | None = None) -> Generation:
        jobs = []
        for worker, (start, stop) in zip(self.workers, shards(len(prompts), len(self.workers))):
            kwargs = {"n": n, "max_new_tokens": max_new_tokens, "temperature": temperature, "top_p": top_p,
                      "top_k": top_k, "greedy": greedy, "with_entropy": with_entropy,
                      "seed": None if seed is None else seed + start * n}
            jobs.append(worker.submit(_engine_sample, prompts[start:stop], kwargs))
        parts = [job.result() for job in jobs]
        entropy = np.concatenate([p.entropy for p in parts]) if with_entropy and parts else None
        return Generation([t for p in parts for t in p.texts], entropy)

    def close(self) -> None:
        for worker in self.workers:
            worker.shutdown(cancel_futures=True)


def open_engines(path: str | Path, params: Params, seed: int):
    """The RFT sampler: :func:`rft_engines` engines, or the ``eval.backend`` generator in this process when
    that is one."""
    engines, per_engine = rft_engines(params)
    if engines == 1:
        return open_generator(path, params.eval, seed)
    return EnginePool(path, params.eval, seed, engines, per_engine)

"""Training is a function of (commit, params, machine, thread count), also on a loaded machine.

Some of torch's CPU backward kernels accumulate in an order that depends on scheduling: three identical
GRPO steps of the embedded default, run side by side on 2 threads, gave three different gradients (from the
second layer down; forward passes, rewards and sampled tokens identical), so two clean `make run`s of one
commit drifted apart over the joint run's 460 steps (issue 23). torch's deterministic mode selects
order-fixed kernels: the same three runs give bit-identical gradients (``tests/models/test_determinism.py``).
``warn_only``: an op without a deterministic kernel (on a GPU) warns instead of failing the run.

The thread count is part of the arithmetic too: torch splits a reduction into one chunk per thread, so a run on
one thread and a run on two agree to float rounding only (about 1e-7 in the entropies after a few steps). Every
training stage therefore sets it from params (``train.threads``).
"""

from __future__ import annotations

import torch


def deterministic_training(threads: int | None) -> None:
    """Use torch's deterministic kernels and ``threads`` intra-op threads from here on (process-wide; call before
    a training loop). ``threads`` is params ``train.threads`` in a stage, so the result does not depend on the tool
    that started it (Snakemake sets ``OMP_NUM_THREADS`` per job, DVC leaves torch's default of one per core);
    None keeps the process's current count."""
    torch.use_deterministic_algorithms(True, warn_only=True)
    if threads is not None:
        torch.set_num_threads(threads)

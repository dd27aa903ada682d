"""Training is a function of (commit, params, machine, thread count), also on a loaded machine.

Some of torch's CPU backward kernels accumulate in an order that depends on scheduling: three identical
GRPO steps of the embedded default, run side by side on 2 threads, gave three different gradients (from the
second layer down; forward passes, rewards and sampled tokens identical), so two clean `make run`s of one
commit drifted apart over the joint run's 460 steps (issue 23). torch's deterministic mode selects
order-fixed kernels: the same three runs give bit-identical gradients (``tests/models/test_determinism.py``).
``warn_only``: an op without a deterministic kernel (on a GPU) warns instead of failing the run.
"""

from __future__ import annotations

import torch


def deterministic_training() -> None:
    """Use torch's deterministic kernels from here on (process-wide; call before a training loop)."""
    torch.use_deterministic_algorithms(True, warn_only=True)

"""Eq. 3 over the defined rewards, as verl 0.9.1's advantage estimator ``omni_grpo`` (``algorithm.adv_estimator``).

Why not verl's own ``grpo``: a sample whose reward could not be computed (the judge did not answer, its verdict
stayed undefined, the reward raised) must not enter an update as a number. verl's reward managers only carry a
float per sample into ``rm_scores`` (the extra fields stay in the reward loop), and its V1 trainer hands the
advantage estimator nothing but those scores, the response mask and the group ids. So the reward function
(:mod:`pipeline.rewards.verl_entry`) returns NaN for such a sample, and this estimator gives it advantage 0
and leaves it out of its group's μ_q and σ_q (:func:`pipeline.rl.grpo.grpo_advantages_over_defined`, what the
local trainer computes).

It counts the undefined rewards of each update: one line per update in ``$OMNI_UNDEFINED_LOG`` (the run folder's
``undefined.jsonl``), and when their share passes ``$OMNI_MAX_UNDEFINED_SHARE`` (params
``rewards.max_undefined_share``) it raises :class:`UndefinedRewards`, which ends the verl run; the stage then
reports the step, the count and the first cause in one line (:mod:`pipeline.scale.verl_run`).

verl computes advantages in its trainer process (a Ray actor), so the estimator is registered there by Ray's
``worker_process_setup_hook`` (:func:`register`, set in the run's overrides), in every process of the job.
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..rl.grpo import grpo_advantages_over_defined

ESTIMATOR = "omni_grpo"
UNDEFINED_LOG_ENV = "OMNI_UNDEFINED_LOG"
MAX_SHARE_ENV = "OMNI_MAX_UNDEFINED_SHARE"
SETUP_HOOK = f"{__name__}.register"
"""``ray_kwargs.ray_init.runtime_env.worker_process_setup_hook``: imported and called in every Ray worker."""

_UPDATES = {"count": 0}
_LOCK = threading.Lock()


class UndefinedRewards(RuntimeError):
    """Too many rewards of one update were not computed: the run stops rather than train on what is left."""


def register() -> None:
    """Register :func:`omni_grpo_advantage` with verl's estimator registry (idempotent)."""
    from verl.trainer.ppo.core_algos import ADV_ESTIMATOR_REGISTRY, register_adv_est

    if ADV_ESTIMATOR_REGISTRY.get(ESTIMATOR) is not omni_grpo_advantage:
        register_adv_est(ESTIMATOR)(omni_grpo_advantage)


def group_ids(index: Any) -> torch.Tensor:
    """verl's per-sample group ids (``uid`` strings, one per prompt) as integers."""
    _, inverse = np.unique(np.asarray(index, dtype=object).astype(str), return_inverse=True)
    return torch.as_tensor(inverse.reshape(-1), dtype=torch.long)


def omni_grpo_advantage(token_level_rewards: torch.Tensor, response_mask: torch.Tensor, index: Any = None,
                        config: Any = None, epsilon: float = 1e-6, **_: Any) -> tuple[torch.Tensor, torch.Tensor]:
    """Eq. 3 over the defined rewards (a sample's reward: its row's sum; NaN when undefined), broadcast over
    its response tokens: (advantages, returns), as verl's estimators return them. Counts and checks the
    undefined share of this update first."""
    if config is not None and not config.get("norm_adv_by_std_in_grpo", True):
        raise ValueError(f"{ESTIMATOR} is Eq. 3, which divides by σ_q: algorithm.norm_adv_by_std_in_grpo must be true")
    if index is None:
        raise ValueError(f"{ESTIMATOR} needs the batch's group ids (uid)")
    scores = token_level_rewards.sum(dim=-1)
    defined = torch.isfinite(scores)
    check_undefined_share(int((~defined).sum()), len(scores))
    advantages = grpo_advantages_over_defined(torch.where(defined, scores, 0.0), group_ids(index), defined, epsilon)
    advantages = advantages.unsqueeze(-1) * response_mask
    return advantages, advantages


def check_undefined_share(undefined: int, samples: int) -> None:
    """Log this update's count of undefined rewards and raise when their share passes the run's limit."""
    with _LOCK:
        _UPDATES["count"] += 1
        update = _UPDATES["count"]
    log = os.environ.get(UNDEFINED_LOG_ENV)
    if log:
        with open(log, "a", encoding="utf-8") as f:
            f.write(json.dumps({"update": update, "undefined": undefined, "samples": samples}) + "\n")
    limit = float(os.environ.get(MAX_SHARE_ENV, "0"))
    if samples and undefined / samples > limit:
        raise UndefinedRewards(f"update {update}: {undefined} of {samples} rewards undefined "
                               f"(share {undefined / samples:.3f} > rewards.max_undefined_share {limit})")


def read_undefined_log(path: Path) -> list[dict[str, int]]:
    """The per-update counts a run logged (empty when it logged none)."""
    if not Path(path).exists():
        return []
    return [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines() if line.strip()]

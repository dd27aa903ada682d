"""MT-GRPO objective (Eqs. 2–5), as pure functions on tensors.

Shapes: ``N`` sampled responses (``B`` prompts × ``G`` samples), ``T`` response tokens.

Choices where the paper is silent, made to agree with verl's ``core_algos`` (the scale
backend), and pinned by tests that compare both on random tensors:

- σ_q in Eq. 2 is the *unbiased* standard deviation of the group (``torch.std``), and
  Eq. 3 divides by ``σ_q + ε`` with ``ε = 1e-6``. A group whose rewards are all equal
  (σ_q = 0) therefore gets zero advantages: its samples contribute no policy gradient,
  only the KL term (and are counted as ``zero_std_groups`` in the logs).
- Eq. 4's ``1/|o|`` per-sequence normalisation followed by the group mean is verl's
  ``loss_agg_mode="seq-mean-token-mean"``; Eq. 4 has no dual clip (verl's
  ``clip_ratio_c`` must be disabled to match).
- The KL term of Eq. 5 is the k3 estimator ``π_ref/π − log(π_ref/π) − 1`` (verl's
  ``low_var_kl``, without its clamps), weighted per sample by the β_k of its task.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor


def group_mean_std(rewards: Tensor, group: Tensor) -> tuple[Tensor, Tensor]:
    """Eq. 2: per-sample mean μ_q and (unbiased) std σ_q of its group's rewards.

    Args:
        rewards: ``(N,)`` scalar rewards R_k(q, o_i).
        group: ``(N,)`` integer group id (one per prompt q).

    Returns:
        ``(N,)`` μ_q and ``(N,)`` σ_q, broadcast back to every sample of the group
        (σ_q = 0 for a group of one).
    """
    groups, inverse, counts = torch.unique(group, return_inverse=True, return_counts=True)
    r = rewards.to(torch.float64)
    sums = torch.zeros(len(groups), dtype=torch.float64).index_add_(0, inverse, r)
    mean = sums / counts
    sq = torch.zeros(len(groups), dtype=torch.float64).index_add_(0, inverse, (r - mean[inverse]) ** 2)
    var = torch.where(counts > 1, sq / (counts - 1).clamp(min=1), torch.zeros_like(sq))
    return mean[inverse].to(rewards.dtype), var.sqrt()[inverse].to(rewards.dtype)


def grpo_advantages(rewards: Tensor, group: Tensor, eps: float = 1e-6) -> Tensor:
    """Eq. 3: Â_{q,i} = (R_k(q, o_i) − μ_q) / (σ_q + ε), shape ``(N,)``."""
    mean, std = group_mean_std(rewards, group)
    return (rewards - mean) / (std + eps)


def grpo_advantages_over_defined(rewards: Tensor, group: Tensor, defined: Tensor, eps: float = 1e-6) -> Tensor:
    """Eq. 3 over the defined rewards only, shape ``(N,)``: a sample whose reward is undefined (an unanswered
    judge, a failed check) gets advantage 0 and moves neither μ_q nor σ_q of its group. At the defined samples
    this is :func:`grpo_advantages` of the defined samples alone (what the local trainer computes after dropping
    the others); the verl backend, which keeps every sample in its batch, uses this form."""
    advantages = torch.zeros_like(rewards)
    if defined.any():
        advantages[defined] = grpo_advantages(rewards[defined], group[defined], eps)
    return advantages


def policy_ratio(logp: Tensor, old_logp: Tensor) -> Tensor:
    """Eq. 3: ρ_{q,i,t} = π_θ / π_θold = exp(log π_θ − log π_θold), shape ``(N, T)``."""
    return torch.exp(logp - old_logp)


def clipped_surrogate(ratio: Tensor, advantages: Tensor, eps_low: float, eps_high: float) -> Tensor:
    """Eq. 4's per-token term min[ρ Â, clip(ρ, 1 − ε_low, 1 + ε_high) Â], shape ``(N, T)``.

    ``advantages`` is ``(N,)`` (one per sequence) or ``(N, T)``.
    """
    adv = advantages.unsqueeze(-1) if advantages.dim() == ratio.dim() - 1 else advantages
    return torch.minimum(ratio * adv, torch.clamp(ratio, 1.0 - eps_low, 1.0 + eps_high) * adv)


def kl_estimator(logp: Tensor, ref_logp: Tensor) -> Tensor:
    """Eq. 5: D_KL ≈ π_ref/π_θ − log(π_ref/π_θ) − 1 per token (≥ 0), shape ``(N, T)``."""
    log_ratio = ref_logp - logp
    return torch.exp(log_ratio) - log_ratio - 1.0


def sequence_mean(values: Tensor, mask: Tensor) -> Tensor:
    """(1/|o_i|) Σ_t values over the response tokens of each sequence, shape ``(N,)``."""
    m = mask.to(values.dtype)
    return (values * m).sum(-1) / m.sum(-1).clamp(min=1.0)


def rows_with_gradient(advantages: Tensor, beta: Tensor) -> Tensor:
    """Indices of the rows whose Eq. 4 term can have a gradient: all rows when some β_k > 0 (the KL term of
    Eq. 5 involves every row), otherwise the rows with Â ≠ 0.

    With β = 0 a row with Â = 0 (every row of a σ_q = 0 group, Eq. 3) contributes min[ρ·0, clip(ρ)·0] ≡ 0 to
    the objective for any θ, so zero value and zero gradient: leaving it out of the forward and backward pass
    and scaling the mean by (kept rows / all rows) gives the same loss and gradient.
    """
    if bool((beta > 0).any()):
        return torch.arange(len(advantages), device=advantages.device)
    return torch.nonzero(advantages != 0).squeeze(-1)


@dataclass(frozen=True)
class LossOutput:
    loss: Tensor
    clip_fraction: Tensor
    kl: Tensor
    ratio_mean: Tensor


def mt_grpo_loss(logp: Tensor, old_logp: Tensor, advantages: Tensor, mask: Tensor, eps_low: float, eps_high: float,
                 beta: Tensor | None = None, ref_logp: Tensor | None = None) -> LossOutput:
    """The negative MT-GRPO objective of Eq. 4 for one mini-batch (minimise it).

    ``−(1/N) Σ_i (1/|o_i|) Σ_t {min[ρ Â, clip(ρ) Â] − β_k(i) D_KL}``, averaging over all
    sequences of the batch (the expectation over tasks and prompts, then the 1/G mean).

    Args:
        logp, old_logp: ``(N, T)`` token log-probs under π_θ and π_θold.
        advantages: ``(N,)`` Â from :func:`grpo_advantages`.
        mask: ``(N, T)`` 1 on response tokens (up to and including EOS).
        beta: ``(N,)`` β_k of each sample's task; ``None`` or all zero skips the KL term.
        ref_logp: ``(N, T)`` token log-probs under π_ref (needed when some β_k > 0).
    """
    ratio = policy_ratio(logp, old_logp)
    surrogate = clipped_surrogate(ratio, advantages, eps_low, eps_high)
    per_token = surrogate
    kl = torch.zeros((), dtype=logp.dtype)
    if beta is not None and bool((beta > 0).any()):
        if ref_logp is None:
            raise ValueError("ref_logp is required when some beta_k > 0")
        kl_tok = kl_estimator(logp, ref_logp)
        per_token = surrogate - beta.unsqueeze(-1) * kl_tok
        kl = sequence_mean(kl_tok, mask).mean()
    objective = sequence_mean(per_token, mask).mean()
    m = mask.to(logp.dtype)
    adv = advantages.unsqueeze(-1).expand_as(ratio)
    clipped = ((ratio * adv) > (torch.clamp(ratio, 1.0 - eps_low, 1.0 + eps_high) * adv)).to(logp.dtype)
    clip_fraction = (clipped * m).sum() / m.sum().clamp(min=1.0)
    return LossOutput(loss=-objective, clip_fraction=clip_fraction.detach(), kl=kl.detach(),
                      ratio_mean=((ratio * m).sum() / m.sum().clamp(min=1.0)).detach())

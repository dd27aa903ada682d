import math

import numpy as np
import pytest
import torch

from pipeline.rl.grpo import (
    clipped_surrogate,
    group_mean_std,
    grpo_advantages,
    kl_estimator,
    mt_grpo_loss,
    policy_ratio,
    rows_with_gradient,
    sequence_mean,
)

from ..conftest import needs_verl


def test_eq2_eq3_hand_computed():
    rewards = torch.tensor([1.0, 0.0, 0.5, 2.0, 2.0])
    group = torch.tensor([0, 0, 0, 1, 1])
    mean, std = group_mean_std(rewards, group)
    # group 0: mean 0.5, unbiased var ((.5)^2+(.5)^2+0)/2 = 0.25 -> std 0.5; group 1: mean 2, std 0
    torch.testing.assert_close(mean, torch.tensor([0.5, 0.5, 0.5, 2.0, 2.0]))
    torch.testing.assert_close(std, torch.tensor([0.5, 0.5, 0.5, 0.0, 0.0]))
    adv = grpo_advantages(rewards, group, eps=0.0)
    torch.testing.assert_close(adv[:3], torch.tensor([1.0, -1.0, 0.0]))
    assert torch.isnan(adv[3:]).all()  # eps=0 exposes the σ=0 case ...
    assert (grpo_advantages(rewards, group)[3:] == 0).all()  # ... which ε turns into zero advantages


def test_ratio_and_clipped_surrogate_hand_computed():
    logp = torch.log(torch.tensor([[0.5, 0.3]]))
    old = torch.log(torch.tensor([[0.25, 0.3]]))
    ratio = policy_ratio(logp, old)
    torch.testing.assert_close(ratio, torch.tensor([[2.0, 1.0]]))
    # A = +1: min(2, clip(2, .8, 1.28)=1.28) = 1.28 ; A = -1: min(-2, -1.28) = -2
    torch.testing.assert_close(clipped_surrogate(ratio, torch.tensor([1.0]), 0.2, 0.28), torch.tensor([[1.28, 1.0]]))
    torch.testing.assert_close(clipped_surrogate(ratio, torch.tensor([-1.0]), 0.2, 0.28), torch.tensor([[-2.0, -1.0]]))
    # ρ = 0.5 < 1 − ε_low with A = +1: min(0.5, 0.8) = 0.5
    torch.testing.assert_close(clipped_surrogate(torch.tensor([[0.5]]), torch.tensor([1.0]), 0.2, 0.2),
                               torch.tensor([[0.5]]))


def test_eq5_kl_hand_computed():
    logp = torch.log(torch.tensor([0.5, 0.2]))
    ref = torch.log(torch.tensor([0.25, 0.2]))
    # π_ref/π = 0.5 -> 0.5 − log 0.5 − 1 = log 2 − 0.5 ; equal -> 0
    torch.testing.assert_close(kl_estimator(logp, ref), torch.tensor([math.log(2) - 0.5, 0.0]))


def test_eq4_normalises_per_sequence_then_averages():
    # Two sequences with lengths 1 and 3; ratio 1 everywhere so the surrogate is Â per token.
    logp = torch.zeros(2, 3)
    mask = torch.tensor([[1, 0, 0], [1, 1, 1]])
    adv = torch.tensor([2.0, -1.0])
    out = mt_grpo_loss(logp, logp, adv, mask, 0.2, 0.2)
    # (1/2)[(1/1)·2 + (1/3)·(−3)] = 0.5 → loss −0.5 (a token-mean would give (2−3)/4)
    assert out.loss.item() == pytest.approx(-0.5)
    assert out.clip_fraction.item() == 0.0
    torch.testing.assert_close(sequence_mean(torch.ones(2, 3), mask), torch.tensor([1.0, 1.0]))


def test_per_task_beta_weights_the_kl():
    logp = torch.log(torch.full((2, 2), 0.5))
    ref = torch.log(torch.full((2, 2), 0.25))
    mask = torch.ones(2, 2)
    adv = torch.zeros(2)
    out = mt_grpo_loss(logp, logp, adv, mask, 0.2, 0.2, beta=torch.tensor([0.0, 1.0]), ref_logp=ref)
    kl = math.log(2) - 0.5
    assert out.loss.item() == pytest.approx(0.5 * kl)  # only the second sample's task has β = 1
    with pytest.raises(ValueError, match="ref_logp"):
        mt_grpo_loss(logp, logp, adv, mask, 0.2, 0.2, beta=torch.tensor([0.0, 1.0]))


def test_rows_without_advantage_can_leave_the_update():
    # β = 0: the rows with Â = 0 are dropped, and the mean over the kept rows scaled by 3/5 has the full
    # loss's value and gradient; with some β_k > 0 every row stays (the KL term needs them).
    torch.manual_seed(0)
    logits = torch.randn(5, 4, requires_grad=True)
    old = torch.log_softmax(torch.randn(5, 4), -1)
    adv = torch.tensor([0.7, 0.0, -1.2, 0.0, 0.5])
    mask = torch.tensor([[1, 1, 1, 1], [1, 1, 0, 0], [1, 0, 0, 0], [1, 1, 1, 0], [1, 1, 1, 1]])
    keep = rows_with_gradient(adv, torch.zeros(5))
    assert keep.tolist() == [0, 2, 4]
    full = mt_grpo_loss(logits, old, adv, mask, 0.2, 0.28).loss
    (grad_full,) = torch.autograd.grad(full, logits)
    part = mt_grpo_loss(logits[keep], old[keep], adv[keep], mask[keep], 0.2, 0.28).loss * (len(keep) / 5)
    (grad_part,) = torch.autograd.grad(part, logits)
    torch.testing.assert_close(part, full)
    torch.testing.assert_close(grad_part, grad_full)
    assert rows_with_gradient(adv, torch.tensor([0.0, 0.1, 0.0, 0.0, 0.0])).tolist() == [0, 1, 2, 3, 4]
    assert len(rows_with_gradient(torch.zeros(3), torch.zeros(3))) == 0


def test_loop_versus_vectorised_advantages():
    rng = np.random.default_rng(0)
    rewards = torch.tensor(rng.normal(size=40))
    group = torch.tensor(np.repeat(np.arange(5), 8))
    adv = grpo_advantages(rewards, group)
    for g in range(5):
        r = rewards[g * 8:(g + 1) * 8]
        expected = (r - r.mean()) / (r.std() + 1e-6)
        torch.testing.assert_close(adv[g * 8:(g + 1) * 8], expected)


def _random(seed=0, n=12, t=7):
    g = torch.Generator().manual_seed(seed)
    mask = (torch.rand(n, t, generator=g) > 0.2).float()
    mask[:, 0] = 1
    return (torch.randn(n, t, generator=g) * 0.1 - 1, torch.randn(n, t, generator=g) * 0.1 - 1,
            torch.randn(n, t, generator=g) * 0.1 - 1, mask, torch.randn(n, generator=g))


@needs_verl
def test_advantages_equal_verl_core_algos():
    from verl.trainer.ppo.core_algos import compute_grpo_outcome_advantage

    _, _, _, mask, scores = _random()
    index = np.repeat(np.arange(3), 4)
    token_rewards = torch.zeros_like(mask)
    last = mask.cumsum(-1).argmax(-1)
    token_rewards[torch.arange(len(scores)), last] = scores
    verl_adv, _ = compute_grpo_outcome_advantage(token_rewards, mask, index)
    ours = grpo_advantages(scores, torch.tensor(index)).unsqueeze(-1) * mask
    torch.testing.assert_close(ours, verl_adv, rtol=1e-5, atol=1e-6)


@needs_verl
def test_policy_loss_equals_verl_seq_mean_token_mean():
    from omegaconf import OmegaConf
    from verl.trainer.ppo.core_algos import compute_policy_loss_vanilla

    logp, old, _, mask, adv = _random(1)
    config = OmegaConf.create({"clip_ratio": 0.2, "clip_ratio_low": 0.2, "clip_ratio_high": 0.28,
                               "clip_ratio_c": 1e9, "global_batch_info": {}})
    verl_loss, _ = compute_policy_loss_vanilla(old, logp, adv.unsqueeze(-1).expand_as(mask), mask,
                                               loss_agg_mode="seq-mean-token-mean", config=config)
    ours = mt_grpo_loss(logp, old, adv, mask, 0.2, 0.28)
    torch.testing.assert_close(ours.loss, verl_loss, rtol=1e-5, atol=1e-6)


@needs_verl
def test_kl_equals_verl_low_var_kl():
    from verl.trainer.ppo.core_algos import kl_penalty

    logp, _, ref, _, _ = _random(2)
    torch.testing.assert_close(kl_estimator(logp, ref), kl_penalty(logp, ref, "low_var_kl"), rtol=1e-5, atol=1e-6)


def test_eq3_over_the_defined_rewards_hand_computed():
    """An undefined reward (no verdict) gets advantage 0 and moves neither μ_q nor σ_q: group 0's defined rewards
    1, 0 have mean 0.5 and unbiased std √0.5; group 1 keeps only 2.0 (σ = 0 → 0) and group 2 has none."""
    from pipeline.rl.grpo import grpo_advantages_over_defined

    rewards = torch.tensor([1.0, 0.0, 0.0, 2.0, 0.0, 0.0])
    group = torch.tensor([0, 0, 0, 1, 1, 2])
    defined = torch.tensor([True, True, False, True, False, False])
    adv = grpo_advantages_over_defined(rewards, group, defined, eps=0.0)
    s = math.sqrt(0.5)
    torch.testing.assert_close(adv[:3], torch.tensor([0.5 / s, -0.5 / s, 0.0]))
    assert torch.isnan(adv[3])  # eps = 0 exposes group 1's σ = 0 over its one defined sample ...
    assert (adv[4:] == 0).all()
    with_eps = grpo_advantages_over_defined(rewards, group, defined)
    assert with_eps[3] == 0 and (with_eps[4:] == 0).all()  # ... which ε turns into 0, as in grpo_advantages
    torch.testing.assert_close(with_eps[defined], grpo_advantages(rewards[defined], group[defined]))

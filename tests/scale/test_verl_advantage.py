"""Undefined rewards under verl 0.9.1's own advantage code: the ``omni_grpo`` estimator, called by verl's
``compute_advantage`` (and the V1 trainer's ``compute_advantage_for_multi_trajectories``) with the algorithm
config our overrides compose, gives the local trainer's advantages; an update with too many undefined rewards
stops the run with one line. Skips without verl."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

verl = pytest.importorskip("verl")

from pipeline.config import GRPOParams, VerlParams  # noqa: E402
from pipeline.rl.grpo import grpo_advantages  # noqa: E402
from pipeline.scale.verl_advantage import (  # noqa: E402
    ESTIMATOR,
    MAX_SHARE_ENV,
    UNDEFINED_LOG_ENV,
    UndefinedRewards,
    read_undefined_log,
    register,
)
from pipeline.scale.verl_config import VerlRun, grpo_overrides  # noqa: E402
from pipeline.scale.verl_run import UNDEFINED_LOG, compose_config, undefined_stop  # noqa: E402

G, PROMPTS, T = 4, 3, 6


def algorithm_config(tmp_path):
    run = VerlRun(name="single-writing", model="m", train_file=tmp_path / "t.parquet", val_file=tmp_path / "v.parquet",
                  steps=2, checkpoint_dir=tmp_path / "c", grpo=GRPOParams(group_size=G, batch_size=PROMPTS), beta=0.0)
    return compose_config(grpo_overrides(run, VerlParams(n_gpus_per_node=1), None, tmp_path / "p.yaml", 0)).algorithm


def batch(scores: list[float]):
    """A DataProto as verl's V1 trainer builds it for the advantage: each sample's score on its last response
    token (NaN: undefined), right-padded response masks of different lengths, one uid per prompt."""
    from verl import DataProto

    lengths = [2 + i % (T - 2) for i in range(len(scores))]
    mask = torch.tensor([[1.0] * n + [0.0] * (T - n) for n in lengths])
    rewards = torch.zeros(len(scores), T)
    for i, (n, s) in enumerate(zip(lengths, scores)):
        rewards[i, n - 1] = s
    uids = np.array([f"u{i // G}" for i in range(len(scores))], dtype=object)
    data = DataProto.from_dict(tensors={"token_level_rewards": rewards, "response_mask": mask},
                               non_tensors={"uid": uids})
    return data, mask


SCORES = [1.2, 0.2, float("nan"), 0.7,          # one undefined: μ, σ over the other three
          0.2, 0.2, 0.2, float("nan"),          # the rest tie: σ = 0, every advantage 0
          1.2, float("nan"), 0.2, 1.2]


def local_advantages(scores: list[float]) -> torch.Tensor:
    """What the local trainer computes: excluded samples dropped, Eq. 3 over the rest (0 for the dropped)."""
    r = torch.tensor(scores)
    keep = torch.isfinite(r)
    group = torch.arange(len(scores)) // G
    out = torch.zeros(len(scores))
    out[keep] = grpo_advantages(r[keep], group[keep])
    return out


def test_verls_compute_advantage_with_omni_grpo_equals_the_local_trainers(tmp_path, monkeypatch):
    from verl.trainer.ppo.ray_trainer import compute_advantage
    from verl.trainer.ppo.v1.utils import compute_advantage_for_multi_trajectories

    monkeypatch.setenv(MAX_SHARE_ENV, "0.5")
    monkeypatch.setenv(UNDEFINED_LOG_ENV, str(tmp_path / UNDEFINED_LOG))
    register()
    config = algorithm_config(tmp_path)
    assert config.adv_estimator == ESTIMATOR
    expected = local_advantages(SCORES)
    for compute in ("ray_trainer", "v1"):
        data, mask = batch(SCORES)
        if compute == "ray_trainer":
            out = compute_advantage(data, adv_estimator=config.adv_estimator, num_repeat=G,
                                    norm_adv_by_std_in_grpo=True, config=config)
        else:  # the V1 trainer's call: keys "<uid>_<session>_<index>"
            keys = [f"{uid}_0_0" for uid in data.non_tensor_batch["uid"]]
            out = compute_advantage_for_multi_trajectories(data, keys, adv_estimator=config.adv_estimator,
                                                           num_repeat=G, norm_adv_by_std_in_grpo=True, config=config)
        advantages = out.batch["advantages"]
        assert torch.isfinite(advantages).all()
        torch.testing.assert_close(advantages, expected.unsqueeze(-1) * mask)  # every response token, none past it
        assert (advantages[[2, 7, 9]] == 0).all()
    logged = read_undefined_log(tmp_path / UNDEFINED_LOG)
    assert [(u["undefined"], u["samples"]) for u in logged] == [(3, 12), (3, 12)]


def test_verls_grpo_would_train_the_undefined_as_a_number(tmp_path):
    """Why our estimator: verl's own grpo on the same batch spreads the NaN over its group (or, with verl's
    managers' 0.0 for a failed reward, trains that sample as a loss)."""
    from verl.trainer.ppo.ray_trainer import compute_advantage

    data, _ = batch(SCORES)
    out = compute_advantage(data, adv_estimator="grpo", num_repeat=G, norm_adv_by_std_in_grpo=True)
    assert not torch.isfinite(out.batch["advantages"][:4]).all()
    zeroed = [0.0 if np.isnan(s) else s for s in SCORES]
    data, mask = batch(zeroed)
    out = compute_advantage(data, adv_estimator="grpo", num_repeat=G, norm_adv_by_std_in_grpo=True)
    assert out.batch["advantages"][2].sum() < 0 and not torch.allclose(
        out.batch["advantages"], local_advantages(SCORES).unsqueeze(-1) * mask)


def test_too_many_undefined_rewards_stop_the_run_in_one_line(tmp_path, monkeypatch):
    """Above rewards.max_undefined_share the estimator raises (verl's run ends); the stage's line names the update,
    the count and the first cause the reward workers logged."""
    from verl.trainer.ppo.ray_trainer import compute_advantage

    monkeypatch.setenv(MAX_SHARE_ENV, "0.1")
    monkeypatch.setenv(UNDEFINED_LOG_ENV, str(tmp_path / UNDEFINED_LOG))
    register()
    data, _ = batch(SCORES)
    with pytest.raises(UndefinedRewards, match=r"update \d+: 3 of 12 rewards undefined \(share 0.250 > "
                                               r"rewards.max_undefined_share 0.1\)"):
        compute_advantage(data, adv_estimator=ESTIMATOR, num_repeat=G, config=algorithm_config(tmp_path))
    judge_log = tmp_path / "judge_events.jsonl"
    judge_log.write_text(json.dumps({"pid": 1, "cause": "JudgeUnavailable: judge endpoint x: HTTP 401"}) + "\n")
    run = VerlRun(name="joint", model="m", train_file=tmp_path / "train.parquet", val_file=tmp_path / "v.parquet",
                  steps=2, checkpoint_dir=tmp_path / "c", grpo=GRPOParams(), beta=0.0, judge_log=judge_log)
    line = undefined_stop(run, 0.1)
    assert line is not None and "\n" not in line
    assert line.startswith("verl run joint: update ") and "3 of 12 rewards undefined" in line
    assert line.endswith("first cause: JudgeUnavailable: judge endpoint x: HTTP 401")
    assert undefined_stop(run, 0.5) is None  # not why it stopped

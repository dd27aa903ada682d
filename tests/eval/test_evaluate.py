"""Evaluation: accuracy (mean@k and greedy), its standard error, and Eq. 11 entropy."""

from __future__ import annotations

import math

import numpy as np
import torch

from pipeline.config import EvalParams, RewardParams, parse_params
from pipeline.data.curate import curate_task
from pipeline.eval.evaluate import evaluate_records, paired_difference, standard_error
from pipeline.eval.generators import TransformersGenerator
from pipeline.models.tiny import build_tiny_model
from pipeline.models.tokenizer import build_tokenizer
from pipeline.rewards.total import RewardModel
from ..conftest import KINDS


def test_standard_error_hand_computed():
    # per-prompt accuracies 1, 0, 1, 0: sample std √(1/3), over √4
    assert math.isclose(standard_error(np.array([1.0, 0.0, 1.0, 0.0])), math.sqrt(1 / 3) / 2)
    assert standard_error(np.array([0.5, 0.5])) == 0.0
    assert math.isnan(standard_error(np.array([1.0])))


def test_paired_difference_hand_computed():
    # differences 0.5, 0.5, 0.0, 1.0: mean 0.5, sample std √(1/6), over √4
    gain, se = paired_difference(np.array([1.0, 0.5, 0.0, 1.0]), np.array([0.5, 0.0, 0.0, 0.0]))
    assert gain == 0.5 and math.isclose(se, math.sqrt(1 / 6) / 2)
    # prompt difficulty cancels: a uniform shift has no noise at all, unlike the unpaired errors
    before = np.array([0.0, 0.25, 0.5, 0.75])
    assert paired_difference(before + 0.25, before) == (0.25, 0.0) and standard_error(before) > 0


def test_evaluate_records_reports_consistent_figures():
    params = parse_params({"rewards": {"tasks": KINDS}, "tasks": ["math"], "data": {"tasks": {"math": {"source": "synthetic_math", "n": 30}}}})
    records = curate_task(params, "math")[0]["train"]
    tokenizer = build_tokenizer([m["content"] for r in records for m in r["prompt"]], vocab_size=300)
    torch.manual_seed(0)
    model = build_tiny_model(len(tokenizer), 32, 1, 2, 1, 64, 256, 0, tokenizer).eval()
    rewards = RewardModel(RewardParams.model_validate({"tasks": KINDS}))
    try:
        generator = TransformersGenerator(model, tokenizer)
        out = evaluate_records(generator, records, EvalParams(samples=3, max_new_tokens=6, max_items=10), rewards)
        greedy = evaluate_records(generator, records,
                                  EvalParams(samples=3, max_new_tokens=6, max_items=10, accuracy="greedy"), rewards)
    finally:
        rewards.close()
    assert out["n"] == 10 and out["accuracy"] == out["accuracy_sampled"]
    assert greedy["accuracy"] == greedy["accuracy_greedy"] == out["accuracy_greedy"]
    assert 0.0 <= out["accuracy_se"] <= 0.5
    assert out["per_prompt"].shape == (10,) and math.isclose(out["per_prompt"].mean(), out["accuracy"])
    # An untrained model spreads its probability: the mean token entropy is near log |V|.
    assert 0.5 * math.log(len(tokenizer)) < out["entropy"] <= math.log(len(tokenizer)) + 1e-4


def test_evaluation_draws_the_same_noise_for_every_model():
    """evaluate_records samples with common random numbers: a model evaluated twice with one seed gives the
    same per-prompt accuracies, and a slightly different model's gain over it has far less noise than
    with independent noise (another seed)."""
    import copy

    from pipeline.models.warmstart import sft

    params = parse_params({"rewards": {"tasks": KINDS}, "tasks": ["math"], "data": {"tasks": {"math": {
        "source": "synthetic_math", "n": 60, "pretrain_n": 400, "difficulty": 1}}}})
    splits = curate_task(params, "math")[0]
    texts = [m["content"] for r in splits["pretrain"] for m in r["prompt"]] + \
        [r["meta"]["completion"] for r in splits["pretrain"]]
    tokenizer = build_tokenizer(texts, vocab_size=300)
    torch.manual_seed(0)
    model = build_tiny_model(len(tokenizer), 64, 2, 2, 1, 128, 256, 0, tokenizer)
    sft(model, tokenizer, {"math": splits["pretrain"]}, 150, 16, 5e-3, 128, 0)  # ~10% right: accuracies vary
    other = copy.deepcopy(model)
    torch.manual_seed(1)
    with torch.no_grad():  # a real, small difference
        for p in other.parameters():
            p.add_(torch.randn_like(p) * 0.01)
    eval_params = EvalParams(samples=4, max_new_tokens=16, max_items=40, batch_size=16)
    rewards = RewardModel(RewardParams.model_validate({"tasks": KINDS}))
    try:
        def per_prompt(m, seed):
            return evaluate_records(TransformersGenerator(m, tokenizer), splits["train"], eval_params, rewards,
                                    seed)["per_prompt"]

        base = per_prompt(model, 0)
        assert base.std() > 0
        assert np.array_equal(base, per_prompt(copy.deepcopy(model), 0))
        _, coupled = paired_difference(per_prompt(other, 0), base)
        _, independent = paired_difference(per_prompt(other, 1), base)
    finally:
        rewards.close()
    assert coupled < 0.5 * independent, (coupled, independent)


def test_an_empty_split_is_a_clear_error(tmp_path):
    from pipeline.data.schema import write_split
    from pipeline.eval.evaluate import evaluate_split
    from pipeline.errors import UserError

    (tmp_path / "coding").mkdir()
    write_split([], tmp_path / "coding" / "test.parquet")
    try:
        evaluate_split(None, tmp_path, "coding", "test", EvalParams(), None, seed=0)
    except UserError as exc:
        assert "coding/test.parquet: the split is empty" in str(exc)
    else:
        raise AssertionError("an empty split must raise UserError")

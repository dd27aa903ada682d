"""Generation engines (eval.backend): the vLLM path's pure parts and its exact entropy pass, on CPU."""

from __future__ import annotations

import sys

import numpy as np
import pytest
import torch

from pipeline.config import EvalParams, parse_params
from pipeline.data.curate import curate_task
from pipeline.errors import UserError
from pipeline.eval.generators import GENERATORS, TransformersGenerator, open_generator, teacher_forced_entropy, \
    vllm_request_seed, vllm_sampling_kwargs
from pipeline.models.tiny import build_tiny_model
from pipeline.models.tokenizer import build_tokenizer
from pipeline.rl.rollout import generate
from ..conftest import KINDS


@pytest.fixture(scope="module")
def tiny():
    params = parse_params({"rewards": {"tasks": KINDS}, "tasks": ["math"], "data": {"tasks": {"math": {"source": "synthetic_math", "n": 20}}}})
    records = curate_task(params, "math")[0]["train"]
    tokenizer = build_tokenizer([m["content"] for r in records for m in r["prompt"]] * 2, vocab_size=300)
    torch.manual_seed(0)
    return build_tiny_model(len(tokenizer), 32, 2, 2, 1, 64, 256, 0, tokenizer).eval(), tokenizer, records


def test_registry_names_both_engines():
    assert set(GENERATORS) == {"transformers", "vllm"}
    assert EvalParams().backend == "transformers"


def test_vllm_sampling_kwargs_map_our_settings():
    assert vllm_sampling_kwargs(8, 64, 0.7, 0.9, 0, greedy=False) == {
        "n": 8, "max_tokens": 64, "temperature": 0.7, "top_p": 0.9, "top_k": -1}
    assert vllm_sampling_kwargs(8, 64, 1.0, 1.0, 50, greedy=False)["top_k"] == 50
    assert vllm_sampling_kwargs(8, 64, 0.7, 0.9, 50, greedy=True) == {
        "n": 1, "max_tokens": 64, "temperature": 0.0, "top_p": 1.0, "top_k": -1}
    # common random numbers: a sampled request carries its own seed; greedy needs none
    assert vllm_sampling_kwargs(8, 64, 0.7, 0.9, 0, greedy=False, seed=12)["seed"] == 12
    assert "seed" not in vllm_sampling_kwargs(8, 64, 0.7, 0.9, 0, greedy=True, seed=12)


def sampled_tokens(model, tokenizer, prompts, n, max_new_tokens, seed):
    """A rollout of our sampler and each row's response tokens (up to its end)."""
    torch.manual_seed(seed)
    rollout = generate(model, tokenizer, prompts, n, max_new_tokens, 1.0, 1.0, 0)
    P = rollout.prompt_len
    return rollout, [row[P:][mask.bool()].tolist() for row, mask in zip(rollout.input_ids, rollout.response_mask)]


def test_teacher_forced_entropy_equals_the_samplers_own(tiny):
    """The vLLM path scores Eq. 11 by a teacher-forced pass over the sampled tokens: on the same tokens it must
    give what our sampler computed while sampling (same model, prompts of different lengths, early EOS)."""
    model, tokenizer, records = tiny
    prompts = [r["prompt"] for r in records[:3]]
    rollout, tokens = sampled_tokens(model, tokenizer, prompts, 2, 10, seed=1)
    ours = teacher_forced_entropy(model, tokenizer, prompts, tokens, rollout.prompt_index.tolist())
    expected = ((rollout.entropy * rollout.response_mask).sum(1) / rollout.response_mask.sum(1)).numpy()
    np.testing.assert_allclose(ours, expected, rtol=1e-4, atol=1e-5)


def test_teacher_forced_entropy_holds_at_most_a_chunk_of_logits(tiny):
    """Peak memory does not grow with batch × length × vocabulary: every logits tensor the output projection
    produces has at most ``tokens_per_chunk`` rows, whatever the batch and response length, and the result
    does not depend on the chunk sizes."""
    model, tokenizer, records = tiny
    prompts = [r["prompt"] for r in records[:4]]
    rollout, tokens = sampled_tokens(model, tokenizer, prompts, 4, 24, seed=2)
    shapes = []
    hook = model.get_output_embeddings().register_forward_hook(lambda m, i, out: shapes.append(tuple(out.shape)))
    try:
        chunked = teacher_forced_entropy(model, tokenizer, prompts, tokens, rollout.prompt_index.tolist(),
                                         rows_per_chunk=3, tokens_per_chunk=7)
        assert shapes and max(s[0] for s in shapes) <= 7 and all(len(s) == 2 for s in shapes)
        assert sum(s[0] for s in shapes) == sum(map(len, tokens))  # each response token projected once
        whole = teacher_forced_entropy(model, tokenizer, prompts, tokens, rollout.prompt_index.tolist(),
                                       rows_per_chunk=64, tokens_per_chunk=10_000)
    finally:
        hook.remove()
    np.testing.assert_allclose(chunked, whole, rtol=1e-5, atol=1e-6)


def test_greedy_evaluation_still_measures_eq11_on_the_policys_samples(tiny):
    """temperature 0 (greedy accuracy, as configs/paper.yaml) must not leave the entropy NaN: it is measured on
    samples drawn at T = 1 from the policy."""
    from pipeline.config import RewardParams
    from pipeline.eval.evaluate import evaluate_records
    from pipeline.rewards.total import RewardModel

    model, tokenizer, records = tiny
    rewards = RewardModel(RewardParams.model_validate({"tasks": KINDS}))
    greedy = evaluate_records(TransformersGenerator(model, tokenizer), records[:4],
                              EvalParams(temperature=0.0, samples=2, max_new_tokens=8), rewards, seed=3)
    sampled = evaluate_records(TransformersGenerator(model, tokenizer), records[:4],
                               EvalParams(temperature=1.0, samples=2, max_new_tokens=8), rewards, seed=3)
    assert np.isfinite(greedy["entropy"]) and greedy["entropy"] > 0
    assert greedy["entropy"] == pytest.approx(sampled["entropy"])  # the same T = 1 samples (common random numbers)
    assert greedy["accuracy"] == greedy["accuracy_greedy"]


def test_vllm_request_seeds_never_collide():
    """vLLM seeds sample k of a request with its seed + k: prompt i's request must start at seed + i·n."""
    n = 4
    seeds = {vllm_request_seed(100, i, n) + k for i in range(10) for k in range(n)}
    assert len(seeds) == 10 * n and vllm_request_seed(100, 3, n) == 112 and vllm_request_seed(None, 3, n) is None


def test_transformers_generator_groups_rows_by_prompt(tiny):
    model, tokenizer, records = tiny
    gen = TransformersGenerator(model, tokenizer)
    out = gen.sample([r["prompt"] for r in records[:2]], 3, 6, 1.0, 1.0, 0, with_entropy=True)
    assert len(out.texts) == 6 and out.entropy.shape == (6,)
    greedy = gen.sample([r["prompt"] for r in records[:2]], 3, 6, 1.0, 1.0, 0, greedy=True)
    assert greedy.entropy is None and greedy.texts[0] == greedy.texts[1] == greedy.texts[2]


def test_vllm_backend_without_vllm_is_a_one_line_error(tiny, tmp_path):
    if "vllm" not in sys.modules:
        try:
            import vllm  # noqa: F401
            pytest.skip("vllm is installed here (GPU machine): tests/gpu covers it")
        except ImportError:
            pass
    model, tokenizer, _ = tiny
    model.save_pretrained(tmp_path / "m")
    tokenizer.save_pretrained(tmp_path / "m")
    with pytest.raises(UserError, match=r"eval.backend: vllm needs the vllm package"):
        open_generator(tmp_path / "m", EvalParams(backend="vllm"), 0)
    with pytest.raises(UserError, match=r"no config.json"):  # the folder is checked before the engine is
        open_generator(tmp_path, EvalParams(backend="vllm"), 0)

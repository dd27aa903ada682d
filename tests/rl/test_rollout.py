"""Rollouts with a shared prompt prefix equal the plain full-sequence computation."""

from __future__ import annotations

import pytest
import torch

from pipeline.models.tiny import build_tiny_model
from pipeline.models.tokenizer import build_tokenizer
from pipeline.rl.rollout import generate, positions, token_logprobs, warp_logits

PROMPTS = [[{"role": "user", "content": "what is 2+2?"}],
           [{"role": "system", "content": "be brief"}, {"role": "user", "content": "a much longer question, here"}],
           [{"role": "user", "content": "hi"}]]


@pytest.fixture(scope="module")
def model_and_tokenizer():
    corpus = [m["content"] for p in PROMPTS for m in p] * 3 + ["<think>x</think><answer>4</answer>"]
    tokenizer = build_tokenizer(corpus, vocab_size=300)
    torch.manual_seed(0)
    model = build_tiny_model(len(tokenizer), 32, 2, 2, 1, 64, 256, 0, tokenizer)
    model.eval()
    return model, tokenizer


def full_forward_logprobs(model, rollout, temperature=1.0):
    """The reference: every row run in full, no prefix sharing."""
    mask = rollout.attention_mask
    logits = model(input_ids=rollout.input_ids, attention_mask=mask, position_ids=positions(mask)).logits
    logits = logits[:, rollout.prompt_len - 1: -1].float() / temperature
    logp = torch.log_softmax(logits, -1)
    return logp.gather(-1, rollout.input_ids[:, rollout.prompt_len:, None]).squeeze(-1), -(logp.exp() * logp).sum(-1)


def test_shared_prefix_logprobs_and_gradients_equal_full_forward(model_and_tokenizer):
    model, tokenizer = model_and_tokenizer
    torch.manual_seed(1)
    rollout = generate(model, tokenizer, PROMPTS, 3, 12, 1.0, 1.0, 0)
    assert rollout.prompt_index.tolist() == [0, 0, 0, 1, 1, 1, 2, 2, 2]
    mask = rollout.response_mask.bool()
    ref_logp, ref_ent = full_forward_logprobs(model, rollout, temperature=0.7)
    logp, ent = token_logprobs(model, rollout, temperature=0.7, with_entropy=True)
    torch.testing.assert_close(logp[mask], ref_logp[mask], atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(ent[mask], ref_ent[mask], atol=1e-5, rtol=1e-5)
    # A shuffled subset of rows (as in a mini-batch), with gradients.
    rows = torch.tensor([7, 0, 4, 2])
    model.zero_grad()
    (full_forward_logprobs(model, rollout)[0][rows] * mask[rows]).sum().backward()
    expected = {n: p.grad.clone() for n, p in model.named_parameters()}
    model.zero_grad()
    sub, _ = token_logprobs(model, rollout, rows)
    (sub * mask[rows]).sum().backward()
    for name, p in model.named_parameters():
        torch.testing.assert_close(p.grad, expected[name], atol=1e-5, rtol=1e-4, msg=name)


def test_sampled_token_logprobs_match_recomputation(model_and_tokenizer):
    model, tokenizer = model_and_tokenizer
    torch.manual_seed(2)
    rollout = generate(model, tokenizer, PROMPTS, 4, 10, 0.8, 1.0, 0)
    mask = rollout.response_mask.bool()
    with torch.no_grad():
        logp, _ = token_logprobs(model, rollout, temperature=0.8)
        _, ent_t1 = full_forward_logprobs(model, rollout, temperature=1.0)
    torch.testing.assert_close(rollout.logprobs[mask], logp[mask], atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(rollout.entropy[mask], ent_t1[mask], atol=1e-5, rtol=1e-5)
    # Masked after the first EOS, and EOS itself is kept.
    eos = tokenizer.eos_token_id
    response = rollout.input_ids[:, rollout.prompt_len:]
    for row, m in zip(response.tolist(), rollout.response_mask.tolist()):
        n = sum(m)
        assert m == [1] * n + [0] * (len(m) - n)
        assert eos not in row[: n - 1]
        assert n == len(row) or row[n - 1] == eos


def test_greedy_equals_transformers_generate(model_and_tokenizer):
    model, tokenizer = model_and_tokenizer
    from pipeline.rl.rollout import encode_prompts

    ours = generate(model, tokenizer, PROMPTS, 2, 8, 1.0, 1.0, 0, greedy=True)
    enc = encode_prompts(tokenizer, PROMPTS)
    hf = model.generate(**enc, max_new_tokens=8, do_sample=False, pad_token_id=tokenizer.pad_token_id,
                        eos_token_id=tokenizer.eos_token_id)
    ours_ids = ours.input_ids[::2]
    width = min(hf.shape[1], ours_ids.shape[1])
    keep = ours.attention_mask[::2, :width].bool()
    assert torch.equal(ours_ids[:, :width][keep], hf[:, :width][keep])
    assert torch.equal(ours.input_ids[0], ours.input_ids[1])  # n greedy copies


def test_warp_logits_top_k_top_p_hand_computed():
    logits = torch.log(torch.tensor([[0.5, 0.3, 0.15, 0.05]]))
    inf = float("-inf")
    assert torch.isinf(warp_logits(logits, 1.0, 1.0, 2)).tolist() == [[False, False, True, True]]
    # top-p 0.7: 0.5 < 0.7, 0.5 + 0.3 ≥ 0.7 → the two most likely tokens
    assert torch.isinf(warp_logits(logits, 1.0, 0.7, 0)).tolist() == [[False, False, True, True]]
    assert torch.isinf(warp_logits(logits, 1.0, 0.81, 0)).tolist() == [[False, False, False, True]]
    assert torch.isinf(warp_logits(logits, 1.0, 0.1, 0)).tolist() == [[False, True, True, True]]
    torch.testing.assert_close(warp_logits(logits, 2.0, 1.0, 0), logits / 2)
    assert warp_logits(logits, 1.0, 1.0, 0).ne(inf).all()


def test_sample_categorical_follows_the_probabilities():
    from pipeline.rl.rollout import sample_categorical

    torch.manual_seed(0)
    probs = torch.tensor([[0.5, 0.3, 0.2, 0.0], [0.0, 0.0, 1.0, 0.0]])
    draws = sample_categorical(probs.log().repeat(20000, 1).view(20000, 2, 4).transpose(0, 1).reshape(-1, 4))
    first, second = draws[:20000], draws[20000:]
    freq = torch.bincount(first, minlength=4).float() / 20000
    assert torch.allclose(freq, probs[0], atol=0.015)  # 3σ of a binomial frequency at n = 20,000
    assert (second == 2).all() and not (first == 3).any()


def test_finished_rows_leave_the_batch_without_changing_anything(model_and_tokenizer):
    """Rows that emitted EOS are dropped from the decoding batch; what is recorded for every row still
    equals the full recomputation, and greedy decoding still equals transformers' own ``generate``."""
    import copy

    model, tokenizer = model_and_tokenizer
    model = copy.deepcopy(model)
    eos = tokenizer.eos_token_id
    with torch.no_grad():  # make EOS likely (tied embeddings: its output row) so rows end at different steps
        model.lm_head.weight[eos] = model.lm_head.weight[eos] * 0 + model.lm_head.weight.mean(0) * 40
    torch.manual_seed(3)
    rollout = generate(model, tokenizer, PROMPTS, 8, 24, 1.0, 1.0, 0)
    lengths = rollout.response_mask.sum(-1)
    assert lengths.min() < rollout.response_mask.shape[1] // 2 and len(set(lengths.tolist())) > 3  # compaction ran
    mask = rollout.response_mask.bool()
    with torch.no_grad():
        logp, ent = full_forward_logprobs(model, rollout)
    torch.testing.assert_close(rollout.logprobs[mask], logp[mask], atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(rollout.entropy[mask], ent[mask], atol=1e-5, rtol=1e-5)
    response = rollout.input_ids[:, rollout.prompt_len:]
    assert (response[~mask] == tokenizer.pad_token_id).all()
    assert (((response == eos) & mask).sum(-1) <= 1).all()  # at most one EOS, and nothing after it
    ended = lengths < response.shape[1]
    assert (response[ended, lengths[ended] - 1] == eos).all()


def test_preallocated_cache_equals_the_dynamic_cache(model_and_tokenizer):
    """Decoding with the in-place cache (reserve smaller than the decode, so it also regrows; rows
    reordered and dropped mid-way) gives bit-identical logits to transformers' DynamicCache."""
    from transformers import DynamicCache

    from pipeline.rl.rollout import encode_prompts, prefill

    model, tokenizer = model_and_tokenizer
    enc = encode_prompts(tokenizer, PROMPTS)
    rows = torch.tensor([0, 0, 1, 2, 2, 2])
    torch.manual_seed(1)
    tokens = torch.randint(5, len(tokenizer), (len(rows), 7))
    outputs = []
    with torch.no_grad():
        for reserve in (None, 3):
            logits, cache = prefill(model, enc["input_ids"], enc["attention_mask"], rows, reserve=reserve)
            assert isinstance(cache, DynamicCache) == (reserve is None)
            mask, keep, steps = enc["attention_mask"][rows], torch.arange(len(rows)), [logits]
            for t in range(tokens.shape[1]):
                if t == 4:  # two rows finish: the batch shrinks
                    keep = torch.tensor([0, 2, 3, 5])
                    cache.reorder_cache(torch.tensor([0, 2, 3, 5]))
                    mask = mask[keep]
                mask = torch.cat([mask, torch.ones_like(mask[:, :1])], dim=1)
                pos = positions(mask)[:, -1:]
                steps.append(model(input_ids=tokens[keep, t:t + 1], attention_mask=mask, position_ids=pos,
                                   past_key_values=cache, use_cache=True).logits[:, -1])
            assert cache.get_seq_length() == enc["input_ids"].shape[1] + tokens.shape[1]
            outputs.append(steps)
    for dynamic, preallocated in zip(*outputs):
        assert torch.equal(dynamic, preallocated)


def test_sdpa_gqa_attention_equals_sdpa(model_and_tokenizer, tmp_path):
    """``sdpa_gqa`` (torch groups the KV heads) against transformers' ``sdpa`` (copies them): bit-identical
    sampled rollouts, log-probabilities and entropies, with left-padded prompts, a KV cache and rows dropped
    mid-decode; gradients equal up to float rounding (the backward kernel sums a KV head's grouped query heads
    in another order). ``load_model`` picks it on a CPU and does not save it."""
    import copy

    from pipeline.models.attention import NAME
    from pipeline.models.tiny import load_model

    model, tokenizer = model_and_tokenizer
    assert model.config.num_key_value_heads < model.config.num_attention_heads  # grouped-query attention
    results = []
    for impl in ("sdpa", NAME):
        m = copy.deepcopy(model)
        m.set_attn_implementation(impl)
        torch.manual_seed(5)
        rollout = generate(m, tokenizer, PROMPTS, 4, 12, 1.0, 1.0, 0)
        logp, ent = token_logprobs(m, rollout, with_entropy=True)
        (logp.sum() + ent.sum()).backward()
        results.append(((rollout.input_ids, rollout.logprobs, rollout.entropy, logp.detach(), ent.detach()),
                        [p.grad for p in m.parameters()]))
    (exact_a, grads_a), (exact_b, grads_b) = results
    assert all(torch.equal(a, b) for a, b in zip(exact_a, exact_b))
    for a, b in zip(grads_a, grads_b):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-7)
    model.save_pretrained(tmp_path)
    tokenizer.save_pretrained(tmp_path)
    loaded, _ = load_model(tmp_path, device="cpu")
    assert loaded.config._attn_implementation == NAME
    assert "sdpa_gqa" not in (tmp_path / "config.json").read_text()


def test_preallocated_layer_matches_dynamic_layer_on_every_cache_operation():
    """crop, batch_repeat_interleave, batch_select_indices and reorder_cache act on the buffers, so the
    keys and values they leave equal DynamicLayer's after the same operations (and later updates)."""
    from transformers.cache_utils import DynamicLayer

    from pipeline.rl.rollout import PreallocatedLayer

    torch.manual_seed(0)
    states = [(torch.randn(3, 2, n, 4), torch.randn(3, 2, n, 4)) for n in (5, 1, 1)]
    dynamic, prealloc = DynamicLayer(), PreallocatedLayer(1)
    PreallocatedLayer(2).crop(3)  # nothing cached yet: a no-op
    operations = [lambda l: l.crop(-1), lambda l: l.batch_repeat_interleave(2),
                  lambda l: l.batch_select_indices(torch.tensor([5, 0, 2])),
                  lambda l: l.reorder_cache(torch.tensor([2, 2, 1]))]
    for layer in (dynamic, prealloc):
        for k, v in states[:2]:
            layer.update(k, v)
        for operation in operations:
            operation(layer)
        k, v = states[2]
        layer.update(k.repeat(2, 1, 1, 1)[:3], v.repeat(2, 1, 1, 1)[:3])
    assert prealloc.get_seq_length() == dynamic.get_seq_length() == 6
    assert torch.equal(prealloc.keys, dynamic.keys) and torch.equal(prealloc.values, dynamic.values)


def test_sample_categorical_hand_computed_race():
    """Gumbel-max with given uniforms: the winner is argmax_v p_v / E_v with E_v = −log U_v."""
    from pipeline.rl.rollout import sample_categorical

    logp = torch.tensor([[0.5, 0.3, 0.2], [0.5, 0.3, 0.2]]).log()
    # row 0: E = (0.105, 2.303, 0.693), p/E = (4.75, 0.13, 0.29) → 0
    # row 1: E = (4.605, 0.0101, 0.693), p/E = (0.11, 29.8, 0.29) → 1
    uniform = torch.tensor([[0.9, 0.1, 0.5], [0.01, 0.99, 0.5]])
    assert sample_categorical(logp, uniform).tolist() == [0, 1]


def _eos_likely(model, tokenizer):
    """A copy where EOS has a logit of about 3 (≈ 6% a step against 300 tokens), so that rows end at many
    different steps and leave the decoding batch: its output row is the mean final hidden state, scaled."""
    import copy

    from pipeline.rl.rollout import encode_prompts

    model = copy.deepcopy(model)
    with torch.no_grad():
        enc = encode_prompts(tokenizer, PROMPTS)
        hidden = model(**enc, output_hidden_states=True).hidden_states[-1]
        mean = hidden[enc["attention_mask"].bool()].mean(0)
        model.lm_head.weight[tokenizer.eos_token_id] = mean * 3.0 / mean.dot(mean)
    return model


def test_common_random_numbers_give_each_row_its_own_noise(model_and_tokenizer):
    """With ``noise``, row r's token at step t is the Gumbel-max winner of π(·|prefix) under row r of the t-th
    (rows, vocabulary) block of uniforms — whichever rows finished before and left the batch."""
    from pipeline.rl.rollout import sample_categorical

    model, tokenizer = model_and_tokenizer
    model = _eos_likely(model, tokenizer)
    rollout = generate(model, tokenizer, PROMPTS, 8, 24, 1.0, 1.0, 0, noise=torch.Generator().manual_seed(7))
    lengths = rollout.response_mask.sum(-1)
    # a quarter of the rows ended before the last step: the batch was compacted while others still decoded
    assert int((lengths < lengths.max()).sum()) * 4 >= len(lengths) and len(set(lengths.tolist())) > 3
    blocks = torch.Generator().manual_seed(7)
    with torch.no_grad():
        mask = rollout.attention_mask
        logits = model(input_ids=rollout.input_ids, attention_mask=mask, position_ids=positions(mask)).logits
    logp = torch.log_softmax(logits[:, rollout.prompt_len - 1: -1].float(), -1)
    response = rollout.input_ids[:, rollout.prompt_len:]
    for t in range(response.shape[1]):
        uniform = torch.rand((len(response), logp.shape[-1]), generator=blocks)
        live = rollout.response_mask[:, t].bool()
        expected = sample_categorical(logp[:, t], uniform)
        assert torch.equal(response[live, t], expected[live]), t


def test_common_random_numbers_couple_two_close_models(model_and_tokenizer):
    """Two slightly different models sampled with equally seeded noise mostly write the same completions;
    with independent noise they hardly ever do. The same model with the same seed repeats itself exactly."""
    model, tokenizer = model_and_tokenizer
    model = _eos_likely(model, tokenizer)
    other = _eos_likely(model, tokenizer)
    torch.manual_seed(5)
    with torch.no_grad():
        for p in other.parameters():
            p.add_(torch.randn_like(p) * 1e-3)

    def texts(m, seed):
        return generate(m, tokenizer, PROMPTS, 16, 12, 1.0, 1.0, 0, noise=torch.Generator().manual_seed(seed)).texts

    assert texts(model, 3) == texts(model, 3)
    same = sum(a == b for a, b in zip(texts(model, 3), texts(other, 3))) / 48
    independent = sum(a == b for a, b in zip(texts(model, 3), texts(other, 4))) / 48
    assert same >= 0.8 and independent <= 0.5, (same, independent)

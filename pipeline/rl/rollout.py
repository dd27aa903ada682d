"""Rollouts and token log-probabilities for the local backend (transformers, CPU or one GPU).

Both share each prompt's forward pass across its group (the G samples of GRPO, or the
k samples of mean@k evaluation): the prompt is run once, its KV cache is indexed out to
the group's rows, and only the response tokens are run per sample. That is exact —
keys and values of a prompt do not depend on what follows it, and indexing the cache
is differentiable, so gradients reach the prompt positions as in a full forward — and
it removes (G − 1)/G of the prompt compute, which dominates short answers.

Prompts are left-padded; positions are ``cumsum(attention_mask) − 1`` so that padding
does not shift them. Completions are masked after their first EOS. Rows that have finished
leave the decoding batch (their cache rows are dropped once a quarter of the batch is done):
in a batch of mixed tasks a QA answer ends after ~8 tokens and a program after ~32, and
nothing that a finished row would still compute is used.

Sampling follows ``transformers``' warpers in this order: temperature, top-k (0: off),
top-p (nucleus; the smallest set of tokens whose probability reaches ``top_p``, at least
one), then a categorical draw (Gumbel-max on the log-probabilities) from torch's global RNG
(so checkpoints restore it). At temperature 1 with neither top-k nor top-p the sampling
distribution is the policy itself, so one log-softmax per step serves the draw, the sampled
token's log-probability and the entropy.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor
from transformers import DynamicCache
from transformers.cache_utils import Cache, DynamicLayer


@dataclass
class Rollout:
    input_ids: Tensor       # (N, P + T) prompt (left-padded) + response
    attention_mask: Tensor  # (N, P + T)
    response_mask: Tensor   # (N, T) 1 up to and including the first EOS
    prompt_len: int         # P
    prompt_index: Tensor    # (N,) which prompt each row answers (rows of prompt i are contiguous)
    texts: list[str]        # decoded responses (N,)
    logprobs: Tensor        # (N, T) log-prob of each sampled token under the sampling distribution
    entropy: Tensor         # (N, T) entropy of the policy at temperature 1 (Eq. 11's inner sum)


def encode_prompts(tokenizer, prompts: list[list[dict[str, str]]]) -> dict[str, Tensor]:
    tokenizer.padding_side = "left"
    texts = [tokenizer.apply_chat_template(p, tokenize=False, add_generation_prompt=True) for p in prompts]
    return tokenizer(texts, return_tensors="pt", padding=True, add_special_tokens=False)


def decode_response(tokenizer, ids: list[int]) -> str:
    """A response's text, keeping the think/answer tags (which may be special tokens) but not EOS/padding/BOS."""
    drop = {tokenizer.eos_token_id, tokenizer.pad_token_id, tokenizer.bos_token_id} - {None}
    return tokenizer.decode([t for t in ids if t not in drop], skip_special_tokens=False)


def decode_responses(tokenizer, response: Tensor, response_mask: Tensor) -> list[str]:
    """:func:`decode_response` of every row of ``response`` up to its mask."""
    return [decode_response(tokenizer, [t for t, keep in zip(row.tolist(), mask.tolist()) if keep])
            for row, mask in zip(response, response_mask)]


def positions(attention_mask: Tensor) -> Tensor:
    return (attention_mask.cumsum(-1) - 1).clamp(min=0)


def warp_logits(logits: Tensor, temperature: float, top_p: float, top_k: int) -> Tensor:
    """Sampling logits after temperature, top-k and top-p (filtered entries are −inf)."""
    logits = logits / temperature
    if 0 < top_k < logits.shape[-1]:
        kth = torch.topk(logits, top_k, dim=-1).values[..., -1:]
        logits = logits.masked_fill(logits < kth, float("-inf"))
    if top_p < 1.0:
        sorted_logits, order = torch.sort(logits, dim=-1, descending=True)
        probs = sorted_logits.softmax(-1)
        before = probs.cumsum(-1) - probs  # mass of strictly more likely tokens
        drop_sorted = before >= top_p
        drop_sorted[..., 0] = False
        drop = torch.zeros_like(drop_sorted).scatter(-1, order, drop_sorted)
        logits = logits.masked_fill(drop, float("-inf"))
    return logits


def sample_categorical(logp: Tensor, uniform: Tensor | None = None) -> Tensor:
    """One draw per row from the log-probabilities ``logp`` ``(N, V)`` (−inf: excluded) by the Gumbel-max
    trick: argmax_v log p_v − log E_v with E_v = −log U_v ~ Exp(1) i.i.d., i.e. the exponential race
    argmax_v p_v / E_v. P(argmax = v) = p_v / Σ p, the same law as ``torch.multinomial``; excluded
    tokens never win. Uniform draws and two logs are 4× cheaper than ``exponential_`` on CPU for a
    1k vocabulary. The uniforms ``U`` are ``uniform`` (consumed) when given, else drawn from torch's
    global RNG.
    """
    u = torch.rand_like(logp) if uniform is None else uniform
    race = u.log_().neg_().log_()  # log E, E ~ Exp(1)
    return (logp - race).argmax(-1)


def entropy_from_logp(logp: Tensor) -> Tensor:
    """Token entropy −Σ_v π(v) log π(v) from log-probabilities over the vocabulary."""
    return -(logp.exp() * logp).sum(-1)


def entropy_from_logits(logits: Tensor) -> Tensor:
    return entropy_from_logp(torch.log_softmax(logits.float(), dim=-1))


class PreallocatedLayer(DynamicLayer):
    """A layer's KV cache with room for ``reserve`` more positions than the prompt, written in place.

    ``DynamicLayer`` concatenates each step's key and value to the whole cache, copying it every step
    (O(T²) traffic; 37% of a decoding step at 512 rows on a CPU). This one returns views of a buffer
    allocated once at the prompt's length + ``reserve``; the attention sees the same values. In-place
    writes would invalidate tensors saved for backward, so it serves only ``no_grad`` decoding
    (:func:`generate`); the differentiable :func:`token_logprobs` keeps ``DynamicCache``.
    """

    def __init__(self, reserve: int) -> None:
        super().__init__()
        self.reserve, self.length = reserve, 0
        self.key_buffer: Tensor | None = None
        self.value_buffer: Tensor | None = None

    def update(self, key_states: Tensor, value_states: Tensor, *args, **kwargs) -> tuple[Tensor, Tensor]:
        if not self.is_initialized:
            self.lazy_initialization(key_states, value_states)
        new = key_states.shape[-2]
        if self.key_buffer is None or self.length + new > self.key_buffer.shape[-2]:
            capacity = self.length + new + self.reserve
            keys, values = (torch.empty((*s.shape[:-2], capacity, s.shape[-1]), dtype=s.dtype, device=s.device)
                            for s in (key_states, value_states))
            if self.key_buffer is not None:
                keys[..., :self.length, :] = self.key_buffer[..., :self.length, :]
                values[..., :self.length, :] = self.value_buffer[..., :self.length, :]
            self.key_buffer, self.value_buffer = keys, values
        self.key_buffer[..., self.length:self.length + new, :] = key_states
        self.value_buffer[..., self.length:self.length + new, :] = value_states
        self.length += new
        self._views()
        return self.keys, self.values

    def get_seq_length(self) -> int:
        return self.length

    def crop(self, max_length: int) -> None:
        """Keep the first ``max_length`` positions (negative: drop that many from the end)."""
        self.length = max(0, min(self.length, max_length if max_length >= 0 else self.length + max_length))
        self._select(lambda t: t)

    def batch_repeat_interleave(self, repeats: int) -> None:
        self._select(lambda t: t.repeat_interleave(repeats, dim=0))

    def batch_select_indices(self, indices: Tensor) -> None:
        self._select(lambda t: t[indices, ...])

    def reorder_cache(self, beam_idx: Tensor) -> None:
        self._select(lambda t: t.index_select(0, beam_idx.to(t.device)))

    def _select(self, rows) -> None:
        """Apply a row selection to both buffers (nothing to select before the first update)."""
        if self.key_buffer is not None:
            self.key_buffer, self.value_buffer = rows(self.key_buffer), rows(self.value_buffer)
            self._views()

    def _views(self) -> None:
        self.keys = self.key_buffer[..., :self.length, :]
        self.values = self.value_buffer[..., :self.length, :]


def prefill(model, prompt_ids: Tensor, prompt_mask: Tensor, rows: Tensor,
            reserve: int | None = None) -> tuple[Tensor, Cache]:
    """Run each prompt once; returns the last-position logits and the KV cache, both indexed to ``rows``.
    With ``reserve`` (decoding without gradients), the cache is preallocated for that many more positions."""
    cache = DynamicCache(config=model.config)
    if reserve is not None:
        cache = Cache(layers=[PreallocatedLayer(reserve) for _ in cache.layers])
    out = model(input_ids=prompt_ids, attention_mask=prompt_mask, position_ids=positions(prompt_mask),
                past_key_values=cache, use_cache=True)
    cache.reorder_cache(rows)
    return out.logits[:, -1][rows], cache


@torch.no_grad()
def generate(model, tokenizer, prompts: list[list[dict[str, str]]], n: int, max_new_tokens: int,
             temperature: float, top_p: float, top_k: int, greedy: bool = False,
             noise: torch.Generator | None = None) -> Rollout:
    """``n`` completions per prompt (rows grouped by prompt: prompt i → rows i·n … i·n + n − 1).

    Draws come from torch's global RNG, or with ``noise`` from common random numbers: at step t every
    output row takes its uniforms from the t-th ``(rows, vocabulary)`` block of ``noise``, drawn whole
    whether or not the row is still decoding. A row's noise then depends only on the generator's seed,
    the row and the step — not on the model or on which rows have finished — so two models sampled with
    equally seeded generators on the same prompts share their noise (see :func:`pipeline.eval.evaluate.
    evaluate_records`). Each model still samples from its own distribution.
    """
    device = next(model.parameters()).device
    enc = encode_prompts(tokenizer, prompts)
    prompt_ids, prompt_mask = enc["input_ids"].to(device), enc["attention_mask"].to(device)
    m = 1 if greedy else n  # greedy completions are identical: decode one, repeat it
    index = torch.arange(len(prompts), device=device).repeat_interleave(m)
    logits, cache = prefill(model, prompt_ids, prompt_mask, index, reserve=max_new_tokens)
    mask = prompt_mask[index]
    pos = positions(mask)[:, -1]
    eos, pad = tokenizer.eos_token_id, tokenizer.pad_token_id
    plain = temperature == 1.0 and top_k == 0 and top_p >= 1.0  # sampling distribution = π_θ
    total = len(index)
    response = torch.full((total, max_new_tokens), pad, dtype=torch.long, device=device)
    logps = torch.zeros((total, max_new_tokens), device=device)
    ents = torch.zeros((total, max_new_tokens), device=device)
    rows = torch.arange(total, device=device)  # the output row of each row of the cache
    done = torch.zeros(total, dtype=torch.bool, device=device)
    steps = 0
    for t in range(max_new_tokens):
        policy = torch.log_softmax(logits.float(), dim=-1)  # π_θ at temperature 1
        if greedy:
            sampling = policy
            token = policy.argmax(-1)
        else:
            sampling = policy if plain else \
                torch.log_softmax(warp_logits(logits.float(), temperature, top_p, top_k), -1)
            uniform = None if noise is None else \
                torch.rand((total, sampling.shape[-1]), generator=noise, device=device)[rows]
            token = sample_categorical(sampling, uniform)
        live = rows[~done]
        response[live, t] = token[~done]
        logps[live, t] = sampling.gather(-1, token[:, None]).squeeze(-1)[~done]
        ents[live, t] = entropy_from_logp(policy)[~done]
        steps = t + 1
        done |= token == eos
        if bool(done.all()) or steps == max_new_tokens:
            break
        if int(done.sum()) * 4 >= len(done):  # a quarter of the rows finished: drop them from the batch
            keep = torch.nonzero(~done).squeeze(-1)
            cache.reorder_cache(keep)
            rows, done, token, mask, pos = rows[keep], done[keep], token[keep], mask[keep], pos[keep]
        mask = torch.cat([mask, torch.ones_like(mask[:, :1])], dim=1)
        pos = pos + 1
        logits = model(input_ids=token[:, None], attention_mask=mask, position_ids=pos[:, None],
                       past_key_values=cache, use_cache=True).logits[:, -1]
    response, logps, ents = response[:, :steps], logps[:, :steps], ents[:, :steps]
    is_eos = response == eos
    after_eos = (is_eos.cumsum(-1) - is_eos.long()) > 0  # strictly after the first EOS
    response_mask = (~after_eos).long()
    logprobs, entropy = logps * response_mask, ents * response_mask
    if greedy and n > 1:
        response, response_mask, logprobs, entropy = (t.repeat_interleave(n, dim=0) for t in
                                                      (response, response_mask, logprobs, entropy))
        index = index.repeat_interleave(n)
    texts = decode_responses(tokenizer, response, response_mask)
    return Rollout(input_ids=torch.cat([prompt_ids[index], response], dim=1),
                   attention_mask=torch.cat([prompt_mask[index], response_mask], dim=1),
                   response_mask=response_mask, prompt_len=prompt_ids.shape[1], prompt_index=index, texts=texts,
                   logprobs=logprobs, entropy=entropy)


def token_logprobs(model, rollout: Rollout, rows: Tensor | slice = slice(None), temperature: float = 1.0,
                   with_entropy: bool = False) -> tuple[Tensor, Tensor | None]:
    """Log π(o_t | q, o_<t) of the response tokens ``(n, T)`` (logits divided by ``temperature``, the
    distribution the rollout sampled from, as verl's actor does) and, optionally, the token entropies.

    Differentiable; each distinct prompt among ``rows`` is run once (see the module docstring).
    """
    device = rollout.input_ids.device
    rows = torch.arange(len(rollout.input_ids), device=device)[rows.to(device) if torch.is_tensor(rows) else rows]
    P = rollout.prompt_len
    prompts, inverse = torch.unique(rollout.prompt_index[rows], return_inverse=True)
    first = rollout.prompt_index.new_zeros(len(prompts))
    first.scatter_(0, inverse, rows)  # any row of each prompt holds its (identical) prompt tokens
    first_logits, cache = prefill(model, rollout.input_ids[first, :P], rollout.attention_mask[first, :P], inverse)
    response = rollout.input_ids[rows, P:]
    logits = [first_logits[:, None]]
    if response.shape[1] > 1:
        mask = rollout.attention_mask[rows, :-1]
        out = model(input_ids=response[:, :-1], attention_mask=mask, position_ids=positions(mask)[:, P:],
                    past_key_values=cache, use_cache=True)
        logits.append(out.logits)
    logits_all = torch.cat(logits, dim=1).float() / temperature
    logp_all = torch.log_softmax(logits_all, dim=-1)
    logp = logp_all.gather(-1, response.unsqueeze(-1)).squeeze(-1)
    entropy = entropy_from_logp(logp_all) if with_entropy else None
    return logp, entropy

"""Rollouts and token log-probabilities for the local backend (transformers, CPU or one GPU).

Prompts are left-padded for generation; completions are masked after their first EOS.
Log-probs are recomputed with ``position_ids = cumsum(attention_mask) − 1`` so that
left padding does not shift positions (they then match generation's scores to ~1e-6).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor


@dataclass
class Rollout:
    input_ids: Tensor       # (N, P + T) prompt (left-padded) + response
    attention_mask: Tensor  # (N, P + T)
    response_mask: Tensor   # (N, T) 1 up to and including the first EOS
    prompt_len: int         # P
    texts: list[str]        # decoded responses (N,)


def encode_prompts(tokenizer, prompts: list[list[dict[str, str]]]) -> dict[str, Tensor]:
    tokenizer.padding_side = "left"
    texts = [tokenizer.apply_chat_template(p, tokenize=False, add_generation_prompt=True) for p in prompts]
    return tokenizer(texts, return_tensors="pt", padding=True, add_special_tokens=False)


def decode_responses(tokenizer, response: Tensor, response_mask: Tensor) -> list[str]:
    """Response texts, keeping the think/answer tags (which may be special tokens) but not EOS/padding."""
    drop = {tokenizer.eos_token_id, tokenizer.pad_token_id, tokenizer.bos_token_id} - {None}
    return [tokenizer.decode([t for t, keep in zip(row.tolist(), mask.tolist()) if keep and t not in drop],
                             skip_special_tokens=False) for row, mask in zip(response, response_mask)]


@torch.no_grad()
def generate(model, tokenizer, prompts: list[list[dict[str, str]]], n: int, max_new_tokens: int,
             temperature: float, top_p: float, top_k: int, greedy: bool = False) -> Rollout:
    """``n`` completions per prompt (rows grouped by prompt: prompt i → rows i·n … i·n + n − 1)."""
    enc = encode_prompts(tokenizer, prompts)
    kwargs = dict(do_sample=False) if greedy else dict(do_sample=True, temperature=temperature, top_p=top_p,
                                                       top_k=top_k)
    out = model.generate(**enc, max_new_tokens=max_new_tokens, num_return_sequences=1 if greedy else n,
                         pad_token_id=tokenizer.pad_token_id, eos_token_id=tokenizer.eos_token_id, use_cache=True,
                         **kwargs)
    if greedy and n > 1:
        out = out.repeat_interleave(n, dim=0)
    prompt_len = enc["input_ids"].shape[1]
    prompt_mask = enc["attention_mask"].repeat_interleave(n, dim=0)
    response = out[:, prompt_len:]
    is_eos = response == tokenizer.eos_token_id
    after_eos = (is_eos.cumsum(-1) - is_eos.long()) > 0  # strictly after the first EOS
    response_mask = (~after_eos).long()
    texts = decode_responses(tokenizer, response, response_mask)
    return Rollout(input_ids=out, attention_mask=torch.cat([prompt_mask, response_mask], dim=1),
                   response_mask=response_mask, prompt_len=prompt_len, texts=texts)


def token_logprobs(model, rollout: Rollout, rows: Tensor | slice = slice(None),
                   with_entropy: bool = False) -> tuple[Tensor, Tensor | None]:
    """Log π(o_t | q, o_<t) of the response tokens ``(n, T)`` and, optionally, the token entropies."""
    ids = rollout.input_ids[rows]
    mask = rollout.attention_mask[rows]
    position_ids = (mask.cumsum(-1) - 1).clamp(min=0)
    logits = model(input_ids=ids, attention_mask=mask, position_ids=position_ids, use_cache=False).logits
    logits = logits[:, rollout.prompt_len - 1: -1].float()
    logp_all = torch.log_softmax(logits, dim=-1)
    targets = ids[:, rollout.prompt_len:]
    logp = logp_all.gather(-1, targets.unsqueeze(-1)).squeeze(-1)
    entropy = -(logp_all.exp() * logp_all).sum(-1) if with_entropy else None
    return logp, entropy

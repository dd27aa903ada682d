"""``sdpa_gqa``: transformers' SDPA attention with grouped-query attention left to torch.

transformers' ``sdpa`` attention copies every key/value head ``num_key_value_groups`` times
(``repeat_kv``) whenever it passes an attention mask; it lets torch group the heads itself
(``enable_gqa``) only when there is no mask. Every left-padded decoding step has a mask, so each
step copied the whole KV cache of every layer. torch's ``scaled_dot_product_attention(...,
enable_gqa=True)`` computes the same attention without the copies: on this CPU a decoding step of
512 rows over 80 positions spends 3.2 instead of 9.3 ms per layer in attention, 64 prompts × 8
samples decode in 1.82 instead of 2.49 s, and the forward pass (logits, samples) is bit-identical.
Gradients agree up to float rounding only (the backward kernel sums the grouped query heads of a
KV head in its own order), so a long training run, such as the warm start, ends at other weights
of the same quality than with ``sdpa``.

It is registered under the name ``sdpa_gqa`` for both of transformers' interfaces: the attention
function here, and ``sdpa``'s own mask function (a custom name without a mask function would get
no mask at all). :func:`~pipeline.models.tiny.load_model` selects it on a CPU for models that use
``sdpa``; it is a runtime setting, not written to ``config.json``.
"""

from __future__ import annotations

import torch
from transformers import AttentionInterface, AttentionMaskInterface
from transformers.masking_utils import sdpa_mask

NAME = "sdpa_gqa"


def sdpa_gqa_attention(module: torch.nn.Module, query: torch.Tensor, key: torch.Tensor, value: torch.Tensor,
                       attention_mask: torch.Tensor | None, dropout: float = 0.0, scaling: float | None = None,
                       is_causal: bool | None = None, **kwargs) -> tuple[torch.Tensor, None]:
    """transformers' ``sdpa_attention_forward`` (same causal rule) with ``enable_gqa`` instead of ``repeat_kv``."""
    is_causal = is_causal if is_causal is not None else getattr(module, "is_causal", True)
    is_causal = query.shape[2] > 1 and attention_mask is None and is_causal
    out = torch.nn.functional.scaled_dot_product_attention(
        query, key, value, attn_mask=attention_mask, dropout_p=dropout, scale=scaling, is_causal=is_causal,
        enable_gqa=key.shape[1] != query.shape[1])
    return out.transpose(1, 2).contiguous(), None


AttentionInterface.register(NAME, sdpa_gqa_attention)
AttentionMaskInterface.register(NAME, sdpa_mask)


def use_sdpa_gqa(model) -> None:
    """Switch a model that runs transformers' ``sdpa`` on a CPU to :data:`NAME` (in place)."""
    if getattr(model.config, "_attn_implementation", None) == "sdpa" and model.device.type == "cpu":
        model.set_attn_implementation(NAME)

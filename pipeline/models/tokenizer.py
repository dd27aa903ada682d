"""Byte-level BPE tokenizer for the embedded default, trained locally with HF ``tokenizers``.

Digits are split individually (arithmetic stays learnable for a tiny model); the chat
markers are single special tokens and the think/answer tags single tokens that are *not*
special, so that decoding with ``skip_special_tokens=True`` (verl's reward managers, vLLM's
returned text) keeps them and the format and answer rewards see them; the result is a
``PreTrainedTokenizerFast`` with a chat template, saved with ``save_pretrained`` so that
anything that loads a tokenizer by path (transformers, verl, vLLM) can use it.

It splits text exactly as a *loaded* one does. transformers ≥ 5 loads the tokenizer of every
``qwen2`` model as ``Qwen2Tokenizer``, whatever ``tokenizer_config.json`` names, and that class
rebuilds the normaliser and pre-tokeniser from its own definition (NFC; Qwen2's split regex, which
isolates each digit; byte-level without a prefix space), and adds its ``unk_token`` (default
``<|endoftext|>``) when the vocabulary lacks it. So this tokenizer is trained with that same
normaliser and pre-tokeniser, and names its EOS as ``unk_token``: the tokenizer the warm start
trains with and the one every later stage loads give the same ids (tested). With another
pre-tokeniser, ``"\n    return"`` was one token in training and three after loading, and every
stage that re-encodes text the model wrote (the RFT baseline) trained it on sequences it had never
seen.
"""

from __future__ import annotations

from typing import Iterable

from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers
from transformers import PreTrainedTokenizerFast
from transformers.models.qwen2.tokenization_qwen2 import PRETOKENIZE_REGEX

BOS, EOS, PAD = "<|bos|>", "<|eos|>", "<|pad|>"
ROLE_TOKENS = ("<|system|>", "<|user|>", "<|assistant|>")
TAGS = ("<think>", "</think>", "<answer>", "</answer>")
SPECIAL = (PAD, BOS, EOS, *ROLE_TOKENS, *TAGS)

CHAT_TEMPLATE = (
    "{% for m in messages %}<|{{ m['role'] }}|>{{ m['content'] }}"
    "{% if m['role'] == 'assistant' %}<|eos|>{% endif %}{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>{% endif %}"
)


def build_tokenizer(texts: Iterable[str], vocab_size: int = 1024) -> PreTrainedTokenizerFast:
    """Train a byte-level BPE on ``texts`` and wrap it with the special tokens and chat template."""
    tok = Tokenizer(models.BPE())
    tok.normalizer = normalizers.NFC()  # as Qwen2Tokenizer installs it on loading (module docstring)
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(PRETOKENIZE_REGEX), behavior="isolated", invert=False),  # one digit per token
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
    ])
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=list(SPECIAL),
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(texts, trainer=trainer)
    # The trainer registers every reserved token as special (ids 0…len(SPECIAL)−1, kept); the tags are then
    # re-declared as plain added tokens: still matched whole, but kept by skip_special_tokens=True.
    tok.add_tokens([AddedToken(tag, special=False, normalized=False) for tag in TAGS])
    wrapped = PreTrainedTokenizerFast(tokenizer_object=tok, bos_token=BOS, eos_token=EOS, pad_token=PAD,
                                      unk_token=EOS, additional_special_tokens=list(ROLE_TOKENS))
    wrapped.chat_template = CHAT_TEMPLATE
    return wrapped

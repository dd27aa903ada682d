"""Prompt length in tokens as the policy sees it: the run's tokenizer on its chat template.

verl drops prompts longer than ``data.max_prompt_length`` after its chat template
(``filter_overlong_prompts``), which would silently move every later row into another batch
than the local backend's. So prompts are measured the same way (``apply_chat_template`` with
the generation prompt, tokenized) at curation, when θ0's tokenizer is known, and checked again
when a run's rows are exported for verl (:func:`check_prompt_lengths`), where it always is.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, Sequence

from ..errors import UserError


@lru_cache(maxsize=4)
def load_tokenizer(name_or_path: str):
    """A tokenizer by local path or hub id (one line naming it when it cannot be loaded)."""
    from transformers import AutoTokenizer

    try:
        return AutoTokenizer.from_pretrained(name_or_path)
    except Exception as exc:  # noqa: BLE001
        raise UserError(f"tokenizer {name_or_path!r} could not be loaded ({type(exc).__name__})") from None


def prompt_tokens(tokenizer: Any, messages: Sequence[dict[str, str]]) -> int:
    """Token count of the prompt as the model will see it (chat template with the generation prompt)."""
    if getattr(tokenizer, "chat_template", None):
        ids = tokenizer.apply_chat_template(list(messages), tokenize=True, add_generation_prompt=True)
        if isinstance(ids, dict) or hasattr(ids, "keys"):
            ids = ids["input_ids"]
        return len(ids)
    return len(tokenizer("\n".join(m["content"] for m in messages))["input_ids"])


def within_prompt_length(records: Sequence[dict[str, Any]], tokenizer: Any, limit: int) -> list[dict[str, Any]]:
    """The records whose prompt fits in ``limit`` tokens."""
    return [r for r in records if prompt_tokens(tokenizer, r["prompt"]) <= limit]


def check_prompt_lengths(records: Sequence[dict[str, Any]], tokenizer: Any, limit: int, what: str) -> None:
    """Refuse rows that verl would drop (a one-line error naming the first such record)."""
    for r in records:
        n = prompt_tokens(tokenizer, r["prompt"])
        if n > limit:
            raise UserError(f"{what}: record {r['id']} ({r['task']}) has a {n}-token prompt, over "
                            f"train.verl.max_prompt_length {limit}; verl would drop it and shift every later batch "
                            f"(curate with data.tasks.{r['task']}.max_prompt_tokens ≤ {limit} and the run's tokenizer)")

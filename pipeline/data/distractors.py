"""Distractors for open-ended QA: plausible but wrong answers, with uniqueness of correctness.

Two modes (``data.tasks.<task>.distractors.mode``):

- ``llm``: an OpenAI-compatible chat endpoint (OpenAI, ``vllm serve``, …) through the
  ``openai`` client. The model, base URL and key come from params or the environment
  (``OPENAI_BASE_URL``, the variable named by ``api_key_env``). Every call is cached on
  disk, keyed by model, messages, temperature and attempt, so a rerun makes no call.
- ``offline``: deterministic fallback: the source's own wrong options (SuperGPQA has
  10 options), topped up with correct answers of other questions in the same field,
  then of any field, drawn with a seeded generator.

Uniqueness of correctness: no distractor may equal the answer or another distractor
after :func:`pipeline.text.normalize_answer`. An LLM clash is regenerated (a new
attempt asks for the missing number); a row still short after ``max_attempts`` is
dropped and counted (``distractor_shortfall``).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ..config import DistractorParams
from ..errors import UserError
from ..io import write_json_atomic
from ..progress import progress
from ..text import normalize_answer

PROMPT_VERSION = "distractors-v1"
SYSTEM = ("You write distractors for exam questions: answers that look plausible to a student "
          "but are definitely wrong. Reply with a JSON list of strings only.")


def unique_distractors(answer: str, candidates: Sequence[str], need: int) -> list[str]:
    """Up to ``need`` candidates, in order, none equal to ``answer`` or to each other after normalisation."""
    taken = {normalize_answer(answer)}
    out: list[str] = []
    for cand in candidates:
        if not isinstance(cand, str):
            continue
        text = cand.strip()
        key = normalize_answer(text)
        if not key or key in taken:
            continue
        taken.add(key)
        out.append(text)
        if len(out) == need:
            break
    return out


def offline_distractors(answer: str, own_options: Sequence[str], same_field: Sequence[str],
                        any_field: Sequence[str], need: int, rng: np.random.Generator) -> list[str]:
    """The source's own options first, then seeded draws from the same field, then from any field."""
    pools = [list(own_options), [same_field[i] for i in rng.permutation(len(same_field))],
             [any_field[i] for i in rng.permutation(len(any_field))]]
    return unique_distractors(answer, [c for pool in pools for c in pool], need)


def parse_list(text: str) -> list[str]:
    """The JSON list in a model reply (the first ``[...]`` block), or an empty list."""
    match = re.search(r"\[.*\]", text, re.DOTALL)
    if not match:
        return []
    try:
        items = json.loads(match.group(0))
    except json.JSONDecodeError:
        return []
    return [str(x) for x in items if isinstance(x, (str, int, float))] if isinstance(items, list) else []


@dataclass
class LLMDistractors:
    """Cached, concurrent distractor generation through an OpenAI-compatible endpoint."""

    params: DistractorParams
    calls: int = 0
    cache_hits: int = 0
    usage: dict[str, int] = field(default_factory=lambda: {"prompt_tokens": 0, "completion_tokens": 0})

    def __post_init__(self) -> None:
        from openai import OpenAI

        self.cache = Path(self.params.cache_dir)
        base_url = self.params.base_url or os.environ.get("OPENAI_BASE_URL")
        key = os.environ.get(self.params.api_key_env)
        if not key:
            if base_url is None:
                raise UserError(f"distractors.mode=llm needs an API key in ${self.params.api_key_env} "
                                "(or a base_url of a local server)")
            key = "EMPTY"  # local OpenAI-compatible servers (vllm serve) accept any key
        self.client = OpenAI(base_url=base_url, api_key=key, timeout=self.params.timeout_s, max_retries=4)

    def _messages(self, question: str, answer: str, examples: Sequence[str], need: int) -> list[dict[str, str]]:
        shown = "\n".join(f"- {e}" for e in examples[:9])
        hint = f"\nExisting wrong options, for style:\n{shown}" if shown else ""
        return [{"role": "system", "content": SYSTEM},
                {"role": "user", "content": f"Question:\n{question}\n\nCorrect answer:\n{answer}{hint}\n\n"
                                            f"Write {need} different plausible but incorrect answers, in the same "
                                            "style and format as the correct answer. Return a JSON list of strings."}]

    def _call(self, messages: list[dict[str, str]], attempt: int) -> str:
        payload = {"v": PROMPT_VERSION, "model": self.params.model, "messages": messages,
                   "temperature": self.params.temperature, "attempt": attempt}
        key = hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()
        path = self.cache / key[:2] / f"{key}.json"
        if path.exists():
            self.cache_hits += 1
            return json.loads(path.read_text(encoding="utf-8"))["content"]
        response = self.client.chat.completions.create(model=self.params.model, messages=messages,
                                                       temperature=self.params.temperature)
        content = response.choices[0].message.content or ""
        self.calls += 1
        if response.usage is not None:
            self.usage["prompt_tokens"] += response.usage.prompt_tokens or 0
            self.usage["completion_tokens"] += response.usage.completion_tokens or 0
        write_json_atomic(path, {"request": payload, "content": content})
        return content

    def one(self, question: str, answer: str, examples: Sequence[str], need: int) -> list[str]:
        got: list[str] = []
        for attempt in range(self.params.max_attempts):
            missing = need - len(got)
            reply = self._call(self._messages(question, answer, [*examples, *got], missing), attempt)
            got = unique_distractors(answer, [*got, *parse_list(reply)], need)
            if len(got) == need:
                break
        return got

    def many(self, items: Sequence[tuple[str, str, Sequence[str]]], need: int) -> list[list[str]]:
        with ThreadPoolExecutor(self.params.concurrency) as pool:
            futures = [pool.submit(self.one, q, a, ex, need) for q, a, ex in items]
            return [f.result() for f in progress(futures, desc="distractors", unit="q")]

    def summary(self) -> dict[str, Any]:
        return {"llm_calls": self.calls, "llm_cache_hits": self.cache_hits, "llm_usage": dict(self.usage),
                "llm_model": self.params.model}

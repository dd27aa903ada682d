"""Math reward: ``r_math(q, o) = 1{verify_math(o, a_q)}`` (Appendix A.1).

- The answer is the content of the last ``<answer>…</answer>``; a ``\\boxed{…}`` inside
  it is preferred when present.
- A hedged answer — several *different* final answers (several boxed values, or
  ``x or y`` / ``x, y`` lists when the reference is a single value) — scores 0.
- Verification: math-verify (``parse`` + ``verify``) with its signal-based timeouts
  off; a sympy fallback (``parse_expr`` of both sides, ``simplify(a - b) == 0``) and
  exact string equality after normalisation catch what math-verify cannot parse.
- Every call runs in a :class:`~.deadline.DeadlinePool` worker with a hard deadline;
  a timeout scores 0 and is counted.
- Verification is a pure function of (reference, answer): each distinct pair is verified once
  per batch, and verdicts are kept in a bounded LRU cache (``cache_size``) across batches, since
  the G samples of a group and successive evaluations repeat the same answers. Timeouts are not
  cached.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from dataclasses import dataclass, field

from .deadline import TIMEOUT, DeadlinePool
from .extract import extract_answer

BOXED = re.compile(r"\\boxed\s*\{")


def boxed_contents(text: str) -> list[str]:
    """Contents of every ``\\boxed{…}`` (balanced braces)."""
    out = []
    for match in BOXED.finditer(text):
        depth, start = 1, match.end()
        for i in range(start, len(text)):
            depth += {"{": 1, "}": -1}.get(text[i], 0)
            if depth == 0:
                out.append(text[start:i].strip())
                break
    return out


def final_answer(response: str) -> tuple[str | None, bool]:
    """(the answer to verify, hedged?)."""
    answer = extract_answer(response)
    if answer is None:
        return None, False
    boxed = boxed_contents(answer)
    if boxed:
        distinct = {re.sub(r"\s+", "", b) for b in boxed}
        return boxed[-1], len(distinct) > 1
    return answer, False


def _normalise(text: str) -> str:
    return re.sub(r"\s+|\$|\\!|\\,|\\left|\\right|\\text\{[^}]*\}", "", text).rstrip(".").lower()


def _sympy_equal(gold: str, pred: str) -> bool:
    from sympy import simplify
    from sympy.parsing.sympy_parser import parse_expr, standard_transformations, implicit_multiplication_application

    transforms = standard_transformations + (implicit_multiplication_application,)
    try:
        a = parse_expr(gold.replace("^", "**"), transformations=transforms, evaluate=True)
        b = parse_expr(pred.replace("^", "**"), transformations=transforms, evaluate=True)
        return bool(simplify(a - b) == 0)
    except Exception:  # noqa: BLE001 - unparsable text is simply not equal
        return False


def verify_answer(gold: str, pred: str) -> bool:
    """math-verify, then sympy, then normalised string equality (runs inside a worker)."""
    import logging

    from math_verify import parse, verify

    logging.getLogger("math_verify").setLevel(logging.ERROR)  # we enforce the deadline ourselves
    if _normalise(gold) == _normalise(pred):
        return True
    wrap = lambda s: s if "$" in s or "\\boxed" in s else f"${s}$"  # noqa: E731
    gold_parsed = parse(wrap(gold), parsing_timeout=None)
    pred_parsed = parse(wrap(pred), parsing_timeout=None)
    if gold_parsed and pred_parsed and verify(gold_parsed, pred_parsed, timeout_seconds=None):
        return True
    return _sympy_equal(gold, pred)


def hedges(pred: str, gold: str) -> bool:
    """A list of alternatives where the reference is one value: ``3 or 4``, ``3, 4``."""
    single_gold = not re.search(r"[,;]|\\text\{\s*or\s*\}|\bor\b", gold)
    return single_gold and bool(re.search(r"\bor\b|;|,\s*(?=[-\d\\])", pred)) and not re.fullmatch(r"[\d,]+", pred)


@dataclass
class MathScorer:
    workers: int = 2
    timeout_s: float = 5.0
    cache_size: int = 65536
    counts: dict[str, int] = field(default_factory=lambda: {"timeout": 0, "hedged": 0, "no_answer": 0,
                                                            "verified": 0, "cached": 0})

    def __post_init__(self) -> None:
        self._cache: OrderedDict[tuple[str, str], bool] = OrderedDict()
        self.pool = DeadlinePool(verify_answer, workers=self.workers, timeout_s=self.timeout_s,
                                 preload=("math_verify", "sympy", __name__))

    def score_many(self, items: list[tuple[str, str]]) -> list[float | None]:
        """Scores in order; ``None`` (undefined) only when the response has no answer at all."""
        todo: list[tuple[int, str, str]] = []
        scores: list[float | None] = [None] * len(items)
        for i, (response, gold) in enumerate(items):
            pred, hedged = final_answer(response)
            if pred is None:
                self.counts["no_answer"] += 1
                scores[i] = 0.0
            elif hedged or hedges(pred, gold):
                self.counts["hedged"] += 1
                scores[i] = 0.0
            else:
                todo.append((i, gold, pred))
        keys = list(dict.fromkeys((gold, pred) for _, gold, pred in todo))
        known = {key: self._cache[key] for key in keys if key in self._cache}
        pairs = [key for key in keys if key not in known]
        verdicts = dict(zip(pairs, self.pool.map(pairs)))
        self.counts["verified"] += len(pairs)
        self.counts["cached"] += len(todo) - len(pairs)
        for key, result in verdicts.items():
            if result is TIMEOUT:
                self.counts["timeout"] += sum(1 for _, g, p in todo if (g, p) == key)
            else:
                self._remember(key, result is True)
        for key in known:
            if key in self._cache:
                self._cache.move_to_end(key)
        for i, gold, pred in todo:
            result = known.get((gold, pred), verdicts.get((gold, pred)))
            scores[i] = 1.0 if result is True else 0.0
        return scores

    def _remember(self, key: tuple[str, str], verdict: bool) -> None:
        self._cache[key] = verdict
        self._cache.move_to_end(key)
        while len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)

    def close(self) -> None:
        self.pool.close()

"""Math reward: ``r_math(q, o) = 1{verify_math(o, a_q)}`` (Appendix A.1).

- The answer is the content of the last ``<answer>…</answer>``; a ``\\boxed{…}`` inside
  it is preferred when present.
- A hedged answer — several *different* final answers (several boxed values, or
  ``x or y`` / ``x, y`` lists when the reference is a single value) — scores 0.
- An answer longer than ``max_answer_chars`` scores 0 unread (counted as ``too_long``).
- Verification: exact string equality after normalisation; math-verify (``parse`` + ``verify``) on LaTeX,
  with its signal-based timeouts off; then a whitelist parser of plain-text expressions
  (:mod:`.safe_expr`: ``x**2+1``, ``2(x+1)``) and ``simplify(a - b) == 0``. No answer text ever reaches
  ``eval``, ``parse_expr`` or ``sympify`` (docs/rewards.md, "Threat model").
- Every verification runs in a fresh fork of a :class:`~.deadline.DeadlinePool` template, with a hard deadline
  and an address-space limit (``memory_mb``); a timeout, an exhausted limit or a failure scores 0 and is
  counted (``timeout``, ``out_of_memory``, ``error``). No verification can change the state later ones run in.
- Verification is a pure function of (reference, answer): each distinct pair is verified once
  per batch, and verdicts are kept in a bounded LRU cache (``cache_size``) across batches, since
  the G samples of a group and successive evaluations repeat the same answers. Timeouts and other failures
  are not cached.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from dataclasses import dataclass, field

from .deadline import FAILED, OUT_OF_MEMORY, TIMEOUT, DeadlinePool
from .extract import extract_answer
from .safe_expr import symbolic_equal

BOXED = re.compile(r"\\boxed\s*\{")
BRACE = re.compile(r"[{}]")
# Verified in each worker template before it serves (trusted inputs): math-verify's LaTeX parser builds its
# caches lazily, and every fork inherits what the template built instead of building it again.
WARMUP = [("\\frac{1}{2}", "0.5"), ("\\sqrt{8}", "2\\sqrt{2}"), ("(x+1)^2", "x^2+2x+1"), ("\\{1,2\\}", "\\{2, 1\\}"),
          ("[0, 1)", "(0, 1]"), ("\\dfrac{3\\pi}{4}", "\\frac{3}{4}\\pi"), ("x=2", "2"), ("10^{3}", "1000"),
          ("\\left(1, 2\\right)", "(1,2)"), ("2\\sin x", "\\cos x"), ("x**2+1", "1+x^2"), ("69, 84", "84, 69")]


def boxed_contents(text: str) -> list[str]:
    """Contents of every ``\\boxed{…}`` (balanced braces), in one linear pass: each ``{`` is matched with its
    ``}`` by a stack (scanning ahead from each ``\\boxed{`` took quadratic time on unclosed ones)."""
    closing: dict[int, int] = {}
    stack: list[int] = []
    for brace in BRACE.finditer(text):
        if brace.group() == "{":
            stack.append(brace.start())
        elif stack:
            closing[stack.pop()] = brace.start()
    out = []
    for match in BOXED.finditer(text):
        brace = match.end() - 1
        if brace in closing:
            out.append(text[match.end():closing[brace]].strip())
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


INTEGER = re.compile(r"-?\d{1,100}")


def plain_verdict(gold: str, pred: str) -> bool | None:
    """The verdict of :func:`verify_answer` where plain string work decides it (no parser, no worker), else None:
    equal after normalisation, or two integers (math-verify compares integers exactly: ``007`` = ``7``,
    ``-0`` = ``0``, ``1000000001`` ≠ ``1000000000``). Most answers of a GRPO group end here."""
    a, b = _normalise(gold), _normalise(pred)
    if a == b:
        return True
    if INTEGER.fullmatch(a) and INTEGER.fullmatch(b):
        return int(a) == int(b)
    return None


def verify_answer(gold: str, pred: str) -> bool:
    """:func:`plain_verdict`, then math-verify on LaTeX, then :func:`~.safe_expr.symbolic_equal` (runs in a
    fresh fork of a verifier worker, under its deadline and address-space limit).

    math-verify reads LaTeX only (``LatexExtractionConfig``): its other extraction target
    (``ExprExtractionConfig``) hands the matched text to sympy's ``parse_expr``, which is ``eval``. Plain-text
    answers (``x**2+1``) go to the whitelist parser instead."""
    import logging

    from math_verify import LatexExtractionConfig, parse, verify

    logging.getLogger("math_verify").setLevel(logging.ERROR)  # we enforce the deadline ourselves
    if (plain := plain_verdict(gold, pred)) is not None:  # the scorer decides these without a worker
        return plain
    wrap = lambda s: s if "$" in s or "\\boxed" in s else f"${s}$"  # noqa: E731
    latex = [LatexExtractionConfig()]
    gold_parsed = parse(wrap(gold), extraction_config=latex, parsing_timeout=None)
    pred_parsed = parse(wrap(pred), extraction_config=latex, parsing_timeout=None)
    if gold_parsed and pred_parsed and verify(gold_parsed, pred_parsed, timeout_seconds=None):
        return True
    return symbolic_equal(gold, pred)


def hedges(pred: str, gold: str) -> bool:
    """A list of alternatives where the reference is one value: ``3 or 4``, ``3, 4``."""
    single_gold = not re.search(r"[,;]|\\text\{\s*or\s*\}|\bor\b", gold)
    return single_gold and bool(re.search(r"\bor\b|;|,\s*(?=[-\d\\])", pred)) and not re.fullmatch(r"[\d,]+", pred)


FAILURE_COUNTS = ("timeout", "out_of_memory", "error", "too_long")
"""The counters of answers scored 0 without a verdict (reported by :meth:`RewardModel.failures`)."""


@dataclass
class MathScorer:
    workers: int = 2
    timeout_s: float = 5.0
    memory_mb: int = 1024
    max_answer_chars: int = 2000
    cache_size: int = 65536
    counts: dict[str, int] = field(default_factory=lambda: {
        "timeout": 0, "out_of_memory": 0, "error": 0, "too_long": 0, "hedged": 0, "no_answer": 0,
        "verified": 0, "cached": 0})

    def __post_init__(self) -> None:
        self._cache: OrderedDict[tuple[str, str], bool] = OrderedDict()
        self.pool = DeadlinePool(verify_answer, workers=self.workers, timeout_s=self.timeout_s,
                                 memory_mb=self.memory_mb, warmup=WARMUP,
                                 preload=("math_verify", "sympy", __name__))

    def score_many(self, items: list[tuple[str, str]]) -> list[float | None]:
        """Scores in order, each 0 or 1."""
        todo: list[tuple[int, str, str]] = []
        scores: list[float | None] = [None] * len(items)
        for i, (response, gold) in enumerate(items):
            pred, hedged = final_answer(response)
            if pred is None:
                self.counts["no_answer"] += 1
                scores[i] = 0.0
            elif len(pred) > self.max_answer_chars:
                self.counts["too_long"] += 1
                scores[i] = 0.0
            elif hedged or hedges(pred, gold):
                self.counts["hedged"] += 1
                scores[i] = 0.0
            else:
                todo.append((i, gold, pred))
        keys = list(dict.fromkeys((gold, pred) for _, gold, pred in todo))
        known = {key: self._cache[key] for key in keys if key in self._cache}
        plain = {key: verdict for key in keys if key not in known and (verdict := plain_verdict(*key)) is not None}
        pairs = [key for key in keys if key not in known and key not in plain]
        verdicts = {**plain, **dict(zip(pairs, self.pool.map(pairs)))}
        self.counts["verified"] += len(verdicts)
        self.counts["cached"] += len(todo) - len(verdicts)
        failures = {TIMEOUT: "timeout", OUT_OF_MEMORY: "out_of_memory", FAILED: "error"}
        for key, result in verdicts.items():
            if isinstance(result, bool):
                self._remember(key, result)
            else:
                self.counts[failures.get(result, "error")] += sum(1 for _, g, p in todo if (g, p) == key)
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

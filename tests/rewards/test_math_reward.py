import time
from pathlib import Path

import pytest

from pipeline.rewards.math import MathScorer, boxed_contents, final_answer

SHARED = Path(__file__).resolve().parents[3] / "shared" / "data"


@pytest.fixture(scope="module")
def scorer():
    s = MathScorer(workers=2, timeout_s=3)
    yield s
    s.close()


def ans(text: str) -> str:
    return f"<think>work</think><answer>{text}</answer>"


EQUIVALENT = [("\\frac{1}{2}", "0.5"), ("\\frac12", "1/2"), ("\\sqrt{8}", "2\\sqrt{2}"), ("(x+1)^2", "x^2+2x+1"),
              ("1000", "1,000"), ("\\{1,2\\}", "\\{2, 1\\}"), ("3/4", "\\frac{3}{4}"), ("\\pi", "\\pi"),
              ("12", "\\boxed{12}"), ("-3", "-3.0"), ("\\dfrac{3}{5}", "0.6"), ("x=2", "2")]
DIFFERENT = [("\\frac{1}{2}", "0.51"), ("3", "4"), ("2\\sqrt{2}", "\\sqrt{2}"), ("(1,2)", "(2,1)"), ("x^2", "2x"),
             ("12", "21")]


def test_equivalent_pairs_score_one(scorer):
    assert scorer.score_many([(ans(pred), gold) for gold, pred in EQUIVALENT]) == [1.0] * len(EQUIVALENT)


def test_different_pairs_score_zero(scorer):
    assert scorer.score_many([(ans(pred), gold) for gold, pred in DIFFERENT]) == [0.0] * len(DIFFERENT)


def test_hedged_and_missing_answers(scorer):
    scores = scorer.score_many([(ans("\\boxed{3} or \\boxed{4}"), "3"), (ans("3 or 4"), "3"), (ans("3; 4"), "3"),
                                ("the answer is 3", "3"), (ans("\\boxed{3} so \\boxed{3}"), "3")])
    assert scores == [0.0, 0.0, 0.0, 0.0, 1.0]
    assert scorer.counts["hedged"] >= 3 and scorer.counts["no_answer"] >= 1


def test_pathological_inputs_do_not_hang(scorer):
    nasty = [ans("10^{10^{10^{10^{10}}}}"), ans("9" + "^" * 3000 + "9"), ans("(" * 5000 + "1" + ")" * 5000),
             ans("\\frac{" * 400 + "1" + "}{2}" * 400), ans("x" * 100_000)]
    start = time.monotonic()
    scores = scorer.score_many([(n, "1") for n in nasty])
    assert scores == [0.0] * len(nasty)
    assert time.monotonic() - start < 3 * 3 * len(nasty)  # every call is bounded by the deadline


def test_boxed_extraction_balances_braces():
    assert boxed_contents("so \\boxed{\\frac{a}{b}} and \\boxed{ 2 }") == ["\\frac{a}{b}", "2"]
    assert final_answer(ans("the value is \\boxed{\\frac{1}{2}}")) == ("\\frac{1}{2}", False)


@pytest.mark.skipif(not (SHARED / "math500" / "test.jsonl").exists(), reason="../shared/data is not present")
def test_math500_gold_answers_verify_against_themselves(scorer):
    import json

    rows = [json.loads(line) for line in (SHARED / "math500" / "test.jsonl").read_text().splitlines()[:100]]
    scores = scorer.score_many([(ans(r["answer"]), r["answer"]) for r in rows])
    assert sum(scores) == len(rows)


def test_each_distinct_pair_is_verified_once_and_cached():
    scorer = MathScorer(workers=1, timeout_s=3, cache_size=3)
    try:
        items = [(ans("19"), "19"), (ans("19"), "19"), (ans("21"), "19"), (ans("0.5"), "1/2"), (ans("21"), "19")]
        assert scorer.score_many(items) == [1.0, 1.0, 0.0, 1.0, 0.0]
        assert scorer.counts["verified"] == 3 and scorer.counts["cached"] == 2
        # A second batch reuses the verdicts: the same scores, no new verification.
        assert scorer.score_many(items) == [1.0, 1.0, 0.0, 1.0, 0.0]
        assert scorer.counts["verified"] == 3
        # The cache is bounded (LRU): a fourth pair evicts the least recently used one.
        assert scorer.score_many([(ans("7"), "7")]) == [1.0]
        assert len(scorer._cache) == 3 and ("19", "19") not in scorer._cache
        assert scorer.score_many(items[:1]) == [1.0] and scorer.counts["verified"] == 5
    finally:
        scorer.close()

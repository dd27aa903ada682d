import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.config import RewardParams, TaskRewardParams
from pipeline.errors import UserError
from pipeline.rewards.extract import extract_answer, tags_present, tags_valid
from pipeline.rewards.format import format_reward, tags_reward
from pipeline.rewards.qa import mcq_reward, qa_reward
from pipeline.rewards.total import RewardModel, Sample, total_reward
from ..conftest import KINDS


@pytest.mark.parametrize(("answer", "score"), [
    ("Argon", 1.0), ("argon.", 1.0), ("  The   ARGON ", 1.0), ("Neon", 0.0), ("B", 0.0), ("(b)", 0.0),
    ("Option B", 0.0), ("Argon or Neon", 0.0),
])
def test_qa_exact_match_after_normalisation(answer, score):
    assert qa_reward(f"<think>x</think><answer>{answer}</answer>", "Argon") == score


def test_qa_set_membership_and_letter_references():
    assert qa_reward("<answer>noble gas</answer>", "Argon", {"answers": ["noble gas"]}) == 1.0
    assert qa_reward("<answer>B</answer>", "B") == 1.0  # the reference itself is the letter
    assert qa_reward("no tags Argon", "Argon") == 0.0


@pytest.mark.parametrize(("answer", "score"), [
    ("B", 1.0), ("b", 1.0), ("(B)", 1.0), ("B.", 1.0), ("Option B", 1.0), (" b: ", 1.0),
    ("C", 0.0), ("Argon", 0.0), ("B Argon", 0.0), ("AB", 0.0), ("", 0.0),
])
def test_mcq_reward_takes_the_bare_letter_only(answer, score):
    """Figure 3's letter format (Appendix A.2.1): the answer is the option's letter; its text scores 0."""
    assert mcq_reward(f"<think>x</think><answer>{answer}</answer>", "B") == score
    assert mcq_reward("B", "B") == 0.0  # no answer tags


def test_the_registry_scores_qa_letter_with_the_mcq_reward():
    model = RewardModel(RewardParams.model_validate({"tasks": KINDS}))  # qa_letter: mcq, declared as any task
    out = model.score([Sample("qa_letter", "q", "<think>t</think><answer>B</answer>", "B", {}),
                       Sample("qa", "q", "<think>t</think><answer>B</answer>", "Argon", {})])
    assert [o.components["accuracy"] for o in out] == [1.0, 0.0]


@pytest.mark.parametrize(("text", "valid", "present"), [
    ("<think>a</think><answer>b</answer>", True, 4),
    ("  <think>a</think>\n<answer>b</answer>\n", True, 4),
    ("<answer>b</answer><think>a</think>", False, 4),
    ("<think>a<answer>b</answer></think>", False, 4),
    ("<think>a</think><answer>b</answer><answer>c</answer>", False, 4),
    ("<think>a</think>", False, 2),
    ("text <answer>b</answer>", False, 2),
    ("", False, 0),
])
def test_format_rewards(text, valid, present):
    assert tags_valid(text) is valid and format_reward(text) == float(valid)
    assert tags_present(text) == present and tags_reward(text) == 0.25 * present


FORMAT_REGEX = r"^\s*<think>(?:(?!</?think>|</?answer>).)*</think>\s*<answer>(?:(?!</?think>|</?answer>).)*</answer>\s*$"
"""Appendix A.1's format rule written as a regex: the oracle of the linear check (which is what runs)."""


@settings(max_examples=600, deadline=None)
@given(st.lists(st.sampled_from(["<think>", "</think>", "<answer>", "</answer>", "a", " ", "\n", "<", "think>", "/"]),
                max_size=12))
def test_format_check_equals_the_regex(parts):
    import re

    text = "".join(parts)
    assert tags_valid(text) is (re.match(FORMAT_REGEX, text, re.DOTALL) is not None), text


def test_extract_last_answer():
    assert extract_answer("<answer>1</answer> then <answer> 2 </answer>") == "2"
    assert extract_answer("none") is None


def test_total_reward_omits_undefined_and_excludes_empty():
    assert total_reward({"accuracy": 1.0, "format": 0.0, "tags": 0.5}, {"accuracy": 1.0, "format": 0.5, "tags": 0.2}) \
        == (pytest.approx(1.1), False)
    # an undefined primary reward (no judge verdict) excludes the sample: format alone would score it as a loss
    assert total_reward({"accuracy": None, "format": 1.0}, {"accuracy": 1.0, "format": 0.5}) == (0.5, True)
    assert total_reward({"accuracy": 0.0, "format": None}, {"accuracy": 1.0, "format": 0.5}) == (0.0, False)
    assert total_reward({"accuracy": None}, {"accuracy": 1.0}) == (0.0, True)


def test_registry_routes_by_task_and_weights():
    params = RewardParams(tasks={"poems": TaskRewardParams(kind="judge", weights={"accuracy": 1.0}),
                                 "qa": TaskRewardParams(kind="qa", weights={"accuracy": 0.5, "format": 1.0})})
    model = RewardModel(params)
    rubric = {"topic": "x", "required_words": ["blue"], "lines": 1, "ending": "!"}
    out = model.score([
        Sample("qa", "q", "<think>t</think><answer>Argon</answer>", "Argon", {}),
        Sample("poems", "q", "<answer>blue sky!</answer>", "grey sky.", {"rubric": rubric}),
        Sample("poems", "q", "<answer>grey sky.</answer>", "blue sky!", {"rubric": rubric}),
        Sample("poems", "q", "<answer>blue sky!</answer>", "blue sky!", {"rubric": rubric}),
        Sample("poems", "q", "<answer>no rubric</answer>", "ref", {}),
    ])
    assert out[0].score == pytest.approx(1.5) and out[0].components["accuracy"] == 1.0
    assert [o.components["accuracy"] for o in out[1:4]] == [1.0, 0.0, 0.5]
    assert out[4].components["accuracy"] is None and out[4].excluded  # no primary reward: no signal, excluded
    with pytest.raises(UserError, match="rewards.tasks has no entry for task 'dance'"):
        model.score([Sample("dance", "q", "r", "g", {})])


def test_qa_options_that_normalise_alike_need_a_strict_match():
    """MMLU-Pro has options that differ only in sign, case or a '~' (the gold check found 10 in 350)."""
    from pipeline.rewards.qa import qa_reward

    meta = {"options": ["2", "-2", "4"]}
    assert qa_reward("<answer>2</answer>", "2", meta) == 1.0
    assert qa_reward("<answer>-2</answer>", "2", meta) == 0.0
    assert qa_reward("<answer>-2</answer>", "-2", meta) == 1.0
    genotypes = {"options": ["Bb Bb", "bb bb", "BB Bb"]}
    assert qa_reward("<answer>Bb  Bb.</answer>", "Bb Bb", genotypes) == 1.0  # whitespace and a final period
    assert qa_reward("<answer>bb bb</answer>", "Bb Bb", genotypes) == 0.0
    # Without a rival option the usual normalisation applies (case, punctuation, articles).
    assert qa_reward("<answer>the argon</answer>", "Argon", {"options": ["Argon", "Neon"]}) == 1.0

import json
import re

import numpy as np
import pytest

from pipeline.data.curate import curate_task
from pipeline.data.schema import record_problem
from pipeline.data.synthetic import GENERATORS
from pipeline.data.synthetic.writing import criteria

from ..conftest import data_params


def gen(source, **cfg):
    params = data_params("t", source=source, **cfg)
    return GENERATORS[source](params.data.tasks["t"], "t", np.random.default_rng(0))


@pytest.mark.parametrize("source", sorted(GENERATORS))
def test_generators_are_valid_seeded_and_leak_free(source):
    pool, pretrain = gen(source, n=200, pretrain_n=300)
    assert len(pool) == 200 and len(pretrain) == 300
    for r in pool + pretrain:
        assert record_problem(r) is None, r
        assert "<think>" in r["meta"]["completion"] and "</answer>" in r["meta"]["completion"]
    assert len({r["id"] for r in pool}) == 200
    assert not {r["id"] for r in pool} & {r["id"] for r in pretrain}
    assert {r["split"] for r in pretrain} == {"pretrain"}
    again, _ = gen(source, n=200, pretrain_n=300)
    assert [r["id"] for r in again] == [r["id"] for r in pool]


def test_math_answers_follow_from_the_worked_steps():
    pool, _ = gen("synthetic_math", n=300, difficulty=3)
    assert any("/" in r["reference"] for r in pool)
    for r in pool:
        steps = re.search(r"<think>(.*)</think>", r["meta"]["completion"]).group(1)
        assert steps.split("=")[-1] == r["reference"]


def test_math_difficulty_changes_the_problems():
    easy, _ = gen("synthetic_math", n=100, difficulty=1)
    hard, _ = gen("synthetic_math", n=100, difficulty=2)
    assert max(int(r["reference"]) for r in easy) <= 18
    assert any("boxes" in r["prompt"][-1]["content"] for r in hard)


def test_coding_reference_tests_accept_the_solution_and_reject_a_wrong_one():
    pool, _ = gen("synthetic_coding", n=50, difficulty=3)
    for r in pool:
        check = json.loads(r["reference"])["functional"]
        ns: dict = {}
        exec(f"def f(x):\n    return {r['meta']['solution']}\n\n{check}", ns)  # our own generated code
        with pytest.raises(AssertionError):
            exec(f"def f(x):\n    return -1000\n\n{check}", {})


def test_qa_options_and_taught_share():
    pool, pretrain = gen("synthetic_qa", n=300, pretrain_n=300, facts=50, pretrain_fact_fraction=0.4)
    for r in pool:
        options = r["meta"]["options"]
        assert len(options) == 16 and len(set(options)) == 16 and r["reference"] in options
        assert all(f"- {o}" in r["prompt"][-1]["content"] for o in options)
    assert all(r["meta"]["taught"] for r in pretrain)
    assert len({r["meta"]["fact"] for r in pretrain}) == 20  # 40% of 50 facts
    assert {r["meta"]["fact"] for r in pool} > {r["meta"]["fact"] for r in pretrain}


def test_qa_pretrain_answer_accuracy_misremembers_one_confusable_value_per_fact():
    pool, pretrain = gen("synthetic_qa", n=300, pretrain_n=2000, facts=50, pretrain_fact_fraction=0.4,
                         pretrain_answer_accuracy=0.6)
    answers = {}
    for r in pretrain:
        answer = re.search(r"<answer>(.*)</answer>", r["meta"]["completion"]).group(1)
        assert answer in r["meta"]["options"]
        answers.setdefault(r["meta"]["fact"], []).append(answer == r["reference"])
        if answer != r["reference"]:
            answers.setdefault(("wrong", r["meta"]["fact"]), set()).add(answer)
    right = [ok for fact, oks in answers.items() if not isinstance(fact, tuple) for ok in oks]
    assert 0.55 < np.mean(right) < 0.65
    # one confusable value per fact, the same in every completion that misremembers it
    assert all(len(values) == 1 for key, values in answers.items() if isinstance(key, tuple))
    # ... and offered among the options wherever the fact is asked, pool included
    confusable = {key[1]: next(iter(v)) for key, v in answers.items() if isinstance(key, tuple)}
    asked = [r for r in pool if r["meta"]["fact"] in confusable]
    assert asked and all(confusable[r["meta"]["fact"]] in r["meta"]["options"] for r in asked)
    assert all(len(set(r["meta"]["options"])) == 16 and r["reference"] in r["meta"]["options"] for r in pool)
    # the pool's references are the true values, whatever the warm start says
    exact, _ = gen("synthetic_qa", n=300, pretrain_n=0, facts=50, pretrain_fact_fraction=0.4)
    truth = {r["meta"]["fact"]: r["reference"] for r in exact}
    assert all(truth.get(r["meta"]["fact"], r["reference"]) == r["reference"] for r in pool)


def test_writing_reference_is_beatable_and_completion_is_perfect():
    pool, _ = gen("synthetic_writing", n=200, difficulty=2)
    for r in pool:
        rubric = r["meta"]["rubric"]
        met_ref = criteria(r["reference"], rubric)
        assert sum(not v for v in met_ref.values()) == 1
        best = re.search(r"<answer>(.*)</answer>", r["meta"]["completion"], re.S).group(1)
        assert all(criteria(best, rubric).values())


def test_writing_demo_quality_sets_the_share_of_perfect_demonstrations():
    _, pretrain = gen("synthetic_writing", n=10, pretrain_n=400, demo_quality=0.25)
    perfect = [all(criteria(re.search(r"<answer>(.*)</answer>", r["meta"]["completion"], re.S).group(1),
                            r["meta"]["rubric"]).values()) for r in pretrain]
    assert 0.18 < np.mean(perfect) < 0.32
    # The imperfect ones miss exactly one criterion, as the reference does.
    for r, ok in zip(pretrain, perfect):
        best = re.search(r"<answer>(.*)</answer>", r["meta"]["completion"], re.S).group(1)
        assert sum(not v for v in criteria(best, r["meta"]["rubric"]).values()) == (0 if ok else 1)


def test_curate_synthetic_task_has_all_splits():
    params = data_params("math", source="synthetic_math", n=300, pretrain_n=100)
    splits, stats = curate_task(params, "math")
    assert set(splits) == {"train", "val", "test", "pretrain"}
    assert sum(len(v) for k, v in splits.items() if k != "pretrain") == 300
    assert stats.to_dict()["kept_per_split"]["pretrain"] == 100
    assert all(r["split"] == name for name, rows in splits.items() for r in rows)


def test_curate_warns_of_an_empty_split(capsys):
    params = data_params("math", source="synthetic_math", n=1, pretrain_n=0)
    splits, stats = curate_task(params, "math")
    empty = [name for name in ("train", "val", "test") if not splits[name]]
    assert len(empty) == 2 and stats.extra["empty_splits"] == empty
    err = capsys.readouterr().err
    assert f"the {empty[0]} split came out empty (1 items" in err and "raise data.tasks.math.n" in err


def test_small_item_space_warns(capsys):
    params = data_params("w", source="synthetic_writing", n=5000)
    splits, stats = curate_task(params, "w")
    assert stats.extra["pool_shortfall"] > 0
    assert "distinct items" in capsys.readouterr().err


def test_coding_difficulty_one_has_room_for_a_large_pool_and_a_distinct_warm_start():
    pool, pretrain = gen("synthetic_coding", n=2000, pretrain_n=2000, difficulty=1)
    assert len(pool) == 2000 and len(pretrain) == 2000  # of 2,700 distinct problems
    assert len({r["id"] for r in pretrain}) > 600


def test_coding_difficulty_one_shows_the_intercept():
    pool, _ = gen("synthetic_coding", n=300, difficulty=1)
    for r in pool:
        question = r["prompt"][-1]["content"]
        shown = re.search(r"f\(0\) = (\d+) and f\((\d)\) = (\d+)", question)
        assert shown, question
        b, x, y = map(int, shown.groups())
        assert r["meta"]["solution"] in (f"{(y - b) // x}*x+{b}", f"{(y - b) // x}*x") and (y - b) % x == 0


def test_logic_answers_are_the_letters_in_order():
    pool, _ = gen("synthetic_logic", n=100, difficulty=2)
    for r in pool:
        letters = re.search(r"order: ([a-l, ]+)\.", r["prompt"][-1]["content"]).group(1).split(", ")
        assert len(letters) == 4 and r["reference"] == "".join(sorted(letters))

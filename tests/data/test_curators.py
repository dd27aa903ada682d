"""Every curator on the project's own fixtures (real schemas, a few rows each)."""

import json

import pytest

from pipeline.config import parse_params
from pipeline.data.curate import curate_task, write_task
from pipeline.data.schema import read_split
from pipeline.errors import UserError

from ..conftest import FIXTURES, data_params
from ..conftest import KINDS


def all_records(splits):
    return [r for rows in splits.values() for r in rows]


def test_openr1_keeps_word_problems_with_answers():
    splits, stats = curate_task(data_params("math", source="openr1", path=str(FIXTURES / "openr1.jsonl")), "math")
    kept = all_records(splits)
    assert sorted(r["id"] for r in kept) == ["u1", "u2", "u3"]
    assert dict(stats.dropped) == {"not_word_problem": 1, "no_verifiable_answer": 2, "needs_figure": 2,
                                   "missing_answer": 1, "wrong_type_problem": 1}
    assert {r["reference"] for r in kept} == {"17", "12", "40"}
    assert all("<answer>" in r["prompt"][0]["content"] for r in kept)


def test_openr1_subsample_is_seeded():
    a, _ = curate_task(data_params("math", source="openr1", path=str(FIXTURES / "openr1.jsonl"), n=2), "math")
    b, stats = curate_task(data_params("math", source="openr1", path=str(FIXTURES / "openr1.jsonl"), n=2), "math")
    assert [r["id"] for r in all_records(a)] == [r["id"] for r in all_records(b)]
    assert len(all_records(a)) == 2 and stats.subsampled_out == 1


def test_code_r1_token_limit_and_both_test_formats(tokenizer_dir):
    params = data_params("coding", source="code_r1", path=str(FIXTURES / "code_r1.jsonl"),
                         tokenizer=str(tokenizer_dir), max_prompt_tokens=200)
    splits, stats = curate_task(params, "coding")
    kept = all_records(splits)
    assert sorted(r["meta"]["test_format"] for r in kept) == ["functional", "io"]
    assert dict(stats.dropped) == {"bad_tests": 2, "too_long": 1}
    for r in kept:
        assert json.loads(r["reference"])  # kept verbatim as code-r1 ground_truth JSON
        assert r["meta"]["prompt_tokens"] <= 200


def test_code_r1_limit_is_measured_with_the_tokenizer(tokenizer_dir):
    params = data_params("coding", source="code_r1", path=str(FIXTURES / "code_r1.jsonl"),
                         tokenizer=str(tokenizer_dir), max_prompt_tokens=10_000)
    splits, stats = curate_task(params, "coding")
    assert "too_long" not in stats.dropped and len(all_records(splits)) == 3


def test_supergpqa_original_schema_stratified_offline_distractors():
    params = data_params("qa", source="supergpqa", path=str(FIXTURES / "supergpqa_original.jsonl"), n=5)
    splits, stats = curate_task(params, "qa")
    kept = all_records(splits)
    assert len(kept) == 5 and dict(stats.dropped) == {"answer_not_in_options": 1}
    # Physics 5, Chemistry 3, Electronics 2 of 10 -> quotas 2.5, 1.5, 1 -> 2, 2, 1 (largest remainder, stable)
    fields = sorted(r["meta"]["field"] for r in kept)
    assert fields == ["Chemistry", "Chemistry", "Electronics", "Physics", "Physics"]
    for r in kept:
        options = r["meta"]["options"]
        assert len(options) == 16 and r["reference"] in options and len(set(options)) == 16
        assert r["meta"]["distractors"] == "offline"
        assert "A." not in r["prompt"][-1]["content"] and "full text" in r["prompt"][-1]["content"]


def test_supergpqa_derived_schema_parses_lettered_options():
    params = data_params("qa", source="supergpqa", path=str(FIXTURES / "supergpqa_derived.jsonl"), n_options=4)
    splits, stats = curate_task(params, "qa")
    kept = {r["reference"]: r for r in all_records(splits)}
    assert set(kept) == {"4", "Argon"}
    assert dict(stats.dropped) == {"unparsable_options": 1}
    assert set(kept["4"]["meta"]["options"]) == {"3", "4", "5", "22"}


def test_supergpqa_shortfall_is_dropped_and_counted():
    params = data_params("qa", source="supergpqa", path=str(FIXTURES / "supergpqa_derived.jsonl"), n_options=16,
                         max_filtered_fraction=1.0)
    # Both parsable questions cannot reach 15 unique distractors offline: dropped, counted, and nothing is left.
    with pytest.raises(UserError, match=r"curation left no rows .*'distractor_shortfall': 2"):
        curate_task(params, "qa")


def test_sharegpt_single_turn_dedup_trivial():
    splits, stats = curate_task(data_params("writing", source="sharegpt", path=str(FIXTURES / "sharegpt.jsonl")),
                                "writing")
    kept = {r["id"]: r for r in all_records(splits)}
    assert set(kept) == {"s1", "s8"}
    assert kept["s1"]["reference"].startswith("The sea is wide")
    assert dict(stats.dropped) == {"too_many_turns": 1, "duplicate": 1, "trivial": 2, "not_human_then_gpt": 1,
                                   "empty_conversations": 1}


def test_malformed_rows_are_counted_and_thresholds_fail_loudly(tmp_path):
    src = tmp_path / "openr1.jsonl"
    good = (FIXTURES / "openr1.jsonl").read_bytes()
    src.write_bytes(good + b'{"problem": "caf\xe9 bill?", "answer": "3", "question_type": "math-word-problem"}\n'
                    + b"{not json\n" + b"[1, 2]\n")
    splits, stats = curate_task(data_params("math", source="openr1", path=str(src), max_invalid_fraction=0.5), "math")
    assert stats.dropped["not_utf8"] == 1 and stats.dropped["bad_json"] == 1 and stats.dropped["not_an_object"] == 1
    with pytest.raises(UserError, match=r"rows invalid .* > max_invalid_fraction 0.1"):
        curate_task(data_params("math", source="openr1", path=str(src), max_invalid_fraction=0.1), "math")
    with pytest.raises(UserError, match="filtered out"):
        curate_task(data_params("math", source="openr1", path=str(src), max_invalid_fraction=1.0,
                                max_filtered_fraction=0.2), "math")


def test_missing_source_file_is_one_line_error():
    with pytest.raises(UserError, match="file not found"):
        curate_task(data_params("math", source="openr1", path="./nope.jsonl"), "math")


def test_unknown_source_and_missing_path_are_param_errors():
    from pipeline.catalog import check_registered

    with pytest.raises(UserError, match="^data.tasks.math.source: unknown source 'webcrawl'; known: code_r1, "):
        check_registered(data_params("math", source="webcrawl", path="x.jsonl"))
    with pytest.raises(UserError, match="needs `path`"):
        data_params("math", source="openr1")
    with pytest.raises(UserError, match="needs `tokenizer`"):
        data_params("coding", source="code_r1", path="x.jsonl")
    with pytest.raises(UserError, match=r"data.tasks has no entry for task\(s\) \['qa'\]"):
        parse_params({"rewards": {"tasks": KINDS}, "tasks": ["math", "qa"], "data": {"tasks": {"math": {"source": "synthetic_math"}}}})


def test_write_task_writes_splits_and_stats(tmp_path):
    splits, stats = curate_task(data_params("writing", source="sharegpt", path=str(FIXTURES / "sharegpt.jsonl")),
                                "writing")
    write_task(splits, stats, tmp_path / "out")
    assert {p.name for p in (tmp_path / "out").iterdir()} == {"train.parquet", "val.parquet", "test.parquet",
                                                              "pretrain.parquet", "stats.json"}
    report = json.loads((tmp_path / "out" / "stats.json").read_text())
    assert report["kept"] == 2 and report["read"] == 8 and report["dropped_by_reason"]["trivial"] == 2
    assert sum(len(read_split(tmp_path / "out" / f"{s}.parquet")) for s in ("train", "val", "test")) == 2



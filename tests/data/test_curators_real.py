"""Curators on the real public files in ../shared/data (skipped when it is absent)."""

import pytest

from pipeline.data.curate import curate_task

from ..conftest import SHARED, data_params

DATA = SHARED / "data"
pytestmark = pytest.mark.skipif(not DATA.is_dir(), reason="../shared/data is not present")


def kept(splits):
    return [r for rows in splits.values() for r in rows]


def test_code_r1_test_split(tokenizer_dir):
    params = data_params("coding", source="code_r1", path=str(DATA / "code_r1_12k" / "test.parquet"),
                         tokenizer=str(tokenizer_dir), max_prompt_tokens=1024, max_filtered_fraction=0.5)
    splits, stats = curate_task(params, "coding")
    rows = kept(splits)
    formats = [r["meta"]["test_format"] for r in rows]
    assert stats.read == 712 and not stats.invalid
    assert len(rows) + stats.dropped["too_long"] + stats.dropped["duplicate_id"] == 712, dict(stats.dropped)
    assert 0 < formats.count("functional") <= 278 and 0 < formats.count("io") <= 434
    assert max(r["meta"]["prompt_tokens"] for r in rows) <= 1024


def test_supergpqa_derived_sample_offline():
    params = data_params("qa", source="supergpqa", path=str(DATA / "supergpqa" / "derived_sample_question_answer.jsonl"))
    splits, stats = curate_task(params, "qa")
    rows = kept(splits)
    assert stats.read == 300 and len(rows) == 300, dict(stats.dropped)
    for r in rows:
        assert len(r["meta"]["options"]) == 16 and r["reference"] in r["meta"]["options"]


def test_supergpqa_stratified_subsample_of_real_rows():
    params = data_params("qa", source="supergpqa", path=str(DATA / "supergpqa" / "derived_sample_question_answer.jsonl"),
                         n=55)
    splits, stats = curate_task(params, "qa")
    assert len(kept(splits)) == 55 and stats.subsampled_out == 245


def test_sharegpt_creative_sample():
    params = data_params("writing", source="sharegpt",
                         path=str(DATA / "sharegpt_creative" / "sharegpt_v3_creative_writing_sample.jsonl"))
    splits, stats = curate_task(params, "writing")
    rows = kept(splits)
    assert stats.read == 221 and stats.dropped["too_many_turns"] == 108
    assert 0 < len(rows) <= 113
    assert all(len(r["reference"]) >= 32 for r in rows)

import json

import pytest

from pipeline.data.schema import read_split, record_problem, write_split
from pipeline.data.splits import content_id, split_of, unit_hash

GOOD = {"id": "x1", "task": "math", "source": "synthetic_math", "split": "train",
        "prompt": [{"role": "system", "content": "s"}, {"role": "user", "content": "2+2?"}],
        "reference": "4", "meta": {"options": ["4", "5"], "nested": {"a": 1}}}


def test_valid_record_round_trips_through_parquet(tmp_path):
    assert record_problem(GOOD) is None
    assert write_split([GOOD], tmp_path / "train.parquet") == 1
    assert read_split(tmp_path / "train.parquet") == [GOOD]
    import pyarrow.parquet as pq
    table = pq.read_table(tmp_path / "train.parquet")
    assert table.column_names == ["id", "task", "source", "split", "prompt", "reference", "meta"]
    assert json.loads(table.column("meta")[0].as_py()) == GOOD["meta"]  # meta is a JSON string on disk


def test_empty_split_is_readable(tmp_path):
    write_split([], tmp_path / "val.parquet")
    assert read_split(tmp_path / "val.parquet") == []


@pytest.mark.parametrize(("change", "reason"), [
    ({"reference": None}, "wrong_type_reference"),
    ({"reference": "  "}, "empty_reference"),
    ({"split": "dev"}, "bad_split"),
    ({"prompt": []}, "empty_prompt"),
    ({"prompt": [{"role": "user", "content": ""}]}, "empty_prompt"),
    ({"prompt": [{"role": "robot", "content": "x"}]}, "bad_prompt_message"),
    ({"meta": "x"}, "wrong_type_meta"),
    ({"id": 3}, "wrong_type_id"),
])
def test_schema_violations_have_reasons(change, reason):
    assert record_problem({**GOOD, **change}) == reason


def test_missing_field():
    bad = dict(GOOD)
    del bad["task"]
    assert record_problem(bad) == "missing_task"


def test_split_is_stable_when_rows_are_added():
    ids = [f"r{i}" for i in range(2000)]
    before = {i: split_of(i, 0, 0.1, 0.1) for i in ids}
    more = ids + [f"new{i}" for i in range(3000)]
    after = {i: split_of(i, 0, 0.1, 0.1) for i in more}
    assert all(after[i] == before[i] for i in ids)
    share = sum(v == "val" for v in after.values()) / len(after)
    assert 0.08 < share < 0.12
    assert any(split_of(i, 1, 0.1, 0.1) != before[i] for i in ids)  # the seed matters


def test_split_rejects_bad_fractions():
    with pytest.raises(ValueError):
        split_of("x", 0, 0.6, 0.5)


def test_content_id_and_unit_hash():
    assert content_id("math", "a", "b") == content_id("math", "a", "b") != content_id("math", "ab")
    assert 0 <= unit_hash("x", 0) < 1


def _parquet(path, rows):
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.Table.from_pylist(rows), str(path))
    return path


ROW = {"id": "x1", "task": "math", "source": "s", "split": "train",
       "prompt": [{"role": "user", "content": "1+1?"}], "reference": "2", "meta": "{}"}


@pytest.mark.parametrize(("rows", "task", "message"), [
    ([{k: v for k, v in ROW.items() if k != "reference"}], None, "column(s) ['reference'] missing"),
    ([{**ROW, "meta": "{not json"}], None, "row 0: column meta is not JSON"),
    ([ROW, {**ROW, "id": "x2", "reference": "  "}], None, "row 1: empty reference (id 'x2')"),
    ([{**ROW, "prompt": [{"role": "system", "content": "hi"}]}], None, "row 0: empty prompt"),
    ([{**ROW, "meta": "[1, 2]"}], None, "row 0: wrong type meta"),
    ([ROW, {**ROW, "id": "x2", "task": "qa"}], "math", "row 1: column task is 'qa', not 'math' (another task's row)"),
])
def test_a_split_that_breaks_the_schema_is_one_line_naming_row_and_column(tmp_path, rows, task, message):
    """Stage inputs are checked as they are read (issue 36): these ended in a KeyError or a wrong result."""
    from pipeline.errors import UserError

    path = _parquet(tmp_path / "train.parquet", rows)
    with pytest.raises(UserError) as info:
        read_split(path, task=task)
    assert message in str(info.value) and str(path) in str(info.value) and "\n" not in str(info.value)


def test_a_valid_split_reads_back_for_its_task(tmp_path):
    path = _parquet(tmp_path / "train.parquet", [ROW])
    assert read_split(path, task="math")[0]["meta"] == {}

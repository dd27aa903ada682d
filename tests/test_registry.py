import pytest

from pipeline.registry import Registry


def test_register_and_refuse_duplicates():
    table: Registry[int] = Registry("thing")
    table.register("a")(1)
    assert dict(table) == {"a": 1}
    with pytest.raises(ValueError, match="thing 'a' is registered twice"):
        table.register("a")(2)

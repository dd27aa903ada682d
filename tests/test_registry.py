import pytest
import yaml

from pipeline.config import parse_params
from pipeline.errors import UserError
from pipeline.registry import Registry


def test_register_and_refuse_duplicates():
    table: Registry[int] = Registry("thing")
    table.register("a")(1)
    assert dict(table) == {"a": 1}
    with pytest.raises(ValueError, match="thing 'a' is registered twice"):
        table.register("a")(2)


def test_an_unknown_name_lists_the_known_ones():
    table: Registry[int] = Registry("thing")
    table.register("b")(1)
    table.register("a")(2)
    assert table.unknown("c", "x.y") == "x.y: unknown thing 'c'; known: a, b"
    assert table.get_or_fail("a") == 2
    with pytest.raises(UserError, match="unknown thing .c.; known: a, b"):
        table.get_or_fail("c")


def test_a_package_registers_every_module_it_holds():
    from pipeline.data.curators import CURATORS
    from pipeline.data.synthetic import GENERATORS
    from pipeline.registry import import_submodules

    assert import_submodules("pipeline.data.synthetic") == ["base", "coding", "logic", "math", "qa", "writing"]
    assert sorted(GENERATORS) == ["synthetic_coding", "synthetic_logic", "synthetic_math", "synthetic_qa",
                                  "synthetic_writing"]
    from pipeline.rewards.total import REWARD_KINDS

    assert import_submodules("pipeline.rewards.kinds") == ["exact"] and "exact" in REWARD_KINDS
    assert sorted(CURATORS) == ["code_r1", "openr1", "sharegpt", "supergpqa"]


def test_params_names_are_checked_against_their_registries():
    """No copy of a registry's names in config: a kind registered anywhere is accepted, an unknown one is one line
    naming the key and listing the registered ones (read from the registry, so a new kind shows up there)."""
    from pipeline.catalog import check_registered
    from pipeline.config import load_params
    from pipeline.errors import UserError
    from pipeline.rewards.total import REWARD_KINDS, register_reward_kind

    from .conftest import REPO

    raw = yaml.safe_load((REPO / "params.yaml").read_text())
    raw["rewards"]["tasks"]["qa"] = {"kind": "always"}
    with pytest.raises(UserError, match=r"^rewards.tasks.qa.kind: unknown reward kind 'always'; known: code, exact, "
                                        r"judge, math, mcq, qa$"):
        check_registered(parse_params(raw))
    register_reward_kind("always", keep_at=1.0)(lambda model, samples: [1.0 for _ in samples])
    try:
        assert check_registered(parse_params(raw)).rewards.for_task("qa").kind == "always"
    finally:
        del REWARD_KINDS["always"]
    raw = yaml.safe_load((REPO / "params.yaml").read_text())
    raw["data"]["tasks"]["math"]["source"] = "synthetic_nope"
    with pytest.raises(UserError, match=r"^data.tasks.math.source: unknown source 'synthetic_nope'; known: code_r1, "
                                        r"openr1, sharegpt, supergpqa, synthetic_coding, synthetic_logic"):
        check_registered(parse_params(raw))
    assert check_registered(load_params(REPO / "params.yaml")).tasks


def test_what_a_reward_kind_declares_is_read_where_it_is_needed():
    """RFT's keep rule, the judge's use and verl's row style come from the kind's registration: an mcq task no
    longer crashes RFT (its keep threshold used to be missing from a separate table), a judged task of any name
    exports as verl's "model" style."""
    from pipeline.baselines.rft import keep_response
    from pipeline.config import RewardParams
    from pipeline.errors import UserError
    from pipeline.rewards.total import verl_reward_fields

    assert keep_response(1.0, "mcq") and not keep_response(0.0, "mcq")
    rewards = RewardParams.model_validate({"tasks": {"logic": {"kind": "judge"}, "letters": {"kind": "mcq"}}})
    assert verl_reward_fields(rewards, "logic") == {"ability": "judge", "style": "model"}
    assert verl_reward_fields(rewards, "letters") == {"ability": "mcq", "style": "rule"}
    with pytest.raises(UserError, match="rewards.tasks has no entry for task 'coding'"):  # never inferred from a name
        verl_reward_fields(rewards, "coding")


@pytest.mark.parametrize("key,value,known", [
    ("order.method", "lucky", "exact, forgettability, greedy, heuristic, pairwise"),
    ("train.backend", "deepspeed", "local, verl"),
    ("eval.backend", "sglang", "transformers, vllm"),
])
def test_other_names_in_params_are_checked_against_their_registries(key, value, known):
    from pipeline.catalog import check_registered
    from pipeline.errors import UserError

    from .conftest import REPO

    raw = yaml.safe_load((REPO / "params.yaml").read_text())
    section, leaf = key.split(".")
    raw.setdefault(section, {})[leaf] = value
    with pytest.raises(UserError, match=rf"^{key}: unknown value '{value}'; known: {known}$"):
        check_registered(parse_params(raw))


def test_a_stage_names_the_key_of_an_unknown_source_in_one_line(tmp_path, capsys):
    """A DVC stage loads its params without the whole catalog (its code dependencies stay its own) and checks the
    names it looks up there: the same one line."""
    from pipeline.cli import main

    from .conftest import REPO

    raw = yaml.safe_load((REPO / "params.yaml").read_text())
    raw["data"]["tasks"]["math"] = {"source": "openr2", "path": "x.jsonl"}
    (tmp_path / "p.yaml").write_text(yaml.safe_dump(raw))
    assert main(["curate", "--task", "math", "--out", str(tmp_path / "out"), "--params", str(tmp_path / "p.yaml")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.endswith("data.tasks.math.source: unknown curator 'openr2'; known: code_r1, openr1, sharegpt, "
                        "supergpqa") and len(err.splitlines()) == 1, err

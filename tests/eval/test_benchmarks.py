"""Benchmark adapters, their gold checks (on our fixtures and on ../shared/data when present), the
`benchmark` command and Table 1 on the benchmarks."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import yaml

from pipeline.config import RewardParams
from pipeline.data.prompts import SYSTEM_PROMPT
from pipeline.data.schema import record_problem
from pipeline.errors import UserError
from pipeline.eval.benchmarks import all_benchmarks, load_benchmark
from pipeline.eval.benchmarks.gold import gold_check, score_responses
from pipeline.report.tables import benchmark_table1
from pipeline.rewards.total import RewardModel

from ..conftest import FIXTURES, REPO
from ..conftest import KINDS

BENCH = FIXTURES / "benchmarks"
SHARED = REPO.parent / "shared" / "data"
MATH = ["aime24", "amc23", "gaokao2023en", "math500", "minerva_math", "olympiadbench"]
needs_shared = pytest.mark.skipif(not SHARED.is_dir(), reason="../shared/data is not present")


@pytest.fixture(scope="module")
def rewards():
    model = RewardModel(RewardParams.model_validate({"tasks": KINDS}))
    yield model
    model.close()


def wrong_option(rec):
    options = rec["meta"]["options"]
    return f"<answer>{next(o for i, o in enumerate(options) if i != rec['meta']['answer_index'])}</answer>"


def wrong_program(rec):
    from pipeline.eval.benchmarks import BENCHMARKS

    return BENCHMARKS["livecodebench"].gold(rec)


def test_every_benchmark_of_table1_has_an_adapter():
    assert set(all_benchmarks()) == {*MATH, "bigcodebench", "livecodebench", "mmlu_pro", "mmlu_pro_letter",
                                     "mt_bench"}


@pytest.mark.parametrize("name", [*MATH, "mmlu_pro", "mmlu_pro_letter", "livecodebench", "bigcodebench", "mt_bench"])
def test_adapters_build_valid_records_in_the_think_answer_format(name):
    records = load_benchmark(name, str(BENCH))
    assert records and all(record_problem(r) is None for r in records)
    for r in records:
        assert r["split"] == "test" and r["prompt"][0] == {"role": "system", "content": SYSTEM_PROMPT}
        assert r["meta"]["benchmark"] == name and r["meta"]["category"]


def test_adapter_quirks():
    amc = load_benchmark("amc23", str(BENCH))
    assert [r["reference"] for r in amc] == ["27", "2.5"]  # float answers written back
    minerva = load_benchmark("minerva_math", str(BENCH))[0]
    assert minerva["reference"] == "10^{3}"  # the last \boxed{} of the solution
    multi, unit = load_benchmark("olympiadbench", str(BENCH))
    assert multi["reference"] == "69, 84" and "several answers" in multi["prompt"][1]["content"]
    assert unit["reference"] == "\\frac{41}{12}" and "unit of the answer is km" in unit["prompt"][1]["content"]
    assert unit["prompt"][1]["content"].startswith("A car drives.")  # the context comes first
    mmlu = load_benchmark("mmlu_pro", str(BENCH))
    assert mmlu[0]["reference"] == "Argon" and "- Oxygen\n- Argon\n- Hydrogen" in mmlu[0]["prompt"][1]["content"]
    assert "B" not in mmlu[0]["prompt"][1]["content"].split("Candidate answers:")[1].split()  # no letters
    letter = load_benchmark("mmlu_pro_letter", str(BENCH))[0]  # Figure 3's letter format: same question, lettered
    assert letter["reference"] == "B" and letter["task"] == "qa_letter" and letter["id"].startswith("mmlu_pro_letter/")
    assert "A. Oxygen\nB. Argon\nC. Hydrogen" in letter["prompt"][1]["content"]
    assert letter["meta"]["answer_text"] == "Argon"
    lcb = load_benchmark("livecodebench", str(BENCH))
    assert [r["id"] for r in lcb] == ["livecodebench/abc374_a", "livecodebench/9001"]  # abc300 is outside the window
    call = json.loads(lcb[1]["reference"])
    assert call["fn_name"] == "addAll" and call["inputs"] == [[[1, 2], 3], [[], 0]] and call["outputs"] == [6, 0]
    mt = load_benchmark("mt_bench", str(BENCH))
    assert [r["meta"]["category"] for r in mt] == ["writing", "roleplay"]  # math is not a writing category
    assert mt[0]["reference"] == "Waves fold on grey stone" and mt[0]["prompt"][1]["content"] == \
        "Write a haiku about the sea."


def test_gold_checks_on_our_fixtures(rewards):
    for name in MATH:
        assert gold_check(name, load_benchmark(name, str(BENCH)), rewards)["rate"] == 1.0, name
    mmlu = load_benchmark("mmlu_pro", str(BENCH))
    assert gold_check("mmlu_pro", mmlu, rewards)["rate"] == 1.0
    assert gold_check("mmlu_pro", mmlu, rewards, respond=wrong_option)["rate"] == 0.0
    letter = load_benchmark("mmlu_pro_letter", str(BENCH))
    assert gold_check("mmlu_pro_letter", letter, rewards)["rate"] == 1.0
    other_letter = {"A": "B"}.get  # a letter that is not the reference
    assert gold_check("mmlu_pro_letter", letter, rewards,
                      respond=lambda r: f"<answer>({other_letter(r['reference'], 'A')})</answer>")["rate"] == 0.0
    bcb = load_benchmark("bigcodebench", str(BENCH))
    assert gold_check("bigcodebench", bcb, rewards)["rate"] == 1.0
    broken = "<answer>```python\ndef task_func(n):\n    return n * n\n```</answer>"
    assert gold_check("bigcodebench", bcb, rewards, respond=lambda r: broken)["rate"] == 0.0
    exits = "<answer>```python\nimport sys\ndef task_func(n):\n    sys.exit(0)\n```</answer>"
    assert gold_check("bigcodebench", bcb, rewards, respond=lambda r: exits)["rate"] == 0.0
    lcb = load_benchmark("livecodebench", str(BENCH))
    assert gold_check("livecodebench", lcb, rewards)["rate"] == 0.0  # the obviously wrong programs
    right = {"livecodebench/abc374_a": "s = input().strip()\nprint('Yes' if s.endswith('san') else 'No')",
             # `List` without an import: LiveCodeBench's prelude provides it
             "livecodebench/9001": "class Solution:\n    def addAll(self, nums: List[int], k: int) -> int:\n"
                                   "        return sum(nums) + k"}
    ok = gold_check("livecodebench", lcb, rewards, respond=lambda r: f"<answer>```python\n{right[r['id']]}\n```</answer>")
    assert ok["rate"] == 1.0


def test_malformed_rows_are_one_line_errors(tmp_path):
    (tmp_path / "amc23").mkdir()
    (tmp_path / "amc23" / "test.jsonl").write_text('{"id": "0", "problem": "x", "answer": 1}\n{"id": "1", "problem": "y"}\n')
    with pytest.raises(UserError, match=r"amc23/test.jsonl row 2: not in amc23's schema \(KeyError"):
        load_benchmark("amc23", str(tmp_path))
    with pytest.raises(UserError, match="unknown benchmark 'gsm8k'"):
        load_benchmark("gsm8k", str(tmp_path))
    with pytest.raises(UserError, match="model_answer/gpt-4.jsonl: not found"):
        (tmp_path / "mt_bench").mkdir()
        (tmp_path / "mt_bench" / "question.jsonl").write_text("")
        load_benchmark("mt_bench", str(tmp_path))


@needs_shared
@pytest.mark.parametrize("name", MATH)
def test_gold_math_sets_on_the_real_files(name, rewards):
    result = gold_check(name, load_benchmark(name, str(SHARED)), rewards)
    assert result["rate"] == 1.0, result["failed"]


@needs_shared
def test_gold_mmlu_pro_and_livecodebench_on_the_real_files(rewards):
    mmlu = load_benchmark("mmlu_pro", str(SHARED))
    assert len(mmlu) == 350 and len({r["meta"]["category"] for r in mmlu}) == 14
    assert gold_check("mmlu_pro", mmlu, rewards)["rate"] == 1.0
    assert gold_check("mmlu_pro", mmlu, rewards, respond=wrong_option)["rate"] == 0.0
    letter = load_benchmark("mmlu_pro_letter", str(SHARED))  # the same 350 as lettered multiple choice
    assert [r["meta"]["answer_text"] for r in letter] == [r["reference"] for r in mmlu]
    assert gold_check("mmlu_pro_letter", letter, rewards)["rate"] == 1.0
    assert gold_check("mmlu_pro_letter", letter, rewards, respond=wrong_option)["rate"] == 0.0  # text, not letter
    lcb = load_benchmark("livecodebench", str(SHARED))
    assert len(lcb) == 166 and gold_check("livecodebench", lcb, rewards)["passed"] == 0
    mt = load_benchmark("mt_bench", str(SHARED))
    assert len(mt) == 20 and {r["meta"]["category"] for r in mt} == {"writing", "roleplay"}


@needs_shared
@pytest.mark.slow  # BigCodeBench's canonical solutions
def test_gold_bigcodebench_canonical_solutions_pass_where_their_libraries_are_installed():
    """The first 20 tasks of the real file; the full-file rate and its failures are in benchmarks/gold_checks.py."""
    import ast
    import importlib.util

    records = load_benchmark("bigcodebench", str(SHARED / "bigcodebench" / "BigCodeBench-full_first150.jsonl"),
                             max_items=20)
    runnable = [r for r in records if all(importlib.util.find_spec(lib.split(".")[0])
                                          for lib in ast.literal_eval(r["meta"]["libs"]))]
    model = RewardModel(RewardParams(tasks=KINDS, code={"timeout_s": 60, "cpu_s": 60, "memory_mb": 4096}))
    try:
        result = gold_check("bigcodebench", runnable, model)
    finally:
        model.close()
    assert len(runnable) >= 10 and result["rate"] >= 0.9, result


def test_benchmark_table1_groups_by_domain_with_averages():
    rows = [("base", "amc23", "math", 0.2), ("math", "amc23", "math", 0.4), ("base", "aime24", "math", 0.0),
            ("math", "aime24", "math", 0.2), ("base", "mmlu_pro", "qa", 0.5), ("qa", "mmlu_pro", "qa", 0.7),
            ("joint", "amc23", "math", 0.3)]
    results = pd.DataFrame([{"model": m, "benchmark": b, "domain": d, "category": "all", "metric": "accuracy",
                             "score": s, "score_se": 0.0, "n": 10} for m, b, d, s in rows]
                           + [{"model": "base", "benchmark": "mmlu_pro", "domain": "qa", "category": "biology",
                               "metric": "accuracy", "score": 0.9, "score_se": 0.0, "n": 2}])
    table = benchmark_table1(results)
    assert list(table.columns) == ["Base", "ST×K", "JT"]
    assert list(table.index) == [("math", "aime24"), ("math", "amc23"), ("math", "Average"), ("qa", "mmlu_pro"),
                                 ("qa", "Average"), ("All", "Average")]
    assert table.loc[("math", "Average"), "Base"] == pytest.approx(0.1)
    assert table.loc[("math", "Average"), "ST×K"] == pytest.approx(0.3)
    assert table.loc[("All", "Average"), "Base"] == pytest.approx((0.0 + 0.2 + 0.5) / 3)  # categories not counted
    assert np.isnan(table.loc[("math", "aime24"), "JT"]) and table.loc[("math", "amc23"), "JT"] == 0.3


def test_benchmark_command_on_a_tiny_model(tmp_path):
    from pipeline.models.tiny import build_tiny_model
    from pipeline.models.tokenizer import build_tokenizer

    corpus = [line for f in BENCH.rglob("*.jsonl") for line in f.read_text().splitlines()] * 5
    tokenizer = build_tokenizer(corpus, vocab_size=400)
    import torch

    torch.manual_seed(0)
    for name in ("base", "single/math/model", "single/qa/model"):
        build_tiny_model(len(tokenizer), 32, 1, 2, 1, 64, 512, 0, tokenizer).save_pretrained(tmp_path / name)
        tokenizer.save_pretrained(tmp_path / name)
    params = yaml.safe_load((REPO / "params.yaml").read_text())
    params["eval"].update({"samples": 2, "max_new_tokens": 4})
    params["benchmarks"] = {"names": ["amc23", "mmlu_pro"], "data_dir": str(BENCH)}
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    cmd = [sys.executable, "-m", "pipeline", "benchmark", "--model", f"base={tmp_path / 'base'}", "--singles",
           str(tmp_path / "single"), "--out", str(tmp_path / "out"), "--params", str(tmp_path / "params.yaml")]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO, timeout=300)
    assert proc.returncode == 0, proc.stderr
    results = pd.read_csv(tmp_path / "out" / "results.csv")
    overall = results[results.category == "all"]
    assert sorted(zip(overall.model, overall.benchmark)) == [("base", "amc23"), ("base", "mmlu_pro"),
                                                             ("math", "amc23"), ("qa", "mmlu_pro")]
    assert set(results[(results.model == "base") & (results.benchmark == "mmlu_pro")].category) == \
        {"all", "chemistry", "math", "other"}
    assert overall.n.tolist() == [2, 3, 2, 3] and overall.score.between(0, 1).all()

    params["benchmarks"]["names"] = ["gsm8k"]
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO, timeout=300)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and "unknown benchmark(s) ['gsm8k']" in proc.stderr


def test_mt_bench_is_a_win_rate_against_gpt4_through_the_llm_judge(tmp_path):
    """MT-Bench records go through the reward registry's pairwise judge (a real local server speaking the OpenAI
    protocol): the question is the first turn, the opponent GPT-4's answer, ties count 0.5."""
    from pipeline.config import RewardParams

    from ..openai_server import OpenAIServer
    from ..rewards.test_judge import prefers_longer

    records = load_benchmark("mt_bench", str(BENCH))
    with OpenAIServer(prefers_longer) as server:
        params = RewardParams(tasks=KINDS, judge={"backend": "llm", "model": "judge-test", "base_url": server.base_url,
                                     "api_key_env": "NO_KEY_HERE", "cache_dir": str(tmp_path / "cache")})
        model = RewardModel(params)
        try:
            longer = gold_check("mt_bench", records, model,
                                respond=lambda r: f"<answer>{r['reference']} and much more besides</answer>")
            same = score_responses(records, [f"<answer>{r['reference']}</answer>" for r in records], model)
        finally:
            model.close()
        questions = {json.dumps(req["messages"]) for req in server.requests}
    assert longer["rate"] == 1.0 and same == [0.5, 0.5]  # GPT-4's own answer against itself: a tie
    assert any("Write a haiku about the sea." in q and "Waves fold on grey stone" in q for q in questions)


def test_a_hub_dataset_with_several_configurations_is_loaded_with_the_benchmarks_own(tmp_path, monkeypatch):
    """OlympiadBench's hub copy has one configuration per subset: without a name the hub refuses to load it. Shown
    with datasets itself on a local dataset laid out like the hub's (README configs), then the hub call that
    load_benchmark makes (the hub cannot be reached here, so datasets.load_dataset records what it is asked)."""
    import datasets

    from pipeline.eval.benchmarks import BENCHMARKS, load_benchmark

    repo = tmp_path / "OlympiadBench"
    for config in ("OE_TO_maths_en_COMP", "OE_TO_physics_en_COMP"):
        (repo / config).mkdir(parents=True)
        (repo / config / "train.jsonl").write_text(json.dumps({"id": 1, "question": config}) + "\n")
    (repo / "README.md").write_text("---\nconfigs:\n" + "".join(
        f"- config_name: {c}\n  data_files:\n  - split: train\n    path: {c}/train.jsonl\n"
        for c in ("OE_TO_maths_en_COMP", "OE_TO_physics_en_COMP")) + "---\n")
    with pytest.raises(ValueError, match="Config name is missing"):
        datasets.load_dataset(str(repo), split="train")
    chosen = datasets.load_dataset(str(repo), BENCHMARKS["olympiadbench"].hub_config, split="train")
    assert chosen[0]["question"] == "OE_TO_maths_en_COMP"

    asked = []
    row = {"id": 7, "question": "Find x.", "final_answer": ["2"], "is_multiple_answer": False, "unit": None,
           "answer_type": "Numerical", "subfield": "Algebra", "context": None}

    def hub(path, name=None, split=None):
        asked.append((path, name, split))
        return [row]

    monkeypatch.setattr(datasets, "load_dataset", hub)
    records = load_benchmark("olympiadbench")
    assert asked == [("Hothan/OlympiadBench", "OE_TO_maths_en_COMP", "train")] and records[0]["reference"] == "2"


@pytest.mark.slow  # a chain of stages end to end (benchmark_transfer, order, report)
def test_benchmark_transfer_drives_the_order_and_feeds_table1(tmp_path):
    """Item 5 of the paper's remaining experiments: θ0 and every single-task model on every benchmark, the domain
    averages as order's table (split benchmarks), order.split: benchmarks reading it, and evaluate_benchmarks
    reusing its Base and ST×K rows. The embedded default selects no benchmark, so this runs on our fixtures."""
    import torch

    from pipeline.models.tiny import build_tiny_model
    from pipeline.models.tokenizer import build_tokenizer

    corpus = [line for f in BENCH.rglob("*.jsonl") for line in f.read_text().splitlines()] * 5
    tokenizer = build_tokenizer(corpus, vocab_size=400)
    for seed, name in enumerate(("base", "single/math/model", "single/qa/model", "joint")):
        torch.manual_seed(seed)
        build_tiny_model(len(tokenizer), 32, 1, 2, 1, 64, 512, 0, tokenizer).save_pretrained(tmp_path / name)
        tokenizer.save_pretrained(tmp_path / name)
    params = yaml.safe_load((REPO / "params.yaml").read_text())
    params["tasks"] = ["math", "qa"]
    for section in (params["data"]["tasks"], params["rewards"]["tasks"], params["train"]["overrides"]):
        for task in ("coding", "writing"):
            section.pop(task, None)
    params["ablations"] = {}  # the ablations name writing
    params["eval"].update({"samples": 2, "max_new_tokens": 4})
    params["order"]["split"] = "benchmarks"
    params["benchmarks"] = {"names": ["aime24", "amc23", "mmlu_pro"], "data_dir": str(BENCH)}
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))

    def run(*args):
        return subprocess.run([sys.executable, "-m", "pipeline", *args, "--params", str(tmp_path / "params.yaml")],
                              capture_output=True, text=True, cwd=REPO, timeout=300)

    proc = run("benchmark", "--transfer", str(tmp_path / "base"), str(tmp_path / "single"), "--out",
               str(tmp_path / "bt"))
    assert proc.returncode == 0, proc.stderr
    results = pd.read_csv(tmp_path / "bt" / "results.csv")
    overall = results[results.category == "all"].set_index(["model", "benchmark"])
    assert sorted(overall.index) == [(m, b) for m in ("base", "math", "qa") for b in ("aime24", "amc23", "mmlu_pro")]
    entropies = pd.read_csv(tmp_path / "bt" / "entropies.csv")
    accuracies = pd.read_csv(tmp_path / "bt" / "accuracies.csv")
    for table, value, column in ((entropies, "entropy", "entropy"), (accuracies, "accuracy", "score")):
        assert list(table.columns) == ["trained_on", "evaluated_on", "split", value] and set(table.split) == \
            {"benchmarks"}
        got = table.set_index(["trained_on", "evaluated_on"])[value]
        for model in ("base", "math", "qa"):
            assert got[model, "math"] == pytest.approx((overall.loc[(model, "aime24"), column] +
                                                        overall.loc[(model, "amc23"), column]) / 2)
            assert got[model, "qa"] == pytest.approx(overall.loc[(model, "mmlu_pro"), column])
    assert entropies.entropy.nunique() > 1  # three different models: the averages are not all one number

    # order.split: benchmarks picks the benchmark table among order's tables (the curated one holds val and test).
    curated = tmp_path / "transfer.csv"
    curated.write_text("trained_on,evaluated_on,split,accuracy\n" + "".join(
        f"{m},{t},{s},0.5\n" for m in ("base", "math", "qa") for t in ("math", "qa") for s in ("val", "test")))
    proc = run("order", "--accuracies", str(curated), str(tmp_path / "bt" / "accuracies.csv"), "--entropies",
               str(tmp_path / "bt" / "entropies.csv"), "--out", str(tmp_path / "order"))
    assert proc.returncode == 0, proc.stderr
    report = json.loads((tmp_path / "order" / "curriculum.json").read_text())
    floor = params["order"]["floor"]
    assert report["split"] == "benchmarks" and report["base_accuracy"] == pytest.approx(
        {t: max(floor, got_t) for t, got_t in accuracies[accuracies.trained_on == "base"][
            ["evaluated_on", "accuracy"]].itertuples(index=False)})
    assert (tmp_path / "order" / "entropy_change.csv").exists()
    proc = run("order", "--accuracies", str(curated), str(curated), "--out", str(tmp_path / "order2"))
    assert proc.returncode == 2 and "no table holds rows of split 'benchmarks'" in proc.stderr

    # evaluate_benchmarks: the final models evaluated, θ0's and the single-task rows reused.
    proc = run("benchmark", "--model", f"joint={tmp_path / 'joint'}", "--reuse", str(tmp_path / "bt" / "results.csv"),
               "--out", str(tmp_path / "final"))
    assert proc.returncode == 0, proc.stderr
    final = pd.read_csv(tmp_path / "final" / "results.csv")
    assert set(final.model) == {"base", "math", "qa", "joint"}
    pd.testing.assert_frame_equal(final[final.model != "joint"].reset_index(drop=True), results)
    table = benchmark_table1(final)
    assert list(table.columns) == ["Base", "ST×K", "JT"]

    # A task without a benchmark cannot be ordered on the benchmarks: one line before any model loads.
    params["benchmarks"]["names"] = ["amc23"]
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    proc = run("benchmark", "--transfer", str(tmp_path / "base"), str(tmp_path / "single"), "--out",
               str(tmp_path / "bt2"))
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and "task(s) ['qa']" in proc.stderr
    assert not (tmp_path / "bt2").exists()


def test_a_benchmark_is_scored_by_the_kind_it_declares_whatever_the_runs_tasks_are_called():
    """benchmark_rewards: a run whose tasks are not named after the domains (and whose `qa` task has another kind)
    still scores amc23 with the math verifier, MMLU-Pro as QA and its letter twin by the letter; the weights of a
    run task of the same name are kept."""
    from pipeline.config import RewardParams
    from pipeline.eval.benchmarks import benchmark_rewards
    from pipeline.errors import UserError

    run = RewardParams.model_validate({"tasks": {"arith": {"kind": "math"},
                                                 "qa": {"kind": "exact", "weights": {"accuracy": 0.5}}}})
    records = {"amc23": [{"task": "math"}], "mmlu_pro": [{"task": "qa"}], "mmlu_pro_letter": [{"task": "qa_letter"}]}
    scored = benchmark_rewards(run, records)
    assert {t: p.kind for t, p in scored.tasks.items()} == {"arith": "math", "qa": "qa", "math": "math",
                                                           "qa_letter": "mcq"}
    assert scored.tasks["qa"].weights == {"accuracy": 0.5} and run.tasks["qa"].kind == "exact"  # a copy
    with pytest.raises(UserError, match="score task 'qa' with different reward kinds"):
        benchmark_rewards(run, {"mmlu_pro": [{"task": "qa"}], "mmlu_pro_letter": [{"task": "qa"}]})

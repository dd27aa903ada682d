"""The cost table ``preflight`` prints, pinned on configs/paper.yaml against a hand computation, and its exact
path on curated data."""

from __future__ import annotations

import yaml

from pipeline.cli import main
from pipeline.config import JudgePrice, load_params, parse_params
from pipeline.workflow.cost import cost_table, stage_costs, template_tokens

from ..conftest import REPO
from ..conftest import KINDS

PAPER = [REPO / "params.yaml", REPO / "configs" / "paper.yaml"]

# configs/paper.yaml, by hand. writing is the judged task: n = 6650 with 5 % val and 5 % test, so
# train = round(6650 × 0.9) = 5985, val = test = round(332.5) = 332. verl trains full batches of 1536:
# 5985 // 1536 = 3 per epoch, 3 epochs: 13,824 prompts, × G = 16 = 221,184 responses, × 2 orders = 442,368.
# Evaluation: temperature 0, so one greedy answer per prompt and model.
TRAIN = 13_824 * 16 * 2
HAND = {
    "train_single": TRAIN,
    "train_curriculum": TRAIN,                 # writing's segment sees the same prompts
    "train_joint": TRAIN,                      # its max_steps (none) caps writing's prompts alike
    "validate_predictions": 4 * TRAIN + 4 * 332 * 2,  # 4 listed orders trained, each evaluated on test
    "ablate_temperature": TRAIN + 2 * 332 * 2,  # the writing run at T = 0.1; both runs' models on writing's test
    "sft_rft": 5985 * 128 * 2,                 # 128 responses per train prompt
    "evaluate_transfer": 5 * (332 + 332) * 2,  # θ0 and 4 single-task models, val and test
    "evaluate_final": 4 * 332 * 2,             # SFT, MM, JT, CL on test
    "merge_ties": 4 * 332 * 2,                 # a 9-step run, keep_snapshots 3: every 9 // 4 = 2 steps → 4 snapshots
    "benchmark_transfer": 5 * 20 * 2,          # MT-Bench's 20 writing and roleplay questions
    "evaluate_benchmarks": 4 * 20 * 2,
    "train_pairs": 0, "ablate_format": 0, "curate": 0, "base_model": 0,  # pairs off; letters are not judged
}


def test_the_paper_configs_judge_calls_and_gpu_hours_match_a_hand_computation(tmp_path):
    params = load_params(PAPER)
    costs = {c.stage: c for c in stage_costs(params, tmp_path / "no-curated-data")}
    assert {s: c.judge_calls for s, c in costs.items()} == HAND
    per_call = template_tokens() + 1024 + 2 * 3072  # question ≤ max_prompt_length, two answers ≤ max_new_tokens
    assert costs["train_single"].prompt_tokens == TRAIN * per_call
    assert costs["sft_rft"].completion_tokens == 5985 * 128 * 2 * 400  # reply_tokens
    # Requests: 4 single-task jobs × 4 nodes × 8 GPUs × 48 h; one RFT job on one 8-GPU node × 24 h.
    assert costs["train_single"].jobs == 4 and costs["train_single"].gpu_hours == 4 * 4 * 8 * 48
    assert costs["sft_rft"].gpu_hours == 8 * 24 and costs["curate"].gpu_hours == 0
    assert costs["train_curriculum"].gpu_hours == 4 * 8 * 96  # slurm.stages.train_curriculum.hours
    assert costs["train_pairs"].gpu_hours == 0  # pairs.enabled is false: a CPU job writing empty tables
    assert costs["train_single"].usd(None) is None
    price = JudgePrice(input=0.4, output=1.6)
    usd = costs["train_single"].usd(price)
    assert usd is not None and abs(usd - (TRAIN * per_call * 0.4 + TRAIN * 400 * 1.6) / 1e6) < 1e-6
    table = cost_table(list(costs.values()), price)
    total = table.splitlines()[-1].split()
    assert total[0] == "total" and total[3] == f"{sum(HAND.values()):,}"


def test_preflight_prints_the_cost_table_priced_from_params(tmp_path, capsys):
    price = tmp_path / "price.yaml"
    price.write_text(yaml.safe_dump({"rewards": {"judge": {"price_per_mtok": {"input": 0.4, "output": 1.6}}}}))
    main(["preflight", "--no-data", "--curated", str(tmp_path), "--params", *map(str, PAPER), str(price)])
    out = capsys.readouterr().out
    rows = {line.split()[0]: line.split() for line in out.splitlines() if line.split()}
    assert rows["train_single"][3] == f"{TRAIN:,}" and rows["total"][3] == f"{sum(HAND.values()):,}"
    assert rows["total"][-1].replace(",", "").replace(".", "").isdigit()  # a dollar figure


def test_no_llm_judge_no_judge_cost_and_exact_counts_from_curated_data(tmp_path):
    """The embedded default judges offline (rubric): no call. With an LLM judge and curated data the counts are
    the run's own plan: every train prompt of the judged task, × G × 2 orders."""
    from pipeline.data.curate import curate_task, write_task

    shipped = load_params(REPO / "params.yaml")
    assert all(c.judge_calls == 0 for c in stage_costs(shipped, tmp_path))
    raw = {"tasks": ["writing", "math"], "seeds": [0, 1],
           "data": {"tasks": {"writing": {"source": "synthetic_writing", "n": 40},
                              "math": {"source": "synthetic_math", "n": 40}}},
           "rewards": {"tasks": KINDS, "judge": {"backend": "llm"}},
           "train": {"grpo": {"group_size": 4, "batch_size": 4, "epochs": 2, "max_steps": None}}}
    params = parse_params(raw)
    for task in ("writing", "math"):
        splits, stats = curate_task(params, task)
        write_task(splits, stats, tmp_path / task)
    train = len(splits_of(tmp_path, "writing", "train"))
    costs = {c.stage: c for c in stage_costs(params, tmp_path)}
    assert costs["train_single"].judge_calls == 2 * (2 * train * 4 * 2)  # 2 seeds × (2 epochs × prompts × G × 2)
    val, test = (len(splits_of(tmp_path, "writing", s)) for s in ("val", "test"))
    assert costs["evaluate_transfer"].judge_calls == 2 * 3 * (val + test) * (1 + 4) * 2  # 2 seeds, θ0 + 2 tasks
    unknown = parse_params({**raw, "data": {"tasks": {**raw["data"]["tasks"],
                                                      "writing": {"source": "synthetic_writing", "n": None}}}})
    assert stage_costs(unknown, tmp_path / "none")[2].judge_calls is None  # before curation, no size: "?"
    # Another profile's curated data on disk (here: n 40 where the run asks for 4,000) is not this run's: the
    # counts are estimated from the run's own n, and preflight says why it did not read the folder.
    from pipeline.workflow.cost import task_sizes
    from pipeline.workflow.preflight import Context, snapshot_candidates

    bigger = parse_params({**raw, "data": {"tasks": {**raw["data"]["tasks"],
                                                     "writing": {"source": "synthetic_writing", "n": 4000}}}})
    assert task_sizes(params, "writing", tmp_path).exact and not task_sizes(bigger, "writing", tmp_path).exact
    assert task_sizes(bigger, "writing", tmp_path).train == 3200 and task_sizes(bigger, "math", tmp_path).exact
    notes = [text for _, text in snapshot_candidates.run(bigger, Context(tmp_path, load_data=True))]
    assert any(t.startswith("writing: ") and "curated with other data settings" in t for t in notes), notes
    assert not any(t.startswith("math: ") and "other data settings" in t for t in notes), notes


def splits_of(root, task, split):
    from pipeline.data.schema import read_split

    return read_split(root / task / f"{split}.parquet", task=task)

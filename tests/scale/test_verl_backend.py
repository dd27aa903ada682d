"""The verl backend checked on CPU with verl's own code: its packaged Hydra config composed with our
overrides, its config validation and dataclasses, its dataset and sampler on our parquet, its reward
loader on our reward function, its file logger read back. Skips when verl is not installed."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml

verl = pytest.importorskip("verl")

from hydra.errors import HydraException  # noqa: E402
from omegaconf import OmegaConf  # noqa: E402, F401

from pipeline.config import GRPOParams, JudgeParams, VerlParams, parse_params  # noqa: E402
from pipeline.data.curate import curate_task, write_task  # noqa: E402
from pipeline.data.verl_export import write_verl_parquet  # noqa: E402
from pipeline.errors import UserError  # noqa: E402
from pipeline.models.tiny import build_tiny_model  # noqa: E402
from pipeline.models.tokenizer import build_tokenizer  # noqa: E402
from pipeline.rl.plan import plan_training  # noqa: E402
from pipeline.scale.verl_config import (VERL_ENTRY, VerlRun, grpo_overrides, hydra_value,  # noqa: E402
                                        mini_batch_prompts, model_merger_command)
from pipeline.scale.verl_run import compose_config, plan_runs, read_verl_log, run_beta  # noqa: E402

from ..conftest import REPO  # noqa: E402

TASKS = ["math", "qa"]


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    """Curated synthetic math and qa, a params file, and a tiny θ0 saved in HF format."""
    root = tmp_path_factory.mktemp("verl")
    raw = {"tasks": TASKS, "data": {"tasks": {"math": {"source": "synthetic_math", "n": 60},
                                               "qa": {"source": "synthetic_qa", "n": 60, "facts": 10}}},
           "train": {"backend": "verl", "verl": {"n_gpus_per_node": 1},
                     "grpo": {"group_size": 4, "batch_size": 4, "mini_batch_size": 8, "max_new_tokens": 16,
                              "max_steps": 5, "checkpoint_every": 2},
                     "overrides": {"qa": {"lr": 3e-5, "max_steps": 3}}}}
    params = parse_params(raw)
    (root / "params.yaml").write_text(yaml.safe_dump(raw))
    records = []
    for task in TASKS:
        splits, stats = curate_task(params, task)
        write_task(splits, stats, root / "curated" / task)
        records += splits["train"]
    tokenizer = build_tokenizer([m["content"] for r in records for m in r["prompt"]] * 2, vocab_size=400)
    torch.manual_seed(0)
    build_tiny_model(len(tokenizer), 32, 1, 2, 1, 64, 256, 0, tokenizer).save_pretrained(root / "base")
    tokenizer.save_pretrained(root / "base")
    return root, params


def one_run(root: Path, grpo: GRPOParams | None = None, beta: float = 0.0, train_file: Path | None = None) -> VerlRun:
    return VerlRun(name="single-math", model=str(root / "base"), train_file=train_file or root / "train.parquet",
                   val_file=root / "val.parquet", steps=5, checkpoint_dir=root / "ckpt",
                   grpo=grpo or GRPOParams(group_size=4, batch_size=4, mini_batch_size=8, top_k=50, eps_high=0.28,
                                                     max_new_tokens=16),
                   beta=beta)


def compose(root: Path, run: VerlRun, judge: JudgeParams | None = None, extra: list[str] = ()):
    overrides = grpo_overrides(run, VerlParams(n_gpus_per_node=1, extra_overrides=list(extra)), judge,
                               root / "params.yaml", 7)
    return compose_config(overrides)


def test_overrides_compose_into_verls_config_with_the_paper_mapping(workspace):
    root, _ = workspace
    cfg = compose(root, one_run(root, beta=0.01))
    actor, rollout = cfg.actor_rollout_ref.actor, cfg.actor_rollout_ref.rollout
    assert cfg.algorithm.adv_estimator == "grpo" and cfg.algorithm.norm_adv_by_std_in_grpo is True  # Eqs. 2–3
    assert rollout.n == 4 and rollout.temperature == 1.0 and rollout.top_p == 1.0 and rollout.top_k == 50
    assert (actor.clip_ratio_low, actor.clip_ratio_high, actor.clip_ratio_c) == (0.2, 0.28, 1e9)  # Eq. 4, no dual
    assert actor.loss_agg_mode == "seq-mean-token-mean"  # Eq. 4's 1/|o| then the group mean
    assert actor.use_kl_loss is True and actor.kl_loss_coef == 0.01 and actor.kl_loss_type == "low_var_kl"  # Eq. 5
    assert actor.optim.lr == 1e-4 and actor.optim.lr_scheduler_type == "constant" and actor.grad_clip == 1.0
    assert cfg.data.train_batch_size == 4 and actor.ppo_mini_batch_size == 2  # 8 samples = 2 prompts × G
    assert cfg.data.max_response_length == 16 and cfg.data.max_prompt_length == 1024
    assert cfg.data.shuffle is False and cfg.trainer.total_epochs == 1 and cfg.trainer.total_training_steps == 5
    assert cfg.trainer.n_gpus_per_node == 1 and cfg.trainer.nnodes == 1
    assert cfg.trainer.default_local_dir == str(root / "ckpt") and cfg.trainer.resume_mode == "auto"
    assert cfg.reward.custom_reward_function.path == str(VERL_ENTRY)
    assert cfg.reward.custom_reward_function.reward_kwargs.params == str(root / "params.yaml")
    assert cfg.reward.reward_manager.name == "naive"
    no_kl = compose(root, one_run(root, beta=0.0))
    assert no_kl.actor_rollout_ref.actor.use_kl_loss is False
    top_k_off = compose(root, one_run(root, GRPOParams(group_size=4, batch_size=4, mini_batch_size=8)))
    assert top_k_off.actor_rollout_ref.rollout.top_k == -1


def test_verl_validates_the_config_and_builds_its_dataclasses(workspace):
    from verl.trainer.ppo.utils import need_critic, need_reference_policy
    from verl.utils.config import omega_conf_to_dataclass, validate_config
    from verl.workers.config import HFModelConfig

    root, _ = workspace
    cfg = compose(root, one_run(root, beta=0.01))
    assert need_reference_policy(cfg) and not need_critic(cfg)
    validate_config(cfg, use_reference_policy=True, use_critic=False)
    actor = omega_conf_to_dataclass(cfg.actor_rollout_ref.actor)
    assert type(actor).__name__ == "FSDPActorConfig" and actor.loss_agg_mode == "seq-mean-token-mean"
    assert omega_conf_to_dataclass(cfg.actor_rollout_ref.rollout).n == 4
    assert omega_conf_to_dataclass(cfg.algorithm).adv_estimator == "grpo"
    model = omega_conf_to_dataclass(cfg.actor_rollout_ref.model)  # loads our tiny θ0's config and tokenizer
    assert isinstance(model, HFModelConfig) and model.hf_config.model_type == "qwen2"


def test_an_unknown_key_fails_composition(workspace):
    root, _ = workspace
    with pytest.raises(HydraException, match="clip_ratio_lowe"):
        compose(root, one_run(root), extra=["actor_rollout_ref.actor.clip_ratio_lowe=0.1"])
    with pytest.raises(HydraException):
        compose(root, one_run(root), extra=["trainer.n_gpu_per_node=2"])


def test_api_judge_uses_the_rate_limited_reward_manager(workspace):
    from verl.experimental.reward_loop.reward_manager import get_reward_manager_cls

    root, _ = workspace
    cfg = compose(root, one_run(root), judge=JudgeParams(backend="llm", concurrency=12))
    assert cfg.reward.reward_manager.name == "rate_limited" and cfg.reward.max_concurrent == 12
    assert get_reward_manager_cls("rate_limited").__name__ == "RateLimitedRewardManager"


def test_paths_with_odd_characters_survive_hydra(workspace):
    root, _ = workspace
    odd = root / "a b,c=d'e" / "train.parquet"
    cfg = compose(root, one_run(root, train_file=odd))
    assert cfg.data.train_files == str(odd)
    assert hydra_value(True) == "true" and hydra_value(None) == "null" and hydra_value(["console", "file"]) == \
        "[console,file]" and hydra_value("null") == "'null'"


def test_mini_batch_must_be_whole_prompts():
    assert mini_batch_prompts(GRPOParams(group_size=16, batch_size=1536, mini_batch_size=4096)) == 256
    assert mini_batch_prompts(GRPOParams(group_size=8, batch_size=8, mini_batch_size=640)) == 8  # capped at the batch
    with pytest.raises(ValueError, match="multiple of group_size"):
        mini_batch_prompts(GRPOParams(group_size=16, mini_batch_size=100))


def test_runs_follow_the_local_schedule_and_verls_dataset_reads_them_in_order(workspace):
    """The rows of each verl run are the local backend's batches in order; verl's own dataset, sampler
    and tokenizer-based prompt filter read them back unchanged."""
    from transformers import AutoTokenizer
    from verl.trainer.ppo.utils import create_rl_dataset, create_rl_sampler

    root, params = workspace
    plan = plan_training(params, "curriculum", root / "curated", order=["qa", "math"])
    runs = plan_runs(plan, str(root / "base"), root / "work")
    assert [r.name for r, _ in runs] == ["curriculum-1-qa", "curriculum-2-math"]
    assert [r.steps for r, _ in runs] == [3, 5]  # qa's override max_steps 3; math 5
    assert runs[0][0].grpo.lr == 3e-5 and runs[1][0].grpo.lr == 1e-4  # each segment's own settings
    assert runs[0][0].model == str(root / "base") and runs[1][0].model == str(root / "work" / "1-qa" / "hf")
    expected = [plan.records[t][k]["id"] for b in plan.schedule for t, k in b.items]
    assert [row["id"] for _, rows in runs for row in rows] == expected

    run, rows = runs[1]
    write_verl_parquet(rows, run.train_file)
    cfg = compose(root, run)
    tokenizer = AutoTokenizer.from_pretrained(root / "base")
    dataset = create_rl_dataset([str(run.train_file)], cfg.data, tokenizer, None)
    sampler = create_rl_sampler(cfg.data, dataset)
    items = [dataset[i] for i in sampler]
    assert [json.loads(json.dumps(it["extra_info"]))["id"] for it in items] == [r["id"] for r in rows]
    assert items[0]["data_source"] == "math" and items[0]["raw_prompt"] == rows[0]["prompt"]
    assert items[0]["reward_model"]["ground_truth"] == rows[0]["reference"]


def test_verls_reward_loader_scores_rows_of_our_parquet(workspace):
    from verl.trainer.ppo.reward import get_custom_reward_fn
    import pyarrow.parquet as pq

    root, params = workspace
    plan = plan_training(params, "single", root / "curated", task="math")
    run, rows = plan_runs(plan, str(root / "base"), root / "work-single")[0]
    write_verl_parquet(rows, run.train_file)
    cfg = compose(root, run)
    fn = get_custom_reward_fn(cfg)
    for row in pq.read_table(run.train_file).to_pylist()[:4]:
        truth = row["reward_model"]["ground_truth"]
        right = fn(data_source=row["data_source"], solution_str=f"<think>x</think><answer>\\boxed{{{truth}}}</answer>",
                   ground_truth=truth, extra_info=row["extra_info"])
        wrong = fn(data_source=row["data_source"], solution_str="<think>x</think><answer>\\boxed{-98765}</answer>",
                   ground_truth=truth, extra_info=row["extra_info"])
        assert right["accuracy"] == 1.0 and right["score"] == pytest.approx(1.2)
        assert wrong["accuracy"] == 0.0 and wrong["score"] == pytest.approx(0.2)


def test_joint_run_needs_one_beta(workspace):
    root, params = workspace
    raw = params.model_dump(by_alias=True)
    raw["train"]["grpo"]["beta"] = {"math": 0.01, "qa": 0.0}
    plan = plan_training(parse_params(raw), "joint", root / "curated")
    with pytest.raises(UserError, match="one KL coefficient"):
        run_beta(plan, "joint")
    raw["train"]["grpo"]["beta"] = {"math": 0.01, "qa": 0.01}
    joint = plan_training(parse_params(raw), "joint", root / "curated")
    assert run_beta(joint, "joint") == 0.01
    (run, rows), = plan_runs(joint, str(root / "base"), root / "work-joint")
    assert run.name == "joint" and run.beta == 0.01 and {r["task"] for r in rows} == {"math", "qa"}


def test_verls_file_logger_is_read_back_into_our_log(tmp_path, monkeypatch):
    from verl.utils.tracking import FileLogger

    path = tmp_path / "verl_log.jsonl"
    monkeypatch.setenv("VERL_FILE_LOGGER_PATH", str(path))
    logger = FileLogger("omni-thinker", "single-math")
    logger.log({"critic/score/mean": 0.5, "timing_s/step": 2.0}, step=1)
    logger.log({"critic/score/mean": 0.75, "timing_s/step": 2.5}, step=2)
    logger.finish()
    rows = read_verl_log(path, "math", offset=10)
    assert [r["step"] for r in rows] == [10, 11]
    assert rows[1]["tasks"] == {"math": {"reward": 0.75}} and rows[1]["step_s"] == 2.5


def test_model_merger_command_is_verls_cli():
    from verl.model_merger.base_model_merger import parse_args

    cmd = model_merger_command("python", Path("/c/global_step_5/actor"), Path("/m/hf"))
    sys_argv = sys.argv
    try:
        sys.argv = ["model_merger", *cmd[3:]]
        args = parse_args()
    finally:
        sys.argv = sys_argv
    assert cmd[:4] == ["python", "-m", "verl.model_merger", "merge"]
    assert args.backend == "fsdp" and args.local_dir == "/c/global_step_5/actor" and args.target_dir == "/m/hf"


def test_train_dry_run_prints_every_segment_and_writes_nothing(workspace, tmp_path):
    root, _ = workspace
    out = tmp_path / "run"
    proc = subprocess.run([sys.executable, "-m", "pipeline", "train", "--mode", "curriculum", "--order", "math,qa",
                           "--base", str(root / "base"), "--curated", str(root / "curated"), "--out", str(out),
                           "--params", str(root / "params.yaml"), "--dry-run"],
                          capture_output=True, text=True, cwd=REPO, timeout=300)
    assert proc.returncode == 0, proc.stderr
    commands = [line for line in proc.stdout.splitlines() if "-m verl.trainer.main_ppo" in line]
    assert len(commands) == 2
    assert f"actor_rollout_ref.model.path={root / 'base'}" in commands[0]
    assert f"actor_rollout_ref.model.path={out / 'work' / 'verl' / '1-math' / 'hf'}" in commands[1]
    assert "# rendered config of curriculum-2-qa" in proc.stdout and "adv_estimator: grpo" in proc.stdout
    assert not out.exists()


def test_paper_config_composes_and_passes_verls_validation(workspace):
    """configs/paper.yaml's Table 5 settings on its 4 × 8 GPUs: accepted by verl as they are."""
    from verl.trainer.ppo.utils import need_critic, need_reference_policy
    from verl.utils.config import validate_config

    from pipeline.config import load_params

    root, _ = workspace
    p = load_params(REPO / "configs" / "paper.yaml")
    run = VerlRun(name="curriculum-1-math", model=p.models.base, train_file=root / "t.parquet",
                  val_file=root / "v.parquet", steps=24, checkpoint_dir=root / "c", grpo=p.train.for_single("math"),
                  beta=0.0)
    judge = p.rewards.judge if p.rewards.judge.backend == "llm" else None
    cfg = compose_config(grpo_overrides(run, p.train.verl, judge, REPO / "configs" / "paper.yaml", p.seed))
    validate_config(cfg, use_reference_policy=need_reference_policy(cfg), use_critic=need_critic(cfg))
    assert cfg.trainer.n_gpus_per_node * cfg.trainer.nnodes == 32
    assert cfg.data.train_batch_size == 1536 and cfg.actor_rollout_ref.actor.ppo_mini_batch_size == 256
    assert cfg.actor_rollout_ref.rollout.n == 16 and cfg.actor_rollout_ref.rollout.top_k == 50
    assert cfg.data.max_prompt_length == 1024 and cfg.data.max_response_length == 3072
    assert cfg.actor_rollout_ref.actor.use_kl_loss is False  # Table 5: β = 0
    assert cfg.reward.reward_manager.name == "rate_limited"  # the gpt-4.1-mini judge

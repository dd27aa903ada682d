"""The verl backend checked on CPU with verl's own code: its packaged Hydra config composed with our
overrides, its config validation and dataclasses, its dataset and sampler on our parquet, its reward
loader on our reward function, its file logger read back. Skips when verl is not installed."""

from __future__ import annotations

import json
import shutil
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
from pipeline.rewards.total import verl_reward_fields  # noqa: E402
from pipeline.errors import UserError  # noqa: E402
from pipeline.models.tiny import build_tiny_model  # noqa: E402
from pipeline.models.tokenizer import build_tokenizer  # noqa: E402
from pipeline.rl.plan import plan_training  # noqa: E402
from pipeline.scale.verl_config import (VERL_ENTRY, VerlRun, grpo_overrides, hydra_value,  # noqa: E402
                                        hf_checkpoint, save_frequency, worker_env_overrides)
from pipeline.scale.verl_run import (compose_config, final_checkpoint, keep_log_parts, plan_runs,  # noqa: E402
                                     read_verl_log, run_beta, verl_seconds)

from ..conftest import KINDS, REPO  # noqa: E402

TASKS = ["math", "qa"]


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    """Curated synthetic math and qa, a params file, and a tiny θ0 saved in HF format."""
    root = tmp_path_factory.mktemp("verl")
    raw = {"rewards": {"tasks": {t: KINDS[t] for t in TASKS}}, "tasks": TASKS, "data": {"tasks": {"math": {"source": "synthetic_math", "n": 60},
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
    assert cfg.algorithm.adv_estimator == "omni_grpo" and cfg.algorithm.norm_adv_by_std_in_grpo is True  # Eqs. 2–3
    assert cfg.ray_kwargs.ray_init.runtime_env.worker_process_setup_hook == "pipeline.scale.verl_advantage.register"
    assert rollout.n == 4 and rollout.temperature == 1.0 and rollout.top_p == 1.0 and rollout.top_k == 50
    assert (actor.clip_ratio_low, actor.clip_ratio_high, actor.clip_ratio_c) == (0.2, 0.28, 1e9)  # Eq. 4, no dual
    assert actor.loss_agg_mode == "seq-mean-token-mean"  # Eq. 4's 1/|o| then the group mean
    assert actor.use_kl_loss is True and actor.kl_loss_coef == 0.01 and actor.kl_loss_type == "low_var_kl"  # Eq. 5
    assert actor.optim.lr == 1e-4 and actor.optim.lr_scheduler_type == "constant" and actor.optim.clip_grad == 1.0
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
    assert omega_conf_to_dataclass(cfg.algorithm).adv_estimator == "omni_grpo"
    model = omega_conf_to_dataclass(cfg.actor_rollout_ref.model)  # loads our tiny θ0's config and tokenizer
    assert isinstance(model, HFModelConfig) and model.hf_config.model_type == "qwen2"


def test_an_unknown_key_fails_composition(workspace):
    root, _ = workspace
    with pytest.raises(HydraException, match="clip_ratio_lowe"):
        compose(root, one_run(root), extra=["actor_rollout_ref.actor.clip_ratio_lowe=0.1"])
    with pytest.raises(HydraException):
        compose(root, one_run(root), extra=["trainer.n_gpu_per_node=2"])


def test_api_judge_scores_with_verls_default_manager_and_its_own_limit(workspace):
    """A judged run keeps verl's default manager, which scores every sample at once: math, code and QA never wait
    behind the judge's rate (the rate-limited manager caps every reward, judged or not, per worker). The judge's
    own limit, rewards.judge.concurrency split between the reward workers, bounds its requests; a concurrency
    below the number of workers is refused."""
    from verl.experimental.reward_loop.reward_manager import get_reward_manager_cls

    root, _ = workspace
    judge = JudgeParams(backend="llm", concurrency=64)
    cfg = compose_config(grpo_overrides(one_run(root), VerlParams(n_gpus_per_node=1), judge, root / "params.yaml", 7))
    assert cfg.reward.reward_manager.name == "naive" and "max_concurrent" not in cfg.reward
    assert get_reward_manager_cls("naive").__name__ == "NaiveRewardManager"
    assert cfg.reward.num_workers == 8 and cfg.reward.custom_reward_function.reward_kwargs.judge_processes == 8
    with pytest.raises(UserError, match="reward_workers"):
        grpo_overrides(one_run(root), VerlParams(reward_workers=8), JudgeParams(backend="llm", concurrency=4),
                       root / "params.yaml", 7)


def test_paths_with_odd_characters_survive_hydra(workspace):
    root, _ = workspace
    odd = root / "a b,c=d'e" / "train.parquet"
    cfg = compose(root, one_run(root, train_file=odd))
    assert cfg.data.train_files == str(odd)
    assert hydra_value(True) == "true" and hydra_value(None) == "null" and hydra_value(["console", "file"]) == \
        "[console,file]" and hydra_value("null") == "'null'"


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
    assert runs[0][0].model == str(root / "base")  # segment 2 starts from segment 1's last step, saved as fp32 HF
    assert runs[1][0].model == str(root / "work" / "1-qa" / "checkpoints" / "global_step_3" / "actor" / "huggingface")
    expected = [plan.records[t][k]["id"] for b in plan.schedule for t, k in b.items]
    assert [row["id"] for _, rows in runs for row in rows] == expected

    run, rows = runs[1]
    write_verl_parquet(rows, run.train_file, {t: verl_reward_fields(params.rewards, t) for t in TASKS})
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
    write_verl_parquet(rows, run.train_file, {t: verl_reward_fields(params.rewards, t) for t in TASKS})
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
    logger.log({"critic/score/mean": 0.5, "timing_s/step": 2.0, "actor/kl": 0.1}, step=1)
    logger.log({"critic/score/mean": 0.75, "timing_s/step": 2.5, "actor/kl": 0.2}, step=2)
    logger.finish()
    rows = read_verl_log(path, "math", offset=10)
    assert [r["step"] for r in rows] == [10, 11]
    assert rows[1]["tasks"] == {"math": {"reward": 0.75}} and rows[1]["verl"] == {"critic/score/mean": 0.75,
                                                                                "actor/kl": 0.2}
    assert verl_seconds(path) == 4.5  # timings go to timings.json, not to the hashed log


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
    hf = out / "work" / "verl" / "1-math" / "checkpoints" / "global_step_5" / "actor" / "huggingface"
    assert f"actor_rollout_ref.model.path={hf}" in commands[1]
    assert "# rendered config of curriculum-2-qa" in proc.stdout and "adv_estimator: omni_grpo" in proc.stdout
    assert not out.exists()


def test_paper_config_composes_and_passes_verls_validation(workspace):
    """configs/paper.yaml's Table 5 settings on its 4 × 8 GPUs: accepted by verl as they are."""
    from verl.trainer.ppo.utils import need_critic, need_reference_policy
    from verl.utils.config import validate_config

    from pipeline.config import load_params

    root, _ = workspace
    p = load_params([REPO / "params.yaml", REPO / "configs" / "paper.yaml"])
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
    assert cfg.reward.reward_manager.name == "naive"  # the gpt-4.1-mini judge limits its own requests


def test_every_rendered_override_is_read_by_verls_code(workspace):
    """Accepted by the schema is not enough: each rendered key's name must be read somewhere in verl 0.9.1's
    code outside its config definitions (attribute access or a string key), or be one of our reward function's
    keyword arguments. This caught ``actor.grad_clip``, which only the config dataclasses mention."""
    import inspect
    import re

    from pipeline.rewards import verl_entry
    from pipeline.scale import verl_checkpoints
    from pipeline.scale.verl_checkpoints import KEEP_KEY

    root, _ = workspace
    package = Path(verl.__file__).resolve().parent
    code = "\n".join(p.read_text(encoding="utf-8") for p in package.rglob("*.py")
                     if not p.relative_to(package).as_posix().startswith(("workers/config/", "trainer/config/")))
    ours = inspect.getsource(verl_entry)
    callback = inspect.getsource(verl_checkpoints)  # trainer.checkpoint_callback_class: our class reads its key
    run = VerlRun(**{**one_run(root, beta=0.01).__dict__, "judge_log": root / "judge.jsonl"})
    overrides = grpo_overrides(run, VerlParams(n_gpus_per_node=1), JudgeParams(backend="llm", concurrency=64),
                               root / "params.yaml", 7)
    unread = []
    for override in overrides:
        key = override.split("=", 1)[0].lstrip("+")
        leaf = key.rsplit(".", 1)[-1]
        if key.startswith("ray_kwargs.ray_init.runtime_env."):  # handed to ray.init whole: Ray reads it
            from ray.runtime_env import RuntimeEnv

            if key.split(".")[3] not in RuntimeEnv.known_fields:
                unread.append(key)
            continue
        where = ours if ".reward_kwargs." in key else callback if leaf == KEEP_KEY else code
        if not re.search(rf"\.{leaf}\b|[\"']{leaf}[\"']", where):
            unread.append(key)
    assert not unread
    assert not re.search(r"\.grad_clip\b|[\"']grad_clip[\"']", code)  # the key we used to render: unread


def test_grad_clip_is_the_value_verls_engine_reads(workspace):
    """0.9.1's FSDP engine clips with ``optimizer_config.clip_grad`` (actor.optim); follow the parameter there."""
    from verl.utils.config import omega_conf_to_dataclass

    root, _ = workspace
    cfg = compose(root, one_run(root, GRPOParams(group_size=4, batch_size=4, mini_batch_size=8, grad_clip=0.37)))
    actor = omega_conf_to_dataclass(cfg.actor_rollout_ref.actor)
    assert actor.optim.clip_grad == 0.37 and cfg.actor_rollout_ref.actor.optim.clip_grad == 0.37


def test_segments_chain_through_the_fp32_hf_checkpoint(workspace):
    """Each checkpoint also holds the actor's full fp32 state dict as an HF folder (``hf_model``), the next
    segment's model path; a resume loads only what it needs (no ``hf_model`` in ``load_contents``)."""
    from verl.utils.config import omega_conf_to_dataclass

    root, params = workspace
    cfg = compose(root, one_run(root))
    checkpoint = omega_conf_to_dataclass(cfg.actor_rollout_ref.actor).checkpoint
    assert "hf_model" in checkpoint.save_contents and "hf_model" not in checkpoint.load_contents
    plan = plan_training(params, "curriculum", root / "curated", order=["math", "qa"])
    (first, _), (second, _) = plan_runs(plan, str(root / "base"), root / "work-chain")
    assert second.model == str(hf_checkpoint(first.checkpoint_dir, first.steps))


def test_kl_reference_must_be_theta0(workspace):
    """verl's reference model is the run's start model: fine for single, joint and the first segment (θ0), refused
    for later segments with β > 0 (Eq. 5 needs KL to θ0)."""
    root, params = workspace
    raw = params.model_dump(by_alias=True)
    raw["train"]["grpo"]["beta"] = {"math": 0.01}
    beta = parse_params(raw)
    plan_runs(plan_training(beta, "curriculum", root / "curated", order=["math", "qa"]), str(root / "base"),
              root / "work-kl-ok")  # math first: its reference is θ0
    plan_runs(plan_training(beta, "single", root / "curated", task="math"), str(root / "base"), root / "work-kl-s")
    with pytest.raises(UserError, match=r"math has β = 0.01, but verl's KL reference is the run's start model"):
        plan_runs(plan_training(beta, "curriculum", root / "curated", order=["qa", "math"]), str(root / "base"),
                  root / "work-kl")


def test_a_run_without_its_final_checkpoint_is_an_error(tmp_path):
    run = VerlRun(name="single-math", model="m", train_file=tmp_path / "t", val_file=tmp_path / "v", steps=9,
                  checkpoint_dir=tmp_path / "ckpt", grpo=GRPOParams(), beta=0.0)
    with pytest.raises(UserError, match=r"verl run single-math ended without a checkpoint of its final step 9 "
                                        r"\(last saved: None"):
        final_checkpoint(run)
    (tmp_path / "ckpt").mkdir()
    (tmp_path / "ckpt" / "latest_checkpointed_iteration.txt").write_text("8")
    hf_checkpoint(tmp_path / "ckpt", 8).mkdir(parents=True)
    (hf_checkpoint(tmp_path / "ckpt", 8) / "config.json").write_text("{}")
    with pytest.raises(UserError, match="last saved: 8"):
        final_checkpoint(run)
    (tmp_path / "ckpt" / "latest_checkpointed_iteration.txt").write_text("9")
    hf_checkpoint(tmp_path / "ckpt", 9).mkdir(parents=True)
    (hf_checkpoint(tmp_path / "ckpt", 9) / "config.json").write_text("{}")
    assert final_checkpoint(run) == hf_checkpoint(tmp_path / "ckpt", 9)


def test_a_resumed_runs_log_keeps_the_earlier_steps(tmp_path, monkeypatch):
    """verl's FileLogger opens its file with "wb": the first attempt's steps are moved aside and read back; a step
    both attempts logged (redone after the last checkpoint) is the second attempt's."""
    from verl.utils.tracking import FileLogger

    path = tmp_path / "verl_log.jsonl"
    monkeypatch.setenv("VERL_FILE_LOGGER_PATH", str(path))
    for attempt, steps in ((1, [1, 2, 3]), (2, [3, 4])):
        keep_log_parts(path)
        logger = FileLogger("omni-thinker", "single-math")
        for step in steps:
            logger.log({"critic/score/mean": attempt + step / 10}, step=step)
        logger.finish()
    rows = read_verl_log(path, "math", offset=0)
    assert [r["step"] for r in rows] == [0, 1, 2, 3]
    assert [r["tasks"]["math"]["reward"] for r in rows] == [1.1, 1.2, 2.3, 2.4]


@pytest.mark.slow  # a real Ray cluster
def test_runtime_env_reaches_the_workers_of_a_cluster_started_before(workspace, tmp_path):
    """A Ray cluster started before the stage (as in a Slurm job) knows nothing of the driver's environment. verl's
    own ``run_ppo`` connects to it with the runtime env of our composed config, and its task runner (here a probe
    in place of verl's) sees the params path and the file-log path, and finds the ``omni_grpo`` estimator in
    verl's registry (Ray's worker setup hook registered it in that process: where verl computes advantages)."""
    import os
    import shutil

    root, _ = workspace
    ray_bin = Path(sys.executable).parent / "ray"
    temp = Path("/tmp") / f"ray-omni-{os.getpid()}"
    base_env = {k: v for k, v in os.environ.items() if not k.startswith(("OMNI_THINKER", "VERL_FILE_LOGGER"))}
    start = subprocess.run([str(ray_bin), "start", "--head", "--num-cpus", "1", "--port", "0", "--temp-dir",
                            str(temp), "--include-dashboard", "false", "--disable-usage-stats"],
                           env=base_env, capture_output=True, text=True, timeout=180)
    assert start.returncode == 0, start.stderr[-2000:]
    overrides = grpo_overrides(one_run(root), VerlParams(n_gpus_per_node=1), None, root / "params.yaml", 7) + \
        worker_env_overrides({"OMNI_THINKER_PARAMS": "/p/params.yaml", "VERL_FILE_LOGGER_PATH": "/w/a b.jsonl"})
    seen = tmp_path / "seen.json"
    driver = ("import json, os, sys, ray\n"
              "from verl.trainer.main_ppo import run_ppo\n"
              "from pipeline.scale.verl_run import compose_config\n"
              "@ray.remote\n"
              "class Probe:\n"
              "    def run(self, config):\n"
              "        from verl.trainer.ppo.core_algos import get_adv_estimator_fn\n"
              "        keys = ('OMNI_THINKER_PARAMS', 'VERL_FILE_LOGGER_PATH', 'TOKENIZERS_PARALLELISM')\n"
              "        fn = get_adv_estimator_fn(config.algorithm.adv_estimator)\n"
              "        seen = [os.environ.get(k) for k in keys] + [f'{fn.__module__}.{fn.__name__}']\n"
              f"        open({str(seen)!r}, 'w').write(json.dumps(seen))\n"
              "run_ppo(compose_config(json.loads(sys.argv[1])), Probe)\n")
    try:
        proc = subprocess.run([sys.executable, "-c", driver, json.dumps(overrides)],
                              env={**base_env, "RAY_ADDRESS": "auto"}, capture_output=True, text=True, timeout=300,
                              cwd=REPO)
        assert proc.returncode == 0, proc.stderr[-3000:]
        # ours and verl's own variables, and our estimator, registered in the task runner by the setup hook
        assert json.loads(seen.read_text()) == ["/p/params.yaml", "/w/a b.jsonl", "true",
                                                "pipeline.scale.verl_advantage.omni_grpo_advantage"]
    finally:
        subprocess.run([str(ray_bin), "stop", "--force"], capture_output=True, timeout=120)
        shutil.rmtree(temp, ignore_errors=True)


def test_the_judges_key_reaches_reward_workers_in_a_private_file(tmp_path, monkeypatch):
    import os
    import stat

    from pipeline.rewards import verl_entry
    from pipeline.scale.verl_run import write_judge_env

    monkeypatch.delenv("MY_JUDGE_KEY", raising=False)
    assert write_judge_env(tmp_path / "judge_env.json", ["MY_JUDGE_KEY"]) is None
    monkeypatch.setenv("MY_JUDGE_KEY", "sk-test")
    path = write_judge_env(tmp_path / "judge_env.json", ["MY_JUDGE_KEY", "NOT_SET_HERE"])
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and json.loads(path.read_text()) == {"MY_JUDGE_KEY": "sk-test"}
    monkeypatch.delenv("MY_JUDGE_KEY")
    verl_entry._model(str(REPO / "params.yaml"), 99, str(path))  # what a reward worker does on its first call
    assert os.environ.pop("MY_JUDGE_KEY") == "sk-test"


def _judged_params(root: Path, server, tmp_path: Path) -> Path:
    raw = yaml.safe_load((root / "params.yaml").read_text())
    raw["rewards"] = {"judge": {"backend": "llm", "model": "judge-test", "base_url": server.base_url,
                                "api_key_env": "NO_KEY_HERE", "cache_dir": str(tmp_path / "cache"),
                                "max_retries": 1, "backoff_s": 0.01, "timeout_s": 2, "deadline_s": 5},
                      "tasks": {"math": {"kind": "math"}, "qa": {"kind": "judge"}}}
    path = tmp_path / "judged.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def test_a_wrong_key_stops_a_judged_verl_stage_before_ray_in_one_line(workspace, tmp_path):
    """The stage sends the judge one request with the run's key, endpoint and model before it starts Ray or
    loads a model: a 401 is one line naming endpoint and model, and nothing of the run is written."""
    from ..openai_server import OpenAIServer

    root, _ = workspace
    out = tmp_path / "run"
    calls = []
    with OpenAIServer(lambda body, n: (calls.append(n), (401, {"error": {"message": "bad key", "type": "auth"}}))[1]) \
            as server:
        params = _judged_params(root, server, tmp_path)
        proc = subprocess.run([sys.executable, "-m", "pipeline", "train", "--mode", "single", "--task", "qa",
                               "--base", str(root / "base"), "--curated", str(root / "curated"), "--out", str(out),
                               "--params", str(params)], capture_output=True, text=True, cwd=REPO, timeout=300)
    assert proc.returncode == 2, proc.stderr[-2000:]
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "HTTP 401" in errors[0] and server.base_url in errors[0] and "judge-test" in errors[0]
    assert "Traceback" not in proc.stderr and "verl run" not in proc.stdout
    assert not (out / "work" / "verl" / "1-qa" / "verl_log.jsonl").exists()
    assert len(calls) == 1  # a 401 is not retried


def test_the_judge_probe_passes_an_answering_endpoint_and_names_a_silent_one(tmp_path):
    import time

    from pipeline.config import JudgeParams
    from pipeline.rewards.judge import PROBE, JudgeUnavailable
    from pipeline.scale.verl_run import probe_judge

    from ..openai_server import OpenAIServer, completion

    seen = []
    with OpenAIServer(lambda body, n: (seen.append(body), (200, completion("ready")))[1]) as server:
        probe_judge(JudgeParams(backend="llm", model="judge-test", base_url=server.base_url,
                                cache_dir=str(tmp_path / "c")))
    assert len(seen) == 1 and seen[0]["model"] == "judge-test" and seen[0]["messages"][-1]["content"] == PROBE
    with OpenAIServer(lambda body, n: (time.sleep(5), (200, completion("late")))[1]) as server:
        with pytest.raises(JudgeUnavailable, match=r"did not answer within 1 s") as info:
            probe_judge(JudgeParams(backend="llm", model="judge-test", base_url=server.base_url, timeout_s=3,
                                    deadline_s=1, max_retries=0, cache_dir=str(tmp_path / "c")))
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("impl", ["flash_attention_2", "sdpa"])
def test_the_attention_implementation_reaches_what_verls_model_config_reads(workspace, impl):
    """verl 0.9.1's HFModelConfig reads model.override_config.attn_implementation (flash_attention_2 when
    absent) and loads the HF config with it: the GRPO actor's and the SFT trainer's, both rendered from
    train.verl.attn_implementation."""
    from verl.utils.config import omega_conf_to_dataclass

    from pipeline.config import RFTParams
    from pipeline.scale.verl_sft import compose_sft_config, sft_overrides

    root, _ = workspace
    verl_params = VerlParams(n_gpus_per_node=1, attn_implementation=impl)
    cfg = compose_config(grpo_overrides(one_run(root), verl_params, None, root / "params.yaml", 7))
    model = omega_conf_to_dataclass(cfg.actor_rollout_ref.model)
    assert model.hf_config._attn_implementation == impl
    sft = compose_sft_config(sft_overrides(RFTParams(), verl_params, str(root / "base"), root / "t.parquet",
                                           root / "c", 0))
    assert sft.model.override_config.attn_implementation == impl


def test_the_save_interval_is_checkpoint_every_landing_on_every_snapshot(workspace):
    """trainer.save_freq = gcd(checkpoint_every or the run's length, snapshot steps): hand-computed cases."""
    root, _ = workspace

    def freq(every: int, snapshots: tuple[int, ...] = (), steps: int = 23) -> int:
        grpo = GRPOParams(group_size=4, batch_size=4, mini_batch_size=8, checkpoint_every=every)
        return save_frequency(VerlRun(**{**one_run(root, grpo).__dict__, "steps": steps, "snapshots": snapshots}))

    assert freq(10, (20, 40), steps=50) == 10      # snapshots on the interval
    assert freq(25, (5, 10, 15, 20)) == 5          # keep_snapshots 3 of 23 steps: every 5 (finer than 25)
    assert freq(7, (20,)) == 1                     # co-prime: every step
    assert freq(1, (5, 10, 15, 20)) == 1           # configs/paper.yaml: every step
    assert freq(0) == 23                           # 0: the last step only
    assert freq(0, (6, 12)) == 6
    grpo = GRPOParams(group_size=4, batch_size=4, mini_batch_size=8, checkpoint_every=4)
    cfg = compose(root, VerlRun(**{**one_run(root, grpo).__dict__, "snapshots": (2, 4)}))
    assert cfg.trainer.save_freq == 2 and list(cfg.trainer.omni_keep_hf_steps) == [2, 4]


def test_only_single_task_runs_keep_snapshots(workspace):
    root, params = workspace
    params = params.model_copy(update={"train": params.train.model_copy(update={
        "grpo": params.train.grpo.model_copy(update={"keep_every": 2})})})
    single = plan_runs(plan_training(params, "single", root / "curated", task="math"), str(root / "base"),
                       root / "work-snap")
    assert [r.snapshots for r, _ in single] == [(2, 4)]  # 5 steps: 2 and 4, not the final one
    curriculum = plan_runs(plan_training(params, "curriculum", root / "curated", order=["math", "qa"]),
                           str(root / "base"), root / "work-snap-cl")
    assert [r.snapshots for r, _ in curriculum] == [(), ()]


def _checkpoint_tree(root: Path, steps: list[int]) -> None:
    """The files verl's FSDP checkpoint manager and trainer write per save (names as in 0.9.1)."""
    for step in steps:
        folder = root / f"global_step_{step}"
        for rel in ("actor/model_world_size_1_rank_0.pt", "actor/optim_world_size_1_rank_0.pt",
                    "actor/extra_state_world_size_1_rank_0.pt", "actor/fsdp_config.json",
                    "actor/huggingface/config.json", "actor/huggingface/model.safetensors", "data.pt"):
            (folder / rel).parent.mkdir(parents=True, exist_ok=True)
            (folder / rel).write_text(rel)
    (root / "latest_checkpointed_iteration.txt").write_text(str(steps[-1]))


def test_verl_builds_our_checkpoint_callback_and_it_keeps_the_newest_and_the_snapshots(workspace, tmp_path):
    """The class verl 0.9.1's V1 trainer instantiates from the rendered config (``build_checkpoint_callback``),
    called as the trainer calls it after a save: older checkpoints go, snapshot steps keep their HF folder."""
    import inspect

    from verl.trainer.ppo.checkpoint_callback import build_checkpoint_callback
    from verl.trainer.ppo.v1 import trainer_base

    from pipeline.scale.verl_checkpoints import PruneCheckpoints

    root, _ = workspace
    code = inspect.getsource(trainer_base)  # the V1 trainer (trainer.use_v1, 0.9.1's default) saves and calls it
    assert "self.global_steps % self.config.trainer.save_freq == 0" in code and "checkpoint_callback.on_save(" in code
    run = VerlRun(**{**one_run(root).__dict__, "checkpoint_dir": tmp_path / "ckpt", "snapshots": (2, 4)})
    cfg = compose(root, run)
    assert cfg.trainer.use_v1 is True
    callback = build_checkpoint_callback(cfg)
    assert isinstance(callback, PruneCheckpoints)

    _checkpoint_tree(tmp_path / "ckpt", [1, 2, 3])
    callback.on_save(trainer=None, global_step=3, checkpoint_dir=str(tmp_path / "ckpt" / "global_step_3"))
    left = sorted(str(p.relative_to(tmp_path / "ckpt")) for p in (tmp_path / "ckpt").rglob("*") if p.is_file())
    assert [p for p in left if not p.startswith("global_step_3/")] == [
        "global_step_2/actor/huggingface/config.json", "global_step_2/actor/huggingface/model.safetensors",
        "latest_checkpointed_iteration.txt"]
    assert len([p for p in left if p.startswith("global_step_3/")]) == 7  # the newest stays whole (resume)

    _checkpoint_tree(tmp_path / "ckpt", [4, 5])
    callback.on_save(trainer=None, global_step=5, checkpoint_dir=str(tmp_path / "ckpt" / "global_step_5"),
                     async_save=True)  # not yet on disk: nothing goes
    assert (tmp_path / "ckpt" / "global_step_3" / "data.pt").exists()
    callback.on_save(trainer=None, global_step=5, checkpoint_dir=str(tmp_path / "ckpt" / "global_step_5"))
    assert sorted(p.name for p in (tmp_path / "ckpt").iterdir()) == [
        "global_step_2", "global_step_4", "global_step_5", "latest_checkpointed_iteration.txt"]
    assert sorted(p.name for p in (tmp_path / "ckpt" / "global_step_4").rglob("*")) == [
        "actor", "config.json", "huggingface", "model.safetensors"]


def test_a_verl_stage_retried_after_it_finished_writes_its_outputs_without_training(workspace, tmp_path, monkeypatch):
    """Slurm marks a job that ends after its time limit TIMEOUT even when it succeeded; Snakemake then removes its
    outputs and runs it again. The verl backend keeps each finished run in OUT/work: done.json, its log and the
    HF folders of its steps, hard-linked to the outputs, without verl's sharded weights and optimizer states. So
    the retry trains nothing (no verl launch) and writes the same outputs. verl's training needs a GPU: its launch
    (`_run`) is stood in for by writing what a verl run leaves behind (a checkpoint per step with its HF folder,
    `latest_checkpointed_iteration.txt`, the file log); everything else is the stage's own code."""
    import pipeline.scale.verl_run as verl_run

    root, params = workspace
    launches = []

    def verl_stand_in(cmd: list[str], env: dict[str, str], what: str) -> None:
        args = dict(a.split("=", 1) for a in cmd if "=" in a)
        ckpt, steps = Path(args["trainer.default_local_dir"]), int(args["trainer.total_training_steps"])
        for step in range(1, steps + 1):
            shutil.copytree(root / "base", ckpt / f"global_step_{step}" / "actor" / "huggingface")
            (ckpt / f"global_step_{step}" / "actor" / "optim_world_size_1_rank_0.pt").write_bytes(b"\0" * 1024)
            (ckpt / f"global_step_{step}" / "data.pt").write_bytes(b"\0")
        (ckpt / "latest_checkpointed_iteration.txt").write_text(str(steps))
        Path(env["VERL_FILE_LOGGER_PATH"]).write_text("".join(
            json.dumps({"step": s, "data": {"critic/score/mean": s / 10, "timing_s/step": 1.0}}) + "\n"
            for s in range(1, steps + 1)))
        launches.append(what)

    monkeypatch.setattr(verl_run, "_run", verl_stand_in)
    plan = plan_training(params, "single", root / "curated", task="math")
    out = tmp_path / "math"
    verl_run.train_verl(params, plan, root / "base", out)
    assert launches == ["verl run single-math"]
    outputs = {p.relative_to(out): p.read_bytes() for p in out.rglob("*")
               if p.is_file() and p.relative_to(out).parts[0] != "work" and p.name != "timings.json"}
    assert Path("model/config.json") in outputs and Path("metrics.json") in outputs
    run = out / "work" / "verl" / "1-math"
    assert (run / "done.json").exists() and not list(run.rglob("optim_*.pt")) and not list(run.rglob("data.pt"))
    final = run / "checkpoints" / "global_step_5" / "actor" / "huggingface"
    assert (out / "model" / "model.safetensors").stat().st_ino == (final / "model.safetensors").stat().st_ino

    for declared in ("model", "checkpoints"):  # what Snakemake removes of a job it counts as failed
        shutil.rmtree(out / declared)
    for declared in ("log.jsonl", "metrics.json"):
        (out / declared).unlink()
    verl_run.train_verl(params, plan, root / "base", out)
    assert launches == ["verl run single-math"]  # not launched again
    again = {p.relative_to(out): p.read_bytes() for p in out.rglob("*")
             if p.is_file() and p.relative_to(out).parts[0] != "work" and p.name != "timings.json"}
    assert sorted(again) == sorted(outputs) and all(again[k] == outputs[k] for k in outputs)

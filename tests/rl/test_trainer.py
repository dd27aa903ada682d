"""The local trainer on a tiny model: it runs, logs, saves segments, and resumes exactly."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from pipeline.config import GRPOParams, RewardParams, parse_params
from pipeline.data.curate import curate_task
from pipeline.models.tiny import build_tiny_model
from pipeline.models.tokenizer import build_tokenizer
from pipeline.rewards.total import RewardModel
from pipeline.rl.schedules import curriculum_schedule
from pipeline.rl.trainer import GRPOTrainer
from ..conftest import KINDS


@pytest.fixture(scope="module")
def setup():
    params = parse_params({"rewards": {"tasks": KINDS}, "tasks": ["math", "qa"], "data": {"tasks": {
        "math": {"source": "synthetic_math", "n": 40}, "qa": {"source": "synthetic_qa", "n": 40, "facts": 10}}}})
    records = {t: curate_task(params, t)[0]["train"] for t in ("math", "qa")}
    corpus = [m["content"] for rs in records.values() for r in rs for m in r["prompt"]] * 2
    tokenizer = build_tokenizer(corpus, vocab_size=400)
    return records, tokenizer


def make_model(tokenizer):
    return build_tiny_model(len(tokenizer), 32, 1, 2, 1, 64, 256, 0, tokenizer)


GRPO = GRPOParams(group_size=2, batch_size=2, max_new_tokens=6, lr=1e-3, checkpoint_every=2, mini_batch_size=2)


def run(setup, out: Path, stop_after: int | None = None, params: GRPOParams = GRPO,
        segment_params: dict[str, GRPOParams] | None = None):
    records, tokenizer = setup
    torch.manual_seed(0)
    model = make_model(tokenizer)
    schedule = curriculum_schedule({t: 4 for t in records}, ["qa", "math"], 2, 1, np.random.default_rng(0))
    trainer = (Killed if stop_after else GRPOTrainer)(model, tokenizer, records, schedule, params,
                                                      RewardModel(RewardParams.model_validate({"tasks": KINDS})), out, seed=0,
                                                      segment_params=segment_params, keep_segments=True)
    trainer.stop_after = stop_after
    try:
        trainer.train()
    except Killed.Kill:
        pass
    return model, trainer


class Killed(GRPOTrainer):
    """A run killed when it reaches step ``stop_after`` (the same command, interrupted)."""

    class Kill(Exception):
        pass

    def step(self, batch):
        if self.state.step == self.stop_after:
            raise Killed.Kill
        return super().step(batch)


def test_curriculum_logs_and_segments(setup, tmp_path):
    model, trainer = run(setup, tmp_path / "run")
    logs = [json.loads(line) for line in (tmp_path / "run" / "log.jsonl").read_text().splitlines()]
    assert [m["segment"] for m in logs] == ["qa", "qa", "math", "math"]
    for m in logs:
        assert {"clip_fraction", "kl", "zero_std_groups", "excluded", "lr"} <= set(m)
        assert not {"tokens_per_s", "generate_s", "step_s"} & set(m)  # timings: timings.jsonl, not the hashed log
        task = m["segment"]
        assert {"reward", "reward_accuracy", "reward_format", "entropy", "response_length"} <= set(m["tasks"][task])
    timed = [json.loads(line) for line in (tmp_path / "run" / "timings.jsonl").read_text().splitlines()]
    assert [t["step"] for t in timed] == [0, 1, 2, 3] and all(t["step_s"] > 0 for t in timed)
    assert sorted(p.name for p in (tmp_path / "run" / "segments").iterdir()) == ["1-qa", "2-math"]


def test_resume_reaches_the_same_weights(setup, tmp_path):
    full, _ = run(setup, tmp_path / "full")
    # Killed after 2 steps (a checkpoint is written every 2), then restarted with the same command.
    run(setup, tmp_path / "resumed", stop_after=2)
    resumed, trainer = run(setup, tmp_path / "resumed")
    assert trainer.state.step == 4
    for (name, a), (_, b) in zip(full.state_dict().items(), resumed.state_dict().items()):
        torch.testing.assert_close(a, b, msg=name)
    lines_full = (tmp_path / "full" / "log.jsonl").read_text().splitlines()
    lines_resumed = (tmp_path / "resumed" / "log.jsonl").read_text().splitlines()
    assert len(lines_resumed) == 4
    strip = lambda line: {k: v for k, v in json.loads(line).items() if k not in ("tokens_per_s", "generate_s", "step_s")}  # noqa: E731
    assert [strip(x) for x in lines_full] == [strip(x) for x in lines_resumed]


def test_a_checkpoint_of_a_different_run_is_not_resumed(setup, tmp_path, capsys):
    other = GRPO.model_copy(update={"lr": 5e-4})
    expected, _ = run(setup, tmp_path / "fresh", params=other)
    run(setup, tmp_path / "reused", stop_after=2)  # leaves a checkpoint of a run with lr 1e-3
    (tmp_path / "reused" / "segments" / "3-writing").mkdir()  # and a segment of yet another run
    model, trainer = run(setup, tmp_path / "reused", params=other)
    assert "checkpoint of a different run" in capsys.readouterr().err
    assert trainer.state.step == 4
    for (name, a), (_, b) in zip(expected.state_dict().items(), model.state_dict().items()):
        torch.testing.assert_close(a, b, msg=name)
    logs = [json.loads(line) for line in (tmp_path / "reused" / "log.jsonl").read_text().splitlines()]
    assert [m["step"] for m in logs] == [0, 1, 2, 3]
    assert sorted(p.name for p in (tmp_path / "reused" / "segments").iterdir()) == ["1-qa", "2-math"]


def test_decoded_responses_keep_the_tags_and_drop_eos(setup):
    from pipeline.rl.rollout import decode_responses

    _, tokenizer = setup
    ids = tokenizer("<think>2+2=4</think><answer>4</answer>", add_special_tokens=False)["input_ids"]
    row = torch.tensor([ids + [tokenizer.eos_token_id, tokenizer.pad_token_id]])
    mask = torch.tensor([[1] * (len(ids) + 1) + [0]])
    assert decode_responses(tokenizer, row, mask) == ["<think>2+2=4</think><answer>4</answer>"]


SEGMENTS = {"qa": GRPO.model_copy(update={"lr": 2e-3, "lr_schedule": "cosine", "checkpoint_every": 1}),
            "math": GRPO.model_copy(update={"lr": 5e-4, "checkpoint_every": 1})}


def test_curriculum_segments_run_with_their_own_settings_and_a_fresh_optimizer(setup, tmp_path):
    _, trainer = run(setup, tmp_path / "run", segment_params=SEGMENTS)
    logs = [json.loads(line) for line in (tmp_path / "run" / "log.jsonl").read_text().splitlines()]
    # qa: cosine over its own 2 steps (warm-up 1 step, then decay to 0 at the segment's end); math: constant.
    assert [m["lr"] for m in logs] == pytest.approx([2e-3, 0.0, 5e-4, 5e-4])
    # The optimizer in use is the math segment's own: 2 batches × 2 mini-batches = 4 AdamW steps (not 8).
    steps = {int(v["step"]) for v in trainer.optimizer.state_dict()["state"].values()}
    assert steps == {4}


@pytest.mark.parametrize("stop_after", [2, 3])  # at the segment boundary, and inside the math segment
def test_resume_of_a_curriculum_with_segment_settings(setup, tmp_path, stop_after):
    full, _ = run(setup, tmp_path / "full", segment_params=SEGMENTS)
    run(setup, tmp_path / "resumed", stop_after=stop_after, segment_params=SEGMENTS)
    resumed, trainer = run(setup, tmp_path / "resumed", segment_params=SEGMENTS)
    assert trainer.state.step == 4
    for (name, a), (_, b) in zip(full.state_dict().items(), resumed.state_dict().items()):
        torch.testing.assert_close(a, b, msg=name)



def _single_run_folder(setup, root: Path, params: GRPOParams = GRPO) -> Path:
    """A finished single-task run of qa laid out as the local backend writes it (model/ with the final
    state, log.jsonl): the same θ0 and seed as :func:`run`, qa's batches drawn first."""
    import shutil

    from pipeline.rl.trainer import FINAL_STATE

    records, tokenizer = setup
    torch.manual_seed(0)
    model = make_model(tokenizer)
    schedule = curriculum_schedule({t: 4 for t in records}, ["qa"], 2, 1, np.random.default_rng(0))
    GRPOTrainer(model, tokenizer, records, schedule, params.model_copy(update={"keep_every": 1}),
                RewardModel(RewardParams.model_validate({"tasks": KINDS})), root / "work", seed=0).train()
    assert not (root / "work" / "segments").exists()  # only a curriculum keeps its task-boundary models
    model.save_pretrained(root / "model")
    shutil.copy(root / "work" / FINAL_STATE, root / "model" / FINAL_STATE)
    shutil.copy(root / "work" / "log.jsonl", root / "log.jsonl")
    return root


def test_a_curriculum_starts_exactly_from_the_single_task_run_of_its_first_task(setup, tmp_path, capsys):
    records, tokenizer = setup
    full, _ = run(setup, tmp_path / "full")  # qa → math, every step trained here
    single = _single_run_folder(setup, tmp_path / "single")
    torch.manual_seed(0)
    model = make_model(tokenizer)
    schedule = curriculum_schedule({t: 4 for t in records}, ["qa", "math"], 2, 1, np.random.default_rng(0))
    trainer = GRPOTrainer(model, tokenizer, records, schedule, GRPO, RewardModel(RewardParams.model_validate({"tasks": KINDS})),
                          tmp_path / "adopted", seed=0, keep_segments=True)
    assert trainer.adopt_prefix([single])
    assert "taken from the single-task run" in capsys.readouterr().err
    trainer.train()
    for (name, a), b in zip(full.state_dict().items(), model.state_dict().values()):
        assert torch.equal(a, b), name
    logs = [json.loads(line) for line in (tmp_path / "adopted" / "log.jsonl").read_text().splitlines()]
    ref = [json.loads(line) for line in (tmp_path / "full" / "log.jsonl").read_text().splitlines()]
    assert [m["segment"] for m in logs] == ["qa", "qa", "math", "math"]
    assert [m["tasks"] for m in logs] == [m["tasks"] for m in ref]
    assert sorted(p.name for p in (tmp_path / "adopted" / "segments").iterdir()) == ["1-qa", "2-math"]


def test_a_single_task_run_that_differs_is_not_adopted(setup, tmp_path, capsys):
    records, tokenizer = setup
    single = _single_run_folder(setup, tmp_path / "single", GRPO.model_copy(update={"lr": 5e-4}))
    torch.manual_seed(0)
    model = make_model(tokenizer)
    schedule = curriculum_schedule({t: 4 for t in records}, ["qa", "math"], 2, 1, np.random.default_rng(0))
    trainer = GRPOTrainer(model, tokenizer, records, schedule, GRPO, RewardModel(RewardParams.model_validate({"tasks": KINDS})),
                          tmp_path / "fresh", seed=0)
    assert not trainer.adopt_prefix([single])
    assert "training the segment" in capsys.readouterr().err
    assert trainer.state.step == 0 and not (tmp_path / "fresh" / "checkpoint").exists()



class LengthReward(RewardModel):
    """The registry's scores plus the response length's parity: groups of an untrained model then have both
    equal (σ_q = 0) and unequal rewards, so some rows of a mini-batch have Â = 0 and others do not."""

    def score(self, samples):
        from dataclasses import replace

        return [replace(s, score=s.score + len(sample.response) % 2)
                for s, sample in zip(super().score(samples), samples)]


def test_rows_without_advantage_skip_the_update_without_changing_it(setup, tmp_path, monkeypatch):
    """Rows with Â = 0 (β = 0) are left out of the update's passes: the same weights, losses' clip fractions and
    rewards as the update over every row (``rows_with_gradient`` replaced by "all rows")."""
    import pipeline.rl.trainer as trainer_module

    records, tokenizer = setup
    params = GRPO.model_copy(update={"group_size": 4, "mini_batch_size": 4})
    live_counts = []
    real = trainer_module.rows_with_gradient

    def counting(advantages, beta):
        live = real(advantages, beta)
        live_counts.append((len(live), len(advantages)))
        return live

    def train(out, select):
        monkeypatch.setattr(trainer_module, "rows_with_gradient", select)
        torch.manual_seed(0)
        model = make_model(tokenizer)
        schedule = curriculum_schedule({t: 4 for t in records}, ["qa", "math"], 2, 1, np.random.default_rng(0))
        GRPOTrainer(model, tokenizer, records, schedule, params, LengthReward(RewardParams.model_validate({"tasks": KINDS})), out, seed=0).train()
        logs = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]
        return model, logs

    skipped, logs_skipped = train(tmp_path / "skip", counting)
    full, logs_full = train(tmp_path / "full", lambda adv, beta: torch.arange(len(adv)))
    assert any(0 < live < total for live, total in live_counts), live_counts  # the case under test occurred
    for (name, a), (_, b) in zip(full.state_dict().items(), skipped.state_dict().items()):
        torch.testing.assert_close(a, b, msg=name, rtol=1e-5, atol=1e-6)
    for a, b in zip(logs_full, logs_skipped):
        assert a["clip_fraction"] == pytest.approx(b["clip_fraction"], abs=1e-6)
        # the same samples and rewards; the entropy of weights equal up to float rounding, up to rounding
        for task, stats in a["tasks"].items():
            other = dict(b["tasks"][task])
            assert other.pop("entropy") == pytest.approx(stats["entropy"], rel=1e-6)
            assert {k: v for k, v in stats.items() if k != "entropy"} == other


@pytest.fixture(scope="module")
def setup3():
    """Three tasks (the writing reward is the offline rubric judge): curricula long enough to have a pair prefix."""
    params = parse_params({"rewards": {"tasks": KINDS}, "tasks": ["math", "qa", "writing"], "data": {"tasks": {
        "math": {"source": "synthetic_math", "n": 40}, "qa": {"source": "synthetic_qa", "n": 40, "facts": 10},
        "writing": {"source": "synthetic_writing", "n": 40}}}})
    records = {t: curate_task(params, t)[0]["train"] for t in params.tasks}
    corpus = [m["content"] for rs in records.values() for r in rs for m in r["prompt"]] * 2
    return records, build_tokenizer(corpus, vocab_size=400)


def _curriculum_folder(setup, root: Path, order: list[str], adopt: list[Path] = ()):
    """A finished curriculum laid out as the local backend writes it (model/ with the final state, log.jsonl,
    segments/), trained from the same θ0 and seed; ``adopt``: runs it may start from."""
    import shutil

    from pipeline.rl.trainer import FINAL_STATE

    records, tokenizer = setup
    torch.manual_seed(0)
    model = make_model(tokenizer)
    schedule = curriculum_schedule({t: 4 for t in records}, order, 2, 1, np.random.default_rng(0))
    trainer = GRPOTrainer(model, tokenizer, records, schedule, GRPO, RewardModel(RewardParams.model_validate({"tasks": KINDS})), root / "work",
                          seed=0, keep_segments=True)
    adopted = trainer.adopt_prefix(adopt)
    trainer.train()
    model.save_pretrained(root / "model")
    shutil.copy(root / "work" / FINAL_STATE, root / "model" / FINAL_STATE)
    shutil.copy(root / "work" / "log.jsonl", root / "log.jsonl")
    shutil.copytree(root / "work" / "segments", root / "segments")
    return model, adopted


def test_a_curriculum_starts_exactly_from_the_pair_run_of_its_first_two_tasks(setup3, tmp_path, capsys):
    full, _ = _curriculum_folder(setup3, tmp_path / "full", ["qa", "math", "writing"])
    pair, _ = _curriculum_folder(setup3, tmp_path / "pair", ["qa", "math"])
    other, _ = _curriculum_folder(setup3, tmp_path / "other", ["math", "qa"])  # not a prefix: another order
    capsys.readouterr()
    model, adopted = _curriculum_folder(setup3, tmp_path / "adopted", ["qa", "math", "writing"],
                                        [tmp_path / "other", tmp_path / "pair"])
    assert adopted
    err = capsys.readouterr().err
    assert "first 2 segments (qa → math, 4 steps) taken from the run" in err and "other: a different run" in err
    for (name, a), b in zip(full.state_dict().items(), model.state_dict().values()):
        assert torch.equal(a, b), name
    logs = [json.loads(line) for line in (tmp_path / "adopted" / "log.jsonl").read_text().splitlines()]
    ref = [json.loads(line) for line in (tmp_path / "full" / "log.jsonl").read_text().splitlines()]
    assert [m["segment"] for m in logs] == ["qa", "qa", "math", "math", "writing", "writing"]
    assert [m["tasks"] for m in logs] == [m["tasks"] for m in ref]
    assert sorted(p.name for p in (tmp_path / "adopted" / "segments").iterdir()) == ["1-qa", "2-math", "3-writing"]
    # the longest prefix wins: offered the single-task run of qa too, the curriculum starts from the pair
    _curriculum_folder(setup3, tmp_path / "single", ["qa"])
    capsys.readouterr()
    _, adopted_again = _curriculum_folder(setup3, tmp_path / "again", ["qa", "math", "writing"],
                                          [tmp_path / "single", tmp_path / "pair"])
    assert adopted_again and "first 2 segments" in capsys.readouterr().err
    # a run that is the whole curriculum is not adopted (nothing would be left to train)
    _, whole = _curriculum_folder(setup3, tmp_path / "whole", ["qa", "math"], [tmp_path / "pair"])
    assert not whole


def test_a_finished_run_is_recognised_only_by_the_very_same_run(setup, tmp_path):
    records, tokenizer = setup
    single = _single_run_folder(setup, tmp_path / "single")
    kept = GRPO.model_copy(update={"keep_every": 1})  # as _single_run_folder trains it

    def trainer(order, params=kept):
        torch.manual_seed(0)
        schedule = curriculum_schedule({t: 4 for t in records}, order, 2, 1, np.random.default_rng(0))
        return GRPOTrainer(make_model(tokenizer), tokenizer, records, schedule, params, RewardModel(RewardParams.model_validate({"tasks": KINDS})),
                           tmp_path / "work", seed=0)

    assert trainer(["qa"]).finished_in(single)
    assert not trainer(["qa"], kept.model_copy(update={"lr": 5e-4})).finished_in(single)  # other settings
    assert not trainer(["qa"], GRPO.model_copy(update={"keep_every": 2})).finished_in(single)  # other snapshots
    assert not trainer(["qa", "math"]).finished_in(single)  # only the first segment of this run
    assert not trainer(["qa"]).finished_in(tmp_path / "nothing-there")


def test_answers_scored_without_a_verdict_are_counted_per_step_beside_the_timings(setup, tmp_path, capsys):
    from pipeline.config import MathRewardParams
    from pipeline.rewards.total import Sample

    records, tokenizer = setup
    rewards = RewardModel(RewardParams(tasks=KINDS, math=MathRewardParams(max_answer_chars=3)))
    schedule = curriculum_schedule({"math": 2}, ["math"], 2, 1, np.random.default_rng(0))
    trainer = GRPOTrainer(make_model(tokenizer), tokenizer, records, schedule, GRPO, rewards, tmp_path, seed=0)
    trainer._failed = rewards.failures()
    long_answer = Sample("math", "?", "<think>x</think><answer>12345</answer>", "12345", {})
    rewards.score([long_answer, long_answer])
    assert trainer._failures() == {"math_too_long": 2}
    assert trainer._failures() == {}  # each step reports only its own
    rewards.close()
    assert "math verifier: 2 too long (each scored 0)" in capsys.readouterr().err


def test_training_that_diverges_stops_at_that_step_with_one_line(setup, tmp_path):
    """A non-finite weight (as a diverged update leaves it) stops the run at the step that meets it, naming what
    is not finite; nothing of that step is saved (issue 36: `lr: .inf` used to train to all-NaN weights, exit 0)."""
    from pipeline.errors import UserError

    records, tokenizer = setup
    torch.manual_seed(0)
    model = make_model(tokenizer)
    with torch.no_grad():
        model.lm_head.weight[0, 0] = float("inf")
    schedule = curriculum_schedule({t: 4 for t in records}, ["qa", "math"], 2, 1, np.random.default_rng(0))
    trainer = GRPOTrainer(model, tokenizer, records, schedule, GRPO, RewardModel(RewardParams.model_validate({"tasks": KINDS})), tmp_path / "run",
                          seed=0, keep_segments=True)
    with pytest.raises(UserError, match=r"training diverged at step 1: (the loss is nan|the gradient norm is nan|"
                                        r"weight \S+ is not finite)") as info:
        trainer.train()
    assert "\n" not in str(info.value)
    assert not (tmp_path / "run" / "model").exists()


def test_a_step_whose_rewards_are_mostly_undefined_stops_the_run(tmp_path):
    """A judge that never gives a verdict left every sample excluded and the run exited 0 (issue 36): past
    rewards.max_undefined_share the step stops the run with one line."""
    from pipeline.errors import UserError

    from ..openai_server import OpenAIServer, completion

    params = parse_params({"rewards": {"tasks": KINDS}, "tasks": ["writing"], "data": {"tasks": {"writing": {"source": "synthetic_writing",
                                                                                 "n": 20}}}})
    records = {"writing": curate_task(params, "writing")[0]["train"]}
    corpus = [m["content"] for r in records["writing"] for m in r["prompt"]] * 2
    tokenizer = build_tokenizer(corpus, vocab_size=400)
    torch.manual_seed(0)
    model = make_model(tokenizer)
    schedule = curriculum_schedule({"writing": 4}, ["writing"], 2, 1, np.random.default_rng(0))
    with OpenAIServer(lambda body, n: (200, completion("Both are fine; I cannot choose."))) as server:
        rewards = RewardParams(tasks=KINDS, judge={"backend": "llm", "model": "judge-test", "base_url": server.base_url,
                                      "api_key_env": "NO_KEY_HERE", "cache_dir": str(tmp_path / "cache"),
                                      "backoff_s": 0.01})
        reward_model = RewardModel(rewards)
        trainer = GRPOTrainer(model, tokenizer, records, schedule, GRPO, reward_model, tmp_path / "run", seed=0)
        try:
            with pytest.raises(UserError, match=r"step 1: 4 of 4 rewards undefined \(tasks \['writing'\]; judge so "
                                                r"far: malformed 8, undefined 4\), more than "
                                                r"rewards.max_undefined_share = 0.1; stopped"):
                trainer.train()
        finally:
            reward_model.close()
    assert not (tmp_path / "run" / "model").exists()

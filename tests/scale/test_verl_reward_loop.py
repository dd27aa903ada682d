"""Our reward function under verl 0.9.1's own reward loop, on CPU: a ``RewardLoopWorker`` built from the
config our overrides compose (verl's reward loader, its rate-limited manager, its decoding with
``skip_special_tokens=True``), scoring a mixed math / QA / writing batch with one executor thread per
sample, the writing rows judged by a real local OpenAI-compatible server. Skips without verl."""

from __future__ import annotations

import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

verl = pytest.importorskip("verl")

from pipeline.config import VerlParams, parse_params  # noqa: E402
from pipeline.data.curate import curate_task  # noqa: E402
from pipeline.data.verl_export import to_verl_row as _to_verl_row  # noqa: E402
from pipeline.config import RewardParams  # noqa: E402
from pipeline.rewards.total import verl_reward_fields  # noqa: E402
from pipeline.errors import UserError  # noqa: E402
from pipeline.models.tiny import build_tiny_model  # noqa: E402
from pipeline.models.tokenizer import build_tokenizer  # noqa: E402
from pipeline.rewards.judge import share_of_concurrency  # noqa: E402
from pipeline.rewards.verl_entry import UNDEFINED_VERDICT  # noqa: E402
from pipeline.scale.verl_config import VerlRun, grpo_overrides  # noqa: E402
from pipeline.scale.verl_run import compose_config, count_judge_timeouts, first_cause  # noqa: E402

from ..conftest import KINDS  # noqa: E402
from ..openai_server import OpenAIServer, completion  # noqa: E402

TASKS = ["math", "qa", "writing"]
WORKERS = 2  # train.verl.reward_workers: the judge's concurrency is split between them


def to_verl_row(record, index):
    """A verl row with the reward fields of the task's default kind (math, code, qa, mcq, judge)."""
    return _to_verl_row(record, index, verl_reward_fields(RewardParams.model_validate({"tasks": KINDS}), record["task"]))


def user_and_answers(body):
    text = body["messages"][1]["content"]
    question = re.search(r"\[User Request\]\n(.*?)\n\n\[The Start of Assistant A", text, re.S).group(1)
    a = re.search(r"Assistant A's Answer\]\n(.*?)\n\[The End of Assistant A", text, re.S).group(1)
    b = re.search(r"Assistant B's Answer\]\n(.*?)\n\[The End of Assistant B", text, re.S).group(1)
    return question, a, b


class Judge:
    """Prefers the answer that says WIN; records the questions it saw and its peak of requests in flight."""

    def __init__(self, delay_s: float = 0.05) -> None:
        self.delay_s, self.questions, self.in_flight, self.peak = delay_s, [], 0, 0
        self.lock = threading.Lock()

    def __call__(self, body, n):
        with self.lock:
            self.in_flight += 1
            self.peak = max(self.peak, self.in_flight)
        time.sleep(self.delay_s)
        question, a, b = user_and_answers(body)
        with self.lock:
            self.in_flight -= 1
            self.questions.append(question)
        verdict = "A" if "WIN" in a and "WIN" not in b else "B" if "WIN" in b and "WIN" not in a else "C"
        return 200, completion(f"I compared them. [[{verdict}]]")


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    root = tmp_path_factory.mktemp("reward-loop")
    raw = {"rewards": {"tasks": {t: KINDS[t] for t in TASKS}}, "tasks": TASKS, "data": {"tasks": {"math": {"source": "synthetic_math", "n": 40},
                                               "qa": {"source": "synthetic_qa", "n": 40, "facts": 10},
                                               "writing": {"source": "synthetic_writing", "n": 40}}}}
    params = parse_params(raw)
    records = {t: curate_task(params, t)[0]["train"][:8] for t in TASKS}
    texts = [m["content"] for rs in records.values() for r in rs for m in r["prompt"]] + [
        "<think>x</think><answer>\\boxed{7}</answer> WIN plain"]
    tokenizer = build_tokenizer(texts * 2, vocab_size=400)
    torch.manual_seed(0)
    build_tiny_model(len(tokenizer), 32, 1, 2, 1, 64, 256, 0, tokenizer).save_pretrained(root / "base")
    tokenizer.save_pretrained(root / "base")
    return root, raw, records


def params_file(root: Path, raw: dict, server: OpenAIServer, concurrency: int, **judge) -> Path:
    raw = {**raw, "rewards": {"tasks": raw["rewards"]["tasks"],
                              "judge": {"backend": "llm", "model": "judge-test", "base_url": server.base_url,
                                        "api_key_env": "NO_KEY_HERE", "cache_dir": str(root / f"cache-{time.time()}"),
                                        "concurrency": concurrency, "backoff_s": 0.01, **judge}}}
    path = root / f"params-{time.time_ns()}.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def reward_loop_worker(root: Path, params: Path, concurrency: int, threads: int = 16):
    """verl's RewardLoopWorker (what each reward-worker Ray actor holds), built from our composed config, its
    event loop given ``threads`` executor threads (each sample's ``compute_score`` runs in one of them)."""
    from verl.experimental.reward_loop.reward_loop import RewardLoopWorker

    judge = parse_params(yaml.safe_load(params.read_text())).rewards.judge
    assert judge.concurrency == concurrency
    run = VerlRun(name="single-writing", model=str(root / "base"), train_file=root / "t.parquet",
                  val_file=root / "v.parquet", steps=2, checkpoint_dir=root / "c", grpo=parse_params(
                      {"rewards": {"tasks": KINDS}, "tasks": ["math"], "data": {"tasks": {"math": {"source": "synthetic_math"}}}}).train.grpo,
                  beta=0.0, judge_log=root / "judge_events.jsonl")
    cfg = compose_config(grpo_overrides(run, VerlParams(n_gpus_per_node=1, reward_workers=WORKERS), judge, params, 0))
    worker = RewardLoopWorker(cfg)
    worker.loop.set_default_executor(ThreadPoolExecutor(threads))
    return worker, cfg


def batch(tokenizer, rows: list[dict], responses: list[str]):
    """A DataProto as verl's agent loop hands it to the reward loop: left-padded prompts, right-padded
    responses (EOS-terminated), the attention mask over both, and the parquet row's non-tensor fields."""
    from verl import DataProto

    prompts = [tokenizer.apply_chat_template(r["prompt"], tokenize=False, add_generation_prompt=True) for r in rows]
    p = [tokenizer(t, add_special_tokens=False)["input_ids"] for t in prompts]
    o = [tokenizer(t, add_special_tokens=False)["input_ids"] + [tokenizer.eos_token_id] for t in responses]
    P, R = max(map(len, p)), max(map(len, o))
    pad = tokenizer.pad_token_id
    prompt_ids = torch.tensor([[pad] * (P - len(x)) + x for x in p])
    response_ids = torch.tensor([x + [pad] * (R - len(x)) for x in o])
    mask = torch.tensor([[0] * (P - len(x)) + [1] * len(x) + [1] * len(y) + [0] * (R - len(y)) for x, y in zip(p, o)])
    return DataProto.from_dict(
        tensors={"prompts": prompt_ids, "responses": response_ids, "attention_mask": mask,
                 "input_ids": torch.cat([prompt_ids, response_ids], 1)},
        non_tensors={"data_source": np.array([r["data_source"] for r in rows], dtype=object),
                     "reward_model": np.array([r["reward_model"] for r in rows], dtype=object),
                     "extra_info": np.array([r["extra_info"] for r in rows], dtype=object)})


def mixed_rows(records):
    rows, responses, expected = [], [], []
    for t in TASKS:
        for k, rec in enumerate(records[t]):
            rows.append(to_verl_row(rec, len(rows)))
            if t == "math":
                answer, ok = (rec["reference"], 1.0) if k % 2 == 0 else ("-98765", 0.0)
                responses.append(f"<think>x</think><answer>\\boxed{{{answer}}}</answer>")
            elif t == "qa":
                answer, ok = (rec["reference"], 1.0) if k % 2 == 0 else ("no such option", 0.0)
                responses.append(f"<think>x</think><answer>{answer}</answer>")
            else:  # judged against the reference: WIN beats it (both orders), plain ties
                ok = 1.0 if k % 2 == 0 else 0.5
                responses.append(f"<think>x</think><answer>{'WIN' if ok == 1.0 else rec['reference']}</answer>")
            expected.append((t, ok))
    return rows, responses, expected


def test_verls_reward_loop_scores_a_mixed_batch_from_many_threads(workspace):
    """Every row gets its score (tags kept through verl's decoding), every writing row its judged score, and
    the judge saw each row's question; no call errors; the requests in flight stay within the worker's
    share of the run's concurrency."""
    from transformers import AutoTokenizer

    root, raw, records = workspace
    concurrency = 8  # 2 workers → 4 requests in flight each
    judge = Judge()
    with OpenAIServer(judge) as server:
        params = params_file(root, raw, server, concurrency)
        worker, cfg = reward_loop_worker(root, params, concurrency)
        assert cfg.reward.reward_manager.name == "naive" and type(worker.reward_manager).__name__ == \
            "NaiveRewardManager"  # no cap on math, code or QA: the judge limits only its own requests
        rows, responses, expected = mixed_rows(records)
        data = batch(AutoTokenizer.from_pretrained(root / "base"), rows, responses)
        results = worker.loop.run_until_complete(worker.compute_score_batch(data))
    assert len(results) == len(rows)
    for (task, ok), result in zip(expected, results):
        info = result["reward_extra_info"]
        assert "error" not in info and "timeout" not in info, info
        assert info["accuracy"] == ok, (task, info)
        assert info["format"] == 1.0 and info["tags"] == 1.0  # <think>/<answer> survived skip_special_tokens
        assert result["reward_score"] == pytest.approx(ok + 0.2)
    writing = [r for r in rows if r["data_source"] == "writing"]
    assert sorted(set(judge.questions)) == sorted({r["extra_info"]["question"] for r in writing})
    assert all(q.strip() for q in judge.questions)  # the [User Request] is never empty
    assert 1 < judge.peak <= share_of_concurrency(concurrency, WORKERS)
    assert len(judge.questions) == 2 * len(writing)  # both orders, one request each


def test_a_judge_slower_than_its_deadline_is_counted_never_zeroed_silently(workspace):
    """An endpoint slower than the judge's deadline: the writing row comes back undefined (score and accuracy
    NaN, counted in judge_events.jsonl), not as a number."""
    root, raw, records = workspace
    with OpenAIServer(lambda body, n: (time.sleep(1.5), (200, completion("[[A]]")))[1]) as server:
        params = params_file(root, raw, server, 4, deadline_s=0.3)
        worker, cfg = reward_loop_worker(root, params, 4)
        (root / "judge_events.jsonl").unlink(missing_ok=True)
        rec = records["writing"][0]
        from transformers import AutoTokenizer

        data = batch(AutoTokenizer.from_pretrained(root / "base"), [to_verl_row(rec, 0)],
                     ["<think>x</think><answer>WIN</answer>"])
        result, = worker.loop.run_until_complete(worker.compute_score_batch(data))
    info = result["reward_extra_info"]
    assert "timeout" not in info and np.isnan(info["accuracy"]) and np.isnan(result["reward_score"])
    assert count_judge_timeouts(root / "judge_events.jsonl") == 1
    assert first_cause(root / "judge_events.jsonl") == UNDEFINED_VERDICT


@pytest.mark.parametrize("status", [401, 404, 503])
def test_a_judge_that_refuses_or_fails_gives_no_number_and_names_its_cause(workspace, status):
    """A wrong key (401), a wrong model (404) or an endpoint that keeps failing (503, retries exhausted) raises in
    the judge; verl's managers would score that 0.0. Through verl's own reward loop the writing rows come back
    NaN, the math row beside them keeps its score, and the cause is logged once for the run to report."""
    from transformers import AutoTokenizer

    root, raw, records = workspace
    with OpenAIServer(lambda body, n: (status, {"error": {"message": "no", "type": "x"}})) as server:
        params = params_file(root, raw, server, 4)
        worker, _ = reward_loop_worker(root, params, 4)
        (root / "judge_events.jsonl").unlink(missing_ok=True)
        rows = [to_verl_row(records["writing"][0], 0), to_verl_row(records["writing"][1], 1),
                to_verl_row(records["math"][0], 2)]
        responses = ["<think>x</think><answer>WIN</answer>"] * 2 + [
            f"<think>x</think><answer>\\boxed{{{records['math'][0]['reference']}}}</answer>"]
        results = worker.loop.run_until_complete(worker.compute_score_batch(
            batch(AutoTokenizer.from_pretrained(root / "base"), rows, responses)))
    assert [np.isnan(r["reward_score"]) for r in results] == [True, True, False]
    assert results[2]["reward_score"] == pytest.approx(1.2) and "error" not in results[0]["reward_extra_info"]
    cause = first_cause(root / "judge_events.jsonl")
    assert "JudgeUnavailable" in cause and (f"HTTP {status}" in cause if status < 500 else "failed after" in cause)


def test_run_concurrency_is_split_between_reward_workers():
    assert share_of_concurrency(64, 8) == 8 and share_of_concurrency(10, 3) == 3
    with pytest.raises(UserError, match=r"concurrency \(4\) must be at least .* \(8: train.verl.reward_workers\)"):
        share_of_concurrency(4, 8)


def test_verls_reward_loop_scores_the_letter_format_with_the_letter_experiments_params(workspace):
    """Figure 3's letter policy at paper scale: train_verl hands verl's reward workers the letter experiment's
    parameters (letter_params, written with dump_params as train_verl writes them); verl's reward loop, reading
    them, scores the qa_letter rows with the mcq reward: the correct letter 1, the option's text 0."""
    from transformers import AutoTokenizer

    from pipeline.commands.ablate_format import letter_params
    from pipeline.config import dump_params
    from pipeline.data.answer_formats import in_format

    root, raw, records = workspace
    weights = {"accuracy": 1.0, "format": 0.5, "tags": 0.0}  # qa's own weights, which the letter task inherits
    tasks = {**raw["rewards"]["tasks"], "qa": {"kind": "qa", "weights": weights}}
    lp = letter_params(parse_params({**raw, "rewards": {"tasks": tasks}}), "qa")
    path = root / "letter-params.yaml"
    path.write_text(dump_params(lp))
    worker, _ = reward_loop_worker(root, path, lp.rewards.judge.concurrency)
    letters = in_format(records["qa"], "qa", "letter")
    rows = [to_verl_row(rec, i) for i, rec in enumerate(letters)]
    assert {r["data_source"] for r in rows} == {"qa_letter"}
    responses = [f"<think>x</think><answer>{rec['reference'] if k % 2 == 0 else rec['meta']['answer_text']}</answer>"
                 for k, rec in enumerate(letters)]
    data = batch(AutoTokenizer.from_pretrained(root / "base"), rows, responses)
    results = worker.loop.run_until_complete(worker.compute_score_batch(data))
    assert [r["reward_extra_info"]["accuracy"] for r in results] == [1.0 - k % 2 for k in range(len(rows))]
    assert [r["reward_score"] for r in results] == pytest.approx([1.5 - k % 2 for k in range(len(rows))])

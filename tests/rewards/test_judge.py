"""The pairwise judge against a real local OpenAI-compatible server that scripts its replies."""

import re
import threading
import time

import pytest

from pipeline.config import JudgeParams
from pipeline.errors import UserError
from pipeline.rewards.judge import LLMJudge, RubricJudge, combine, parse_verdict

from ..openai_server import OpenAIServer, completion
from ..conftest import KINDS


def judge_for(server, tmp_path, **extra):
    params = JudgeParams(backend="llm", model="judge-test", base_url=server.base_url, api_key_env="NO_KEY_HERE",
                         cache_dir=str(tmp_path / "judge-cache"), backoff_s=0.01, **extra)
    return LLMJudge(params)


def a_and_b(body):
    text = body["messages"][1]["content"]
    a = re.search(r"Assistant A's Answer\]\n(.*?)\n\[The End of Assistant A", text, re.S).group(1)
    b = re.search(r"Assistant B's Answer\]\n(.*?)\n\[The End of Assistant B", text, re.S).group(1)
    return a, b


def prefers_longer(body, n):
    a, b = a_and_b(body)
    verdict = "A" if len(a) > len(b) else "B" if len(b) > len(a) else "C"
    return 200, completion(f"Reasoning... maybe [[B]] at first, but finally [[{verdict}]]")


def test_verdict_parsing_and_combination():
    assert parse_verdict("first [[A]] then [[B]]") == "B"
    assert parse_verdict("no verdict") is None
    assert combine(["A", "B"]) == 1.0 and combine(["B", "A"]) == 0.0 and combine(["C", "C"]) == 0.5
    assert combine(["A", "A"]) == 0.5  # position bias cancels out
    assert combine(["A", None]) is None


def test_both_orders_last_tag_and_cache(tmp_path):
    with OpenAIServer(prefers_longer) as server:
        judge = judge_for(server, tmp_path)
        items = [("q1", "a much longer answer", "short"), ("q2", "tiny", "a longer reference"), ("q3", "same", "same")]
        assert judge.judge_many(items) == [1.0, 0.0, 0.5]
        assert len(server.requests) == 6  # two orders each
        assert all(r["temperature"] == 0.4 and r["model"] == "judge-test" for r in server.requests)
        assert judge.stats.prompt_tokens == 60 and judge.stats.completion_tokens == 30
        again = judge_for(server, tmp_path)
        assert again.judge_many(items) == [1.0, 0.0, 0.5]
        assert len(server.requests) == 6 and again.stats.cache_hits == 6 and again.stats.calls == 0


def test_retries_on_429_500_and_malformed_then_undefined(tmp_path):
    def flaky(body, n):
        if n == 1:
            return 429, {"error": {"message": "slow down"}}
        if n == 2:
            return 500, {"error": {"message": "oops"}}
        user = body["messages"][1]["content"]
        if "NEVER" in user:
            return 200, completion("I cannot decide.")
        if "ONCE" in user and len(body["messages"]) == 2:
            return 200, completion("Thinking without a verdict")
        return 200, completion("[[A]]")

    with OpenAIServer(flaky) as server:
        judge = judge_for(server, tmp_path, concurrency=1)
        scores = judge.judge_many([("q", "ONCE", "ref"), ("q2", "NEVER", "ref")])
        assert scores[0] == 0.5 and scores[1] is None
        assert judge.stats.retries == 2 and judge.stats.malformed == 4 and judge.stats.undefined == 1
        reminders = [r for r in server.requests if len(r["messages"]) == 4]
        assert reminders and "[[A]], [[B]] or [[C]]" in reminders[0]["messages"][-1]["content"]


def test_gives_up_after_max_retries(tmp_path):
    with OpenAIServer(lambda body, n: (503, {"error": {"message": "down"}})) as server:
        judge = judge_for(server, tmp_path, max_retries=2)
        with pytest.raises(UserError, match=rf"judge endpoint {server.base_url} \(model judge-test\) failed after 3 "
                                            "tries: InternalServerError"):
            judge.judge_many([("q", "a", "b")])


class Slow:
    """A script that answers after ``delay_s`` with ``reply(body, n)`` and records the peak of requests in flight."""

    def __init__(self, delay_s, reply):
        self.delay_s, self.reply, self.in_flight, self.peak, self.lock = delay_s, reply, 0, 0, threading.Lock()

    def __call__(self, body, n):
        with self.lock:
            self.in_flight += 1
            self.peak = max(self.peak, self.in_flight)
        time.sleep(self.delay_s)
        with self.lock:
            self.in_flight -= 1
        return self.reply(body, n)


def test_concurrency_is_bounded_and_faster_than_sequential(tmp_path):
    slow = Slow(0.05, lambda body, n: (200, completion("[[C]]")))
    with OpenAIServer(slow) as server:
        judge = judge_for(server, tmp_path, concurrency=8)
        judge.judge_many([(f"q{i}", f"a{i}", "r") for i in range(20)])
    assert 1 < slow.peak <= 8


def test_missing_key_without_base_url(monkeypatch):
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    with pytest.raises(UserError, match=r"needs an API key in \$NO_KEY_HERE"):
        LLMJudge(JudgeParams(backend="llm", api_key_env="NO_KEY_HERE"))


def test_rubric_judge_ternary_both_orders():
    rubric = {"topic": "sea", "required_words": ["blue", "wave"], "lines": 1, "ending": "!"}
    judge = RubricJudge()
    scores = judge.judge_many([("q", "blue wave!", "blue wave."), ("q", "blue.", "blue wave!"), ("q", "wave!", "blue!"),
                               ("q", "x", "y")], [{"rubric": rubric}] * 3 + [{}])
    assert scores == [1.0, 0.0, 0.5, None]


def test_many_threads_share_one_judge_and_its_bound(tmp_path):
    """verl's reward managers call the judge from many threads at once: every call gets its verdicts, and the
    requests in flight of all threads together stay within the process's concurrency."""
    from concurrent.futures import ThreadPoolExecutor

    slow = Slow(0.02, prefers_longer)
    with OpenAIServer(slow) as server:
        judge = judge_for(server, tmp_path, concurrency=6)
        items = [(f"q{i}", "a much longer answer " * (i % 2), "mid length") for i in range(32)]
        with ThreadPoolExecutor(16) as pool:
            scores = list(pool.map(lambda item: judge.judge_many([item])[0], items))
        judge.close()
    assert scores == [0.0 if i % 2 == 0 else 1.0 for i in range(32)]
    assert 1 < slow.peak <= 6 and judge.stats.calls == 64


def test_processes_share_the_runs_concurrency_and_a_forked_child_gets_its_own_loop(tmp_path):
    import multiprocessing

    with OpenAIServer(prefers_longer) as server:
        judge = judge_for(server, tmp_path, concurrency=8)
        assert judge.concurrency == 8 and LLMJudge(judge.params, processes=4).concurrency == 2
        assert judge.judge_many([("q", "longer answer", "short")]) == [1.0]  # the parent's loop thread runs
        with pytest.raises(UserError, match=r"concurrency \(8\) must be at least"):
            LLMJudge(judge.params, processes=9)
        ctx = multiprocessing.get_context("fork")
        queue = ctx.Queue()
        child = ctx.Process(target=lambda: queue.put(judge.judge_many([("q2", "tiny", "a longer reference")])))
        child.start()
        child.join(60)
        assert child.exitcode == 0 and queue.get(timeout=5) == [0.0]
        judge.close()


def test_a_batch_past_the_deadline_is_undefined_and_counted(tmp_path):
    with OpenAIServer(lambda body, n: (time.sleep(1.0), (200, completion("[[A]]")))[1]) as server:
        judge = judge_for(server, tmp_path, deadline_s=0.2)
        assert judge.judge_many([("q", "a", "b"), ("q2", "c", "d")]) == [None, None]
        assert judge.stats.timeouts == 2 and judge.stats.undefined == 2
        judge.close()


def test_no_verdict_is_excluded_left_out_of_accuracy_and_asked_again(tmp_path):
    """A flaky judge must not drag writing down: a sample without a verdict is excluded from the update, left
    out of accuracy (counted as undefined), and not cached, so the next run asks again."""
    import numpy as np

    from pipeline.config import EvalParams, RewardParams
    from pipeline.eval.evaluate import evaluate_records
    from pipeline.eval.generators import Generation
    from pipeline.rewards.total import RewardModel, Sample

    flaky = [True]

    def judge(body, n):
        _, b = a_and_b(body)
        if "UNSURE" in body["messages"][1]["content"] and flaky[0]:
            return 200, completion("I cannot decide.")
        return prefers_longer(body, n)

    class Fixed:  # a generator that answers each prompt with a fixed text (the judge decides the rest)
        def __init__(self, texts):
            self.texts = texts

        def sample(self, prompts, n, *args, **kwargs):
            return Generation([self.texts[p[-1]["content"]] for p in prompts for _ in range(n)], np.ones(len(prompts) * n))

    with OpenAIServer(judge) as server:
        params = RewardParams(tasks=KINDS, judge={"backend": "llm", "model": "judge-test", "base_url": server.base_url,
                                     "api_key_env": "NO_KEY_HERE", "cache_dir": str(tmp_path / "cache"),
                                     "backoff_s": 0.01})
        rewards = RewardModel(params)
        scored = rewards.score([Sample("writing", "q UNSURE", "<think>x</think><answer>long answer</answer>", "r", {})])
        assert scored[0].components["accuracy"] is None and scored[0].excluded
        records = [{"task": "writing", "prompt": [{"role": "user", "content": q}], "reference": "mid", "meta": {}}
                   for q in ("a", "b UNSURE", "c")]
        texts = {"a": "<answer>a much longer answer</answer>", "b UNSURE": "<answer>x</answer>", "c": "<answer>x</answer>"}
        result = evaluate_records(Fixed(texts), records, EvalParams(temperature=0.0, samples=1), rewards)
        assert result["accuracy"] == 0.5 and result["undefined"] == 1  # (1 + 0) / 2, not (1 + 0 + 0) / 3
        assert np.isnan(result["per_prompt"][1])
        flaky[0] = False
        again = RewardModel(params).score([Sample("writing", "q UNSURE", "<answer>long answer</answer>", "r", {})])
        assert again[0].components["accuracy"] == 1.0  # asked again, not read from the cache
        rewards.close()


def test_a_garbled_reply_is_retried_like_a_5xx(tmp_path):
    """A reply that is not JSON (a proxy's error page) or JSON that is not a chat completion is retried."""
    def garbled(body, n):
        if n == 1:
            return 200, b"<html>502 Bad Gateway</html>"
        if n == 2:
            return 200, {"error": "overloaded"}
        return 200, completion("[[A]]")

    with OpenAIServer(garbled) as server:
        judge = judge_for(server, tmp_path, concurrency=1)
        assert judge.judge_many([("q", "a", "b")]) == [0.5]
        assert judge.stats.retries == 2
        judge.close()
    with OpenAIServer(lambda body, n: (200, b"not json")) as server:  # garbled for good: no verdict, no crash
        judge = judge_for(server, tmp_path / "2", max_retries=1)
        assert judge.judge_many([("q", "a", "b")]) == [None]
        assert judge.stats.undefined == 1 and judge.stats.malformed == 2 and len(server.requests) == 4
        judge.close()


def test_judge_deadline_bounds_every_retry():
    from pipeline.rewards.judge import judge_deadline

    p = JudgeParams(timeout_s=10.0, max_retries=2, backoff_s=1.0)
    # two calls (reply + reminder), each 3 tries of 10 s with backoffs of at most 2·1 and 2·2 s between them
    assert judge_deadline(p) == 2 * (3 * 10.0 + 2.0 + 4.0)


def test_judge_events_are_counted(tmp_path):
    """The judge timeouts verl's reward workers append to judge_log (pipeline/rewards/verl_entry.py), summed."""
    import json

    from pipeline.scale.verl_run import count_judge_timeouts

    path = tmp_path / "judge_events.jsonl"
    assert count_judge_timeouts(path) == 0
    path.write_text(json.dumps({"pid": 1, "timeouts": 2}) + "\n" + json.dumps({"pid": 2, "timeouts": 3}) + "\n")
    assert count_judge_timeouts(path) == 5


@pytest.mark.parametrize("status", [400, 401, 403, 404, 422])
def test_an_error_that_retrying_cannot_fix_is_one_line_at_once(tmp_path, status):
    """Auth, not found, bad request: one line naming the endpoint and model, after one request (issue 36)."""
    with OpenAIServer(lambda body, n: (status, {"error": {"message": "no"}})) as server:
        judge = judge_for(server, tmp_path, max_retries=5)
        with pytest.raises(UserError) as info:
            judge.judge_many([("q", "a", "b")])
        text = str(info.value)
        assert f"judge endpoint {server.base_url} (model judge-test): HTTP {status}" in text and "\n" not in text
        assert "not retried" in text and len(server.requests) <= 2  # the two orders, each asked once
        judge.close()


@pytest.mark.parametrize("reply", [
    {"choices": [{"message": {"role": "assistant", "content": ["[[A]]"]}}]},
    {"choices": [{"message": {"role": "assistant", "content": {"text": "[[A]]"}}}]},
    {"choices": []},
    {"choices": [{"message": "[[A]]"}]},
])
def test_a_malformed_reply_is_retried_then_undefined(tmp_path, reply):
    with OpenAIServer(lambda body, n: (200, reply)) as server:
        judge = judge_for(server, tmp_path, max_retries=1)
        assert judge.judge_many([("q", "a", "b")]) == [None]
        assert judge.stats.undefined == 1 and judge.stats.retries == 2
        judge.close()


def test_malformed_usage_is_ignored_not_a_crash(tmp_path):
    def odd_usage(body, n):
        reply = completion("[[A]]")
        reply["usage"] = ["lots"] if n % 2 else {"prompt_tokens": "ten", "completion_tokens": -3}
        return 200, reply

    with OpenAIServer(odd_usage) as server:
        judge = judge_for(server, tmp_path)
        assert judge.judge_many([("q", "a", "b")]) == [0.5]
        assert judge.stats.prompt_tokens == 0 and judge.stats.completion_tokens == 0
        judge.close()


@pytest.mark.parametrize("entry", [b"{not json", b'{"verdict": "D"}', b"[1, 2]", b"\xff\xfe"])
def test_a_corrupt_cache_entry_is_skipped_with_a_warning_and_rewritten(tmp_path, capsys, entry):
    with OpenAIServer(lambda body, n: (200, completion("[[A]]"))) as server:
        judge = judge_for(server, tmp_path)
        assert judge.judge_many([("q", "a", "b")]) == [0.5]
        judge.close()
        entries = sorted((tmp_path / "judge-cache").rglob("*.json"))
        assert len(entries) == 2
        entries[0].write_bytes(entry)
        again = judge_for(server, tmp_path)
        assert again.judge_many([("q", "a", "b")]) == [0.5]  # a rerun: no crash, the entry asked again
        assert again.stats.cache_hits == 1 and again.stats.calls == 1
        assert f"judge cache entry {entries[0]} is corrupt" in capsys.readouterr().err
        assert b'"verdict": "A"' in entries[0].read_bytes()
        again.close()


def test_a_failure_for_good_cancels_the_batch_cleanly(tmp_path, caplog):
    """One request fails for good while the others wait on a slow server: one line, the rest cancelled, and no
    'Task exception was never retrieved' afterwards."""
    import gc
    import logging

    def mixed(body, n):
        if "FAIL" in body["messages"][1]["content"]:
            return 401, {"error": {"message": "bad key"}}
        time.sleep(2)
        return 200, completion("[[A]]")

    with caplog.at_level(logging.ERROR, logger="asyncio"):
        with OpenAIServer(mixed) as server:
            judge = judge_for(server, tmp_path, concurrency=8)
            with pytest.raises(UserError, match="HTTP 401"):
                judge.judge_many([("q", "FAIL", "b")] + [(f"q{i}", "a", "b") for i in range(6)])
            judge.close()
        gc.collect()
    assert not [r for r in caplog.records if "never retrieved" in r.getMessage()]

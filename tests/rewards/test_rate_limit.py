"""The judge's rpm / tpm limits: a token bucket that lends (hand-computed), both limits together on a simulated
clock, each process's share, and a real judge whose second request must wait for the limit."""

from __future__ import annotations

import asyncio

import pytest

from pipeline.config import JudgeParams
from pipeline.rewards.judge import LLMJudge
from pipeline.rewards.rate_limit import RateLimiter, TokenBucket

from ..openai_server import OpenAIServer, completion


def test_a_token_bucket_refills_up_to_its_capacity_and_lends_hand_computed():
    bucket = TokenBucket(rate=1.0, capacity=2.0, level=2.0, last=0.0)
    assert [bucket.take(1, 0.0), bucket.take(1, 0.0)] == [0.0, 0.0]  # the burst: two at once
    assert bucket.take(1, 0.0) == 1.0  # level −1: one second of refill owed
    assert bucket.take(1, 0.5) == 1.5  # refilled to −0.5, then −1.5
    assert bucket.take(0, 10.0) == 0.0 and bucket.level == 2.0  # ten idle seconds refill to the capacity only


def test_the_tighter_limit_decides_each_wait_on_a_simulated_clock():
    """60 requests / min (1 per s, 60 at once) and 600 tokens / min (10 per s, 600 at once): requests of 300
    tokens at t = 0 go at once twice, then the tokens limit owes 300 tokens: 30 s."""
    now, slept = [0.0], []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    limiter = RateLimiter(rpm=60, tpm=600, clock=lambda: now[0], sleep=sleep)
    for _ in range(3):
        asyncio.run(limiter.acquire(300))
    assert slept == [30.0]
    now[0] = 60.0  # a minute later: −300 + 600 refilled = 300 tokens
    assert limiter.reserve(300) == 0.0 and limiter.reserve(60) == pytest.approx(6.0)
    now[0] = 1000.0  # long idle: refilled to one minute's burst only (capacity 600)
    assert limiter.reserve(600) == 0.0 and limiter.reserve(10) == pytest.approx(1.0)
    assert RateLimiter(None, None).reserve(10**9) == 0.0  # no limits: never waits


def test_each_reward_worker_gets_its_share_of_the_runs_limits(tmp_path):
    params = JudgeParams(backend="llm", base_url="http://127.0.0.1:9", max_rpm=600, max_tpm=1e6,
                         cache_dir=str(tmp_path))
    assert LLMJudge(params, processes=8)._limits == (75.0, 125000.0)
    assert LLMJudge(params.model_copy(update={"max_rpm": None, "max_tpm": None}))._limits == (None, None)


def test_a_judge_at_its_request_limit_holds_the_next_request_back(tmp_path):
    """max_rpm 1: the first request goes at once (a minute's burst is one request), its other order's waits a
    minute; with a 1.5 s deadline that verdict is undefined and counted, and the server saw one request only."""
    seen = []
    with OpenAIServer(lambda body, n: (seen.append(n), (200, completion("[[A]]")))[1]) as server:
        params = JudgeParams(backend="llm", model="judge-test", base_url=server.base_url, api_key_env="NO_KEY_HERE",
                             cache_dir=str(tmp_path / "cache"), max_rpm=1, deadline_s=1.5)
        judge = LLMJudge(params)
        assert judge.judge_many([("q", "response", "reference")]) == [None]
        judge.close()
    assert len(seen) == 1 and judge.stats.timeouts == 1

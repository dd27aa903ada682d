"""LLM distractors against a real local OpenAI-compatible HTTP server started by the test."""

import json
import re

import pytest

from pipeline.data.curate import curate_task
from pipeline.data.distractors import parse_list, unique_distractors

from ..conftest import FIXTURES, data_params
from ..openai_server import OpenAIServer, completion


def scripted(body, n):
    if n == 1:
        return 500, {"error": {"message": "transient"}}  # the client retries with backoff
    user = body["messages"][-1]["content"]
    need = int(re.search(r"Write (\d+) different", user).group(1))
    answer = re.search(r"Correct answer:\n(.*?)\n", user).group(1)
    if need == 15:  # first attempt: a clash with the answer and near-duplicates leave 12 usable
        items = [answer, f"  {answer.upper()} "] + [f"W{i}" for i in range(1, 13)] + ["w1", "W1."]
    else:  # regeneration asks only for the missing ones
        items = ["W1", *[f"X{i}" for i in range(need)]]
    return 200, completion("Here you go:\n" + json.dumps(items))


def llm_params(server, tmp_path, **extra):
    distractors = {"mode": "llm", "model": "test-model", "base_url": server.base_url, "api_key_env": "NO_SUCH_KEY_VAR",
                   "cache_dir": str(tmp_path / "cache"), "concurrency": 4, **extra}
    return data_params("qa", source="supergpqa", path=str(FIXTURES / "supergpqa_original.jsonl"), n=4,
                       distractors=distractors)


def test_llm_distractors_regenerate_clashes_and_cache_every_call(tmp_path):
    with OpenAIServer(scripted) as server:
        splits, stats = curate_task(llm_params(server, tmp_path), "qa")
        first_calls = len(server.requests)
        kept = [r for rows in splits.values() for r in rows]
        assert len(kept) == 4
        for r in kept:
            options = r["meta"]["options"]
            assert len(options) == 16 and r["reference"] in options
            assert sorted(o for o in options if o != r["reference"]) == sorted(
                [f"W{i}" for i in range(1, 13)] + ["X0", "X1", "X2"])
        assert stats.extra["llm_calls"] == 8  # 4 questions x (first attempt + one regeneration)
        assert first_calls == 9  # plus the retried 500
        assert stats.extra["llm_usage"] == {"prompt_tokens": 80, "completion_tokens": 40}
        assert all(req["model"] == "test-model" and req["temperature"] == 0.7 for req in server.requests)

        again, stats2 = curate_task(llm_params(server, tmp_path), "qa")
        assert len(server.requests) == first_calls  # the rerun makes no call
        assert stats2.extra["llm_calls"] == 0 and stats2.extra["llm_cache_hits"] == 8
        assert again == splits


def test_llm_shortfall_after_max_attempts_drops_the_row(tmp_path):
    def stingy(body, n):
        return 200, completion(json.dumps(["only one", "only two"]))

    with OpenAIServer(stingy) as server:
        params = llm_params(server, tmp_path, max_attempts=2)
        with pytest.raises(Exception, match="distractor_shortfall': 4"):
            curate_task(params, "qa")
        assert len(server.requests) == 8


def test_parse_list_and_uniqueness_helpers():
    assert parse_list('Sure! ["a", "b", 3]\nthanks') == ["a", "b", "3"]
    assert parse_list("no list") == [] and parse_list("[broken") == []
    assert unique_distractors("The Moon", ["moon", "the  moon!", "Mars", "mars", "Venus"], 5) == ["Mars", "Venus"]

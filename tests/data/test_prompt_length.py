"""Prompts over the run's limit are dropped at curation with the run's tokenizer and chat template (as verl's
``filter_overlong_prompts`` would), counted in stats.json, and refused at the verl export."""

from __future__ import annotations

import pytest

from pipeline.config import parse_params
from pipeline.data.curate import curate_task
from pipeline.data.prompt_length import check_prompt_lengths, prompt_tokens, within_prompt_length
from pipeline.errors import UserError
from pipeline.models.tokenizer import build_tokenizer
from ..conftest import KINDS


@pytest.fixture(scope="module")
def tokenizer_dir(tmp_path_factory):
    raw = {"rewards": {"tasks": KINDS}, "tasks": ["qa"], "data": {"tasks": {"qa": {"source": "synthetic_qa", "n": 60, "facts": 10}}}}
    records = curate_task(parse_params(raw), "qa")[0]["train"]
    tokenizer = build_tokenizer([m["content"] for r in records for m in r["prompt"]] * 2, vocab_size=400)
    path = tmp_path_factory.mktemp("tok")
    tokenizer.save_pretrained(path)
    return path, tokenizer, raw


def test_curation_drops_prompts_over_the_limit_with_the_runs_tokenizer(tokenizer_dir):
    path, tokenizer, raw = tokenizer_dir
    full, _ = curate_task(parse_params(raw), "qa")
    lengths = sorted(prompt_tokens(tokenizer, r["prompt"]) for s in ("train", "val", "test") for r in full[s])
    limit = lengths[len(lengths) // 2]  # about half the prompts are longer
    over = sum(n > limit for n in lengths)
    assert 0 < over < len(lengths)
    raw = {**raw, "models": {"base": str(path)}}
    raw["data"]["tasks"]["qa"] = {**raw["data"]["tasks"]["qa"], "max_prompt_tokens": limit}
    splits, stats = curate_task(parse_params(raw), "qa")
    kept = [r for s in ("train", "val", "test") for r in splits[s]]
    assert len(kept) == len(lengths) - over and all(prompt_tokens(tokenizer, r["prompt"]) <= limit for r in kept)
    assert stats.dropped["too_long"] == over
    assert stats.extra["prompt_length_filter"] == {"tokenizer": str(path), "max_prompt_tokens": limit, "too_long": over}


def test_without_a_tokenizer_curation_says_it_did_not_filter(tokenizer_dir):
    _, _, raw = tokenizer_dir
    _, stats = curate_task(parse_params(raw), "qa")
    assert stats.extra["prompt_length_filter"].startswith("skipped")


def test_the_verl_export_refuses_a_prompt_verl_would_drop(tokenizer_dir):
    _, tokenizer, raw = tokenizer_dir
    records = curate_task(parse_params(raw), "qa")[0]["train"]
    longest = max(records, key=lambda r: prompt_tokens(tokenizer, r["prompt"]))
    limit = prompt_tokens(tokenizer, longest["prompt"]) - 1
    with pytest.raises(UserError, match=rf"single-qa: record {longest['id']} \(qa\) has a {limit + 1}-token prompt, "
                                        rf"over train.verl.max_prompt_length {limit}"):
        check_prompt_lengths(records, tokenizer, limit, "single-qa")
    check_prompt_lengths(records, tokenizer, limit + 1, "single-qa")
    assert longest not in within_prompt_length(records, tokenizer, limit)


def test_verl_backend_needs_curation_within_its_prompt_limit():
    raw = {"rewards": {"tasks": KINDS}, "tasks": ["qa"], "data": {"tasks": {"qa": {"source": "synthetic_qa", "max_prompt_tokens": 2048}}},
           "train": {"backend": "verl", "verl": {"max_prompt_length": 1024}}}
    with pytest.raises(Exception, match="max_prompt_tokens \\(2048\\) exceeds train.verl.max_prompt_length"):
        parse_params(raw)

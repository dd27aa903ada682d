"""RFT sampling over the whole GPU node its job requests: the engine count comes from the same derivation as the
job's request, each engine process sees its own GPUs, and a call's prompts are split and joined in order with
the seeds one engine would have used (CPU: transformers engines in place of vLLM's)."""

from __future__ import annotations

import pytest
import torch

from pipeline.config import EvalParams, load_params, parse_params
from pipeline.eval.engines import EnginePool, open_engines, rft_engines, shards
from pipeline.eval.generators import TransformersGenerator
from pipeline.workflow.resources import all_stage_resources

from ..conftest import REPO
from ..conftest import KINDS


def test_shards_are_contiguous_and_balanced():
    assert shards(10, 4) == [(0, 2), (2, 5), (5, 7), (7, 10)]
    assert shards(3, 8) == [(0, 1), (1, 2), (2, 3)] and shards(0, 8) == []


def test_the_rft_job_requests_exactly_the_gpus_its_engines_use():
    """configs/paper.yaml: the sft_rft job asks for one node of 8 GPUs (`stages --resources`), and RFT samples
    with 8 engines of eval.vllm.tensor_parallel_size = 1 GPU; at tensor_parallel_size 2, 4 engines of 2."""
    paper = load_params([REPO / "params.yaml", REPO / "configs" / "paper.yaml"])
    request = all_stage_resources(paper)["sft_rft"]
    engines, per_engine = rft_engines(paper)
    assert request["gres"] == "gpu:8" and (engines, per_engine) == (8, 1)
    two = paper.model_copy(update={"eval": paper.eval.model_copy(update={
        "vllm": paper.eval.vllm.model_copy(update={"tensor_parallel_size": 2})})})
    assert rft_engines(two) == (4, 2) and all_stage_resources(two)["sft_rft"]["gres"] == "gpu:8"
    assert rft_engines(load_params(REPO / "params.yaml")) == (1, 0)  # the embedded default: in-process, CPU


@pytest.fixture(scope="module")
def tiny_folder(tmp_path_factory):
    from pipeline.data.curate import curate_task
    from pipeline.models.tiny import build_tiny_model
    from pipeline.models.tokenizer import build_tokenizer

    params = parse_params({"rewards": {"tasks": KINDS}, "tasks": ["math"], "data": {"tasks": {"math": {"source": "synthetic_math", "n": 20}}}})
    records = curate_task(params, "math")[0]["train"]
    tokenizer = build_tokenizer([m["content"] for r in records for m in r["prompt"]] * 2, vocab_size=300)
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("engines") / "m"
    build_tiny_model(len(tokenizer), 32, 2, 2, 1, 64, 256, 0, tokenizer).save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path, [r["prompt"] for r in records[:5]]


def test_an_engine_pool_splits_a_call_and_joins_it_in_order_with_one_engines_seeds(tiny_folder):
    path, prompts = tiny_folder
    pool = EnginePool(path, EvalParams(), seed=0, engines=2, gpus_per_engine=2)
    try:
        assert pool.devices() == ["0,1", "2,3"]  # each engine's own GPUs, set before CUDA is imported
        out = pool.sample(prompts, 2, 6, 1.0, 1.0, 0, with_entropy=True, seed=7)
    finally:
        pool.close()
    single = TransformersGenerator.load(path, EvalParams(), 0)
    first = single.sample(prompts[:2], 2, 6, 1.0, 1.0, 0, with_entropy=True, seed=7)  # shard (0, 2)
    second = single.sample(prompts[2:], 2, 6, 1.0, 1.0, 0, with_entropy=True, seed=7 + 2 * 2)  # starts at 2: +2·n
    assert out.texts == first.texts + second.texts and len(out.texts) == 10
    assert out.entropy is not None and len(out.entropy) == 10


def test_the_stage_samples_in_process_when_one_engine_is_all_it_has(tiny_folder):
    path, _ = tiny_folder
    generator = open_engines(path, load_params(REPO / "params.yaml"), 0)
    assert isinstance(generator, TransformersGenerator)

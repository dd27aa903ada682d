"""The verl backend's own arithmetic and paths, which need no verl (the comparisons with verl's code are in the
other files of this folder and skip without it)."""

from __future__ import annotations

import pytest

from pipeline.config import GRPOParams
from pipeline.scale.verl_config import mini_batch_prompts

from ..conftest import REPO


def test_mini_batch_must_be_whole_prompts():
    assert mini_batch_prompts(GRPOParams(group_size=16, batch_size=1536, mini_batch_size=4096)) == 256
    assert mini_batch_prompts(GRPOParams(group_size=8, batch_size=8, mini_batch_size=640)) == 8  # capped at the batch
    with pytest.raises(ValueError, match="multiple of group_size"):
        mini_batch_prompts(GRPOParams(group_size=16, mini_batch_size=100))


def test_reward_workers_get_the_sandbox_interpreter_as_an_absolute_path(tmp_path):
    """configs/paper.yaml names .venv-bigcodebench/bin/python relative to the repository; Ray starts reward
    workers in another folder, so the params file they read carries it absolute (and nothing else changes)."""
    from pipeline.config import load_params
    from pipeline.scale.verl_run import worker_params

    paper = load_params([REPO / "params.yaml", REPO / "configs" / "paper.yaml"])
    assert paper.rewards.code.python == ".venv-bigcodebench/bin/python"
    workers = worker_params(paper, root=tmp_path)
    assert workers.rewards.code.python == str(tmp_path / ".venv-bigcodebench" / "bin" / "python")
    assert workers.model_dump(exclude={"rewards"}) == paper.model_dump(exclude={"rewards"})
    absolute = worker_params(workers, root=REPO)
    assert absolute.rewards.code.python == workers.rewards.code.python  # already absolute: kept

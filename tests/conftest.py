"""Shared test helpers."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
from pathlib import Path

import pytest

pytest.register_assert_rewrite("tests.smoke")  # its helpers' asserts explain their failures (and are counted)

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
BWRAP = shutil.which("bwrap") is not None
needs_verl = pytest.mark.skipif(importlib.util.find_spec("verl") is None,
                                reason="verl is not installed (the [dev] extra): only the comparisons with it skip")
NO_BWRAP_NOTE = ("bubblewrap is not installed: the sandbox's isolation tests are skipped and code rewards run with "
                 "rlimits only (install it: apt-get install bubblewrap)")


def pytest_configure(config: pytest.Config) -> None:
    if not BWRAP:  # the sandbox's loud fallback warning is expected here, not an error of the test it fires in
        config.addinivalue_line("filterwarnings", "ignore:bubblewrap is not available:RuntimeWarning")


def tier(config: pytest.Config) -> str:
    """Which tier this session runs, from its ``-m`` expression (tests/README.md)."""
    expression = " ".join(str(config.option.markexpr or "").split())
    return {"not slow": "the fast tier (tests not marked slow; `make test-slow` runs the slow tier)",
            "slow": "the slow tier (tests marked slow; `make test` runs the fast tier)",
            "": "both tiers"}.get(expression, f"the tests selected by -m {expression!r}")


def pytest_report_header(config: pytest.Config) -> list[str]:
    return [f"tier: {tier(config)}", *([] if BWRAP else [NO_BWRAP_NOTE])]


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    if not BWRAP:
        terminalreporter.write_line(f"NOTE: {NO_BWRAP_NOTE}", yellow=True)
    terminalreporter.write_line(f"ran {tier(config)}")


# OMNI_COUNT_ASSERTS=FILE: count every assert that passed, per test, into FILE (json) at the end of the session
# (pytest's assertion-pass hook; pyproject sets enable_assertion_pass_hook). How the tiers were compared.
ASSERTS: dict[str, int] = {}


def pytest_assertion_pass(item: pytest.Item, lineno: int, orig: str, expl: str) -> None:
    ASSERTS[item.nodeid] = ASSERTS.get(item.nodeid, 0) + 1


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    out = os.environ.get("OMNI_COUNT_ASSERTS")
    if out and not hasattr(session.config, "workerinput"):  # pytest-xdist: the workers' counts reach the main process
        path = Path(out)
        counts = json.loads(path.read_text())["tests"] if path.exists() else {}  # several sessions add up
        counts.update(ASSERTS)
        path.write_text(json.dumps({"total": sum(counts.values()), "tests": counts}, indent=1))


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error) -> None:
    """pytest-xdist: a worker's assert counts, sent back in its workeroutput, join the main process's."""
    ASSERTS.update(node.workeroutput.get("asserts", {}))


@pytest.hookimpl(trylast=True)
def pytest_sessionstart(session: pytest.Session) -> None:
    if hasattr(session.config, "workeroutput"):
        session.config.workeroutput["asserts"] = ASSERTS  # filled as the worker runs; sent when it finishes


@pytest.fixture(scope="session")
def smoke_dag(tmp_path_factory) -> Path:
    """The smoke profile's whole DAG, run once per test session by ``dvc repro`` in a git repository (a copy of
    the project): every slow test that reads a finished run uses it; one that changes it works on a copy
    (:func:`tests.smoke.copy_tree`)."""
    from .smoke import run_smoke_dag

    return run_smoke_dag(tmp_path_factory.mktemp("smoke-dag") / "repo")


@pytest.fixture
def repo() -> Path:
    return REPO


def write_accuracy_csv(path: Path, tasks: list[str], base: list[float], single: list[list[float]],
                       extra: str = "") -> Path:
    """Write a long-format accuracy table: single[i][j] = Acc(trained on j, evaluated on i)."""
    lines = ["trained_on,evaluated_on,accuracy"]
    for i, e in enumerate(tasks):
        lines.append(f"base,{e},{base[i]}")
        for j, t in enumerate(tasks):
            lines.append(f"{t},{e},{single[i][j]}")
    path.write_text("\n".join(lines) + "\n" + extra, encoding="utf-8")
    return path


FIXTURES = Path(__file__).resolve().parent / "fixtures"


@pytest.fixture(scope="session")
def tokenizer_dir(tmp_path_factory) -> Path:
    """A locally trained byte-level BPE tokenizer saved in HF format (no hub needed)."""
    from pipeline.models.tokenizer import build_tokenizer

    corpus = [line for f in FIXTURES.glob("*.jsonl") for line in f.read_text().splitlines()] * 3
    path = tmp_path_factory.mktemp("tokenizer")
    build_tokenizer(corpus, vocab_size=512).save_pretrained(path)
    return path


KINDS = {"math": {"kind": "math"}, "coding": {"kind": "code"}, "qa": {"kind": "qa"}, "writing": {"kind": "judge"},
         "qa_letter": {"kind": "mcq"}}
"""``rewards.tasks`` for the tests' tasks (params.yaml's kinds): a task's reward is always declared, never inferred
from its name."""


def data_params(task: str, **cfg):
    """Params with one task whose curation settings are ``cfg``.

    The fixtures hold malformed rows on purpose, so the invalid-row threshold defaults to 0.5 here.
    """
    from pipeline.config import parse_params

    cfg.setdefault("max_invalid_fraction", 0.5)
    return parse_params({"tasks": [task], "data": {"tasks": {task: cfg}},
                         "rewards": {"tasks": {task: {"kind": "qa"}}}})

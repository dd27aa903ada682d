"""Shared test helpers."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
BWRAP = shutil.which("bwrap") is not None
NO_BWRAP_NOTE = ("bubblewrap is not installed: the sandbox's isolation tests are skipped and code rewards run with "
                 "rlimits only (install it: apt-get install bubblewrap)")


def pytest_configure(config: pytest.Config) -> None:
    if not BWRAP:  # the sandbox's loud fallback warning is expected here, not an error of the test it fires in
        config.addinivalue_line("filterwarnings", "ignore:bubblewrap is not available:RuntimeWarning")


def pytest_report_header(config: pytest.Config) -> str | None:
    return None if BWRAP else NO_BWRAP_NOTE


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    if not BWRAP:
        terminalreporter.write_line(f"NOTE: {NO_BWRAP_NOTE}", yellow=True)


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


def data_params(task: str, **cfg):
    """Params with one task whose curation settings are ``cfg``.

    The fixtures hold malformed rows on purpose, so the invalid-row threshold defaults to 0.5 here.
    """
    from pipeline.config import parse_params

    cfg.setdefault("max_invalid_fraction", 0.5)
    return parse_params({"tasks": [task], "data": {"tasks": {task: cfg}},
                         "rewards": {"tasks": {task: {"kind": "qa"}}}})

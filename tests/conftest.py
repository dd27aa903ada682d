"""Shared test helpers."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"


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

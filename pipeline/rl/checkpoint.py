"""Resumable training checkpoints, replaced atomically: a kill at any moment leaves one complete checkpoint.

A checkpoint is a folder ``checkpoint-<step>/`` under the run's work folder. It is written whole beside
the previous one as ``checkpoint-<step>.tmp/``, its ``COMPLETE`` marker last; one ``rename`` then makes
it the current checkpoint, and only after that are older ones removed (marker first, so a half-deleted
folder is never taken for a complete one). At start-up :func:`latest_checkpoint` removes what an
interrupted write or deletion left and returns the newest complete checkpoint, also one that was
complete but not yet renamed.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path
from typing import Callable

MARKER = "COMPLETE"
_NAME = re.compile(r"^checkpoint-(\d+)(\.tmp)?$")


def _complete(folder: Path) -> bool:
    return (folder / MARKER).is_file()


def _discard(folder: Path) -> None:
    (folder / MARKER).unlink(missing_ok=True)  # first, so that a half-deleted folder is never complete
    shutil.rmtree(folder, ignore_errors=True)


def checkpoint_dir(root: Path, step: int) -> Path:
    return Path(root) / f"checkpoint-{step:08d}"


def save_checkpoint(root: Path, step: int, write: Callable[[Path], None]) -> Path:
    """Write a checkpoint of ``step`` with ``write(folder)`` and make it the current one; returns its folder."""
    final = checkpoint_dir(root, step)
    tmp = final.with_name(final.name + ".tmp")
    _discard(tmp)
    tmp.mkdir(parents=True)
    write(tmp)
    (tmp / MARKER).write_text(f"{step}\n", encoding="utf-8")
    if final.exists():
        _discard(final)  # the same step again (never in one run; kept correct for a rerun)
    os.rename(tmp, final)
    for old in _checkpoints(root):
        if old != final:
            _discard(old)
    return final


def _checkpoints(root: Path) -> list[Path]:
    return [p for p in Path(root).glob("checkpoint-*") if p.is_dir() and _NAME.match(p.name)]


def latest_checkpoint(root: Path) -> Path | None:
    """The newest complete checkpoint under ``root`` after recovering from an interrupted write (a complete
    ``.tmp`` is renamed into place; anything incomplete and any older checkpoint removed); None when there
    is none."""
    for folder in _checkpoints(root):
        if not _complete(folder):
            _discard(folder)
        elif folder.name.endswith(".tmp"):
            final = folder.with_name(folder.name[: -len(".tmp")])
            if _complete(final):
                _discard(folder)
            else:
                shutil.rmtree(final, ignore_errors=True)
                os.rename(folder, final)
    complete = sorted(_checkpoints(root), key=lambda p: int(_NAME.match(p.name).group(1)))
    for older in complete[:-1]:  # a write killed before it removed the previous checkpoint
        _discard(older)
    return complete[-1] if complete else None


def discard_checkpoints(root: Path) -> None:
    for folder in _checkpoints(root):
        _discard(folder)

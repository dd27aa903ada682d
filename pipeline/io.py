"""Atomic output helpers: write to a temporary path, then rename.

A stage either leaves all of its outputs in place or none of them: files are
staged in a temporary folder beside the destination, which replaces the output
folder only after every one was written, so the folder then holds this run's
outputs and nothing of an earlier run. Files and folders get the permissions of
the user's umask (``mkstemp``/``mkdtemp`` alone would make them private, unreadable
to colleagues on a shared filesystem).
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any, Iterator

from .errors import UserError

PROJECT_MARKERS = (".git", "dvc.yaml", "Snakefile", "pyproject.toml")

MACHINE_DEPENDENT = ("timings.json", "timings.jsonl", ".snakemake_timestamp")
"""Files written beside outputs that depend on the machine or the tool, not on the inputs (wall-clock timings,
Snakemake's touch marker): .dvcignore leaves them out of every hash, and so must any digest of an output
folder (``tests/test_io.py`` keeps the two lists in step). Hidden ``.*.lock`` files are left out too."""


def is_machine_dependent(path: Path) -> bool:
    return path.name in MACHINE_DEPENDENT or (path.name.startswith(".") and path.name.endswith(".lock"))


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _public(path: Path, folder: bool = False) -> None:
    """The mode a plain ``open``/``mkdir`` would have given (0666/0777 less the umask)."""
    os.chmod(path, (0o777 if folder else 0o666) & ~_umask())


def _replaceable(out: Path) -> None:
    """Refuse to replace a folder that is plainly not a stage's output (a checkout, the home folder)."""
    resolved = out.resolve()
    if resolved in (Path.cwd().resolve(), Path.home().resolve(), Path("/")) or \
            any((resolved / marker).exists() for marker in PROJECT_MARKERS):
        raise UserError(f"{out}: refusing to replace this folder with a stage's outputs (it is the working "
                        "folder, the home folder or a project checkout); give a folder of its own as --out")


@contextlib.contextmanager
def staged_outputs(out_dir: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a staging folder; on success it replaces ``out_dir`` (two renames), so ``out_dir`` holds exactly
    what was staged.

    On an exception nothing is moved, the staging folder is removed and ``out_dir`` keeps whatever it held
    before.
    """
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise UserError(f"{out}: exists and is not a folder; --out names the folder this stage writes (the file is "
                        "left as it is)")
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.is_dir():
        _replaceable(out)
    stage = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))
    old = out.with_name(f".{out.name}.old-{os.getpid()}")
    try:
        yield stage
        _public(stage, folder=True)
        for path in stage.rglob("*"):
            _public(path, folder=path.is_dir())
        if out.exists():
            os.rename(out, old)
        os.rename(stage, out)
    finally:
        shutil.rmtree(stage, ignore_errors=True)
        shutil.rmtree(old, ignore_errors=True)


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` if the block succeeds."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.tmp-", dir=target.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        _public(Path(tmp))
        os.replace(tmp, target)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


def write_text_atomic(path: str | os.PathLike[str], text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file in the same folder."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.tmp-", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        _public(Path(tmp))
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


@contextlib.contextmanager
def run_folder_lock(out: str | os.PathLike[str]) -> Iterator[Path]:
    """Hold an exclusive lock on the run folder ``out`` (``.<name>.lock`` beside it, .dvcignore'd) for the
    block: a second run on the same folder stops at once with one line saying who holds it, instead of both
    writing one log. The kernel releases the lock when its holder dies, so a killed run never blocks a rerun."""
    import fcntl
    import socket
    import time

    target = Path(out)
    target.parent.mkdir(parents=True, exist_ok=True)
    lock = target.with_name(f".{target.name}.lock")
    fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o666 & ~_umask())
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 4096, 0).decode("utf-8", "replace").strip() or "another process"
            raise UserError(f"{target}: in use by {holder}; wait for that run to end, or give another --out") \
                from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()} on {socket.gethostname()} since {time.strftime('%Y-%m-%d %H:%M:%S')}"
                      .encode(), 0)
        yield lock
    finally:
        os.close(fd)


def read_json(path: str | os.PathLike[str], what: str = "JSON file") -> Any:
    """A JSON file, or a one-line :class:`UserError` naming it (missing, a folder, unreadable, not JSON)."""
    p = Path(path)
    try:
        return json.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UserError(f"{p}: file not found") from None
    except IsADirectoryError:
        raise UserError(f"{p}: is a folder, expected a {what}") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UserError(f"{p}: not a valid {what} ({str(exc).splitlines()[0]})") from None


def write_json_atomic(path: str | os.PathLike[str], obj: Any) -> None:
    """Write ``obj`` as indented JSON, atomically."""
    write_text_atomic(path, json.dumps(obj, indent=2, sort_keys=False) + "\n")


def csv_text(rows: list[dict[str, Any]], columns: list[str]) -> str:
    """``rows`` as CSV text with these ``columns`` (other keys left out), ``\n`` line ends."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buf.getvalue()


WORK_KEY = "work_key.json"
"""The fingerprint of the run whose resumable work a folder holds (:func:`keyed_work_folder`)."""


def keyed_work_folder(folder: str | os.PathLike[str], fingerprint: str, what: str) -> bool:
    """Make ``folder`` hold only the resumable work (checkpoints, sampled batches) of the run ``fingerprint``
    names: work of another run (another fingerprint, or none: written before fingerprints) is removed, so that
    run starts afresh instead of resuming with other settings or inputs; this run's is kept. True when work of
    this very run was there (resume it)."""
    folder = Path(folder)
    marker = folder / WORK_KEY
    if folder.is_dir() and any(folder.iterdir()):
        try:
            old = json.loads(marker.read_text(encoding="utf-8")).get("fingerprint") if marker.exists() else None
        except (OSError, ValueError, AttributeError):
            old = None
        if old == fingerprint:
            return True
        print(f"{what}: {folder} holds work of other settings or inputs; starting afresh", flush=True)
        shutil.rmtree(folder)
    folder.mkdir(parents=True, exist_ok=True)
    write_json_atomic(marker, {"fingerprint": fingerprint})
    return False


def folder_identity(path: str | os.PathLike[str]) -> list[Any]:
    """A cheap identity of a model folder for work keys: each file's name, size and modification time (a copied
    or rewritten model counts as another one); a hub id as itself."""
    path = Path(path)
    if not path.is_dir():
        return [str(path)]
    return sorted((str(f.relative_to(path)), f.stat().st_size, f.stat().st_mtime_ns)
                  for f in path.rglob("*") if f.is_file() and not is_machine_dependent(f))

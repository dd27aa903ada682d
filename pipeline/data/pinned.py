"""Files fetched from fixed addresses and pinned by their SHA-256, for datasets that no hub carries whole
(MT-Bench: FastChat's questions are in its repository, GPT-4's answers on a Hugging Face space).

:func:`fetch_pinned` puts each file under a folder, once: a file already there with the pinned hash is kept;
otherwise each address is tried in turn, the download goes to a temporary file beside the target, and only a
file whose hash matches is renamed into place. A download that fails or does not match moves on to the next
address; when none gives the pinned file the error names each address and what went wrong. A file already
there with another hash is never overwritten (it may be someone's edit): the error says to delete it.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from ..errors import UserError
from ..progress import progress

CHUNK = 1 << 16


@dataclass(frozen=True)
class PinnedFile:
    path: str                   # where it goes, relative to the folder
    sha256: str
    urls: tuple[str, ...]       # tried in order


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


def _download(url: str, folder: Path, timeout_s: float) -> tuple[Path, str]:
    """Download ``url`` into a temporary file in ``folder``: its path and SHA-256. Raises OSError (or
    ValueError for a malformed address), leaving nothing behind."""
    fd, tmp = tempfile.mkstemp(prefix=".download.", suffix=".part", dir=folder)
    try:
        digest = hashlib.sha256()
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=timeout_s) as response:
            for block in iter(lambda: response.read(CHUNK), b""):
                out.write(block)
                digest.update(block)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return Path(tmp), digest.hexdigest()


def fetch_pinned(files: tuple[PinnedFile, ...], folder: str | os.PathLike[str], what: str,
                 timeout_s: float = 60.0) -> Path:
    """``folder`` holding every file of ``files`` with its pinned hash (downloaded where missing)."""
    root = Path(folder).expanduser()
    for pinned in progress(files, f"{what}: pinned files", unit="file"):
        target = root / pinned.path
        if target.exists():
            found = sha256_of(target)
            if found != pinned.sha256:
                raise UserError(f"{target}: sha256 {found[:12]}… is not the pinned {pinned.sha256[:12]}… of {what}; "
                                "delete it to fetch the pinned file again")
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        tried = []
        for url in pinned.urls:
            try:
                part, found = _download(url, target.parent, timeout_s)
            except urllib.error.HTTPError as exc:
                tried.append(f"{url}: HTTP {exc.code} {exc.reason}")
                continue
            except (OSError, ValueError) as exc:
                tried.append(f"{url}: {getattr(exc, 'reason', None) or exc}")
                continue
            if found != pinned.sha256:
                part.unlink()
                tried.append(f"{url}: sha256 {found[:12]}… is not the pinned {pinned.sha256[:12]}…")
                continue
            os.replace(part, target)
            break
        else:
            raise UserError(f"{what}: could not fetch {pinned.path} ({'; '.join(tried)})")
    return root

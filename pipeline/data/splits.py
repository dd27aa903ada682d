"""Stable train / val / test assignment by seeded hashing of the record id.

A record's split depends only on ``(seed, id)``, never on the other rows, so adding rows
never moves existing ones, and duplicates (same id) always land in the same split.
"""

from __future__ import annotations

import hashlib


def unit_hash(key: str, seed: int) -> float:
    """A uniform number in [0, 1) from ``sha256(f"{seed}:{key}")``."""
    digest = hashlib.sha256(f"{seed}:{key}".encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") / 2.0**64


def split_of(record_id: str, seed: int, val_fraction: float, test_fraction: float) -> str:
    """``val`` for the first ``val_fraction`` of the hash range, then ``test``, else ``train``."""
    if val_fraction < 0 or test_fraction < 0 or val_fraction + test_fraction >= 1:
        raise ValueError(f"need val, test >= 0 and val + test < 1, got {val_fraction}, {test_fraction}")
    u = unit_hash(record_id, seed)
    if u < val_fraction:
        return "val"
    if u < val_fraction + test_fraction:
        return "test"
    return "train"


def content_id(prefix: str, *parts: str) -> str:
    """A content-addressed id ``prefix-<12 hex>``: identical content gives the identical id."""
    digest = hashlib.sha1("\x1f".join(parts).encode("utf-8")).hexdigest()[:12]
    return f"{prefix}-{digest}"

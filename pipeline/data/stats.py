"""Drop accounting for curation, written as ``stats.json`` (a DVC metric).

Drops are *invalid* (malformed rows: missing fields, wrong types, empty, not UTF-8,
bad JSON) or *filtered* (rows that are well formed but excluded by a curation rule,
e.g. more than two dialogue turns). Each has its own configurable maximum fraction.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from ..errors import UserError

INVALID_PREFIXES = ("missing_", "wrong_type_", "empty_", "not_utf8", "bad_json", "not_an_object", "bad_")


def is_invalid(reason: str) -> bool:
    return reason.startswith(INVALID_PREFIXES)


@dataclass
class CurationStats:
    task: str
    source: str
    read: int = 0
    dropped: Counter[str] = field(default_factory=Counter)
    kept: Counter[str] = field(default_factory=Counter)
    subsampled_out: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    def drop(self, reason: str) -> None:
        self.dropped[reason] += 1

    @property
    def invalid(self) -> int:
        return sum(n for r, n in self.dropped.items() if is_invalid(r))

    @property
    def filtered(self) -> int:
        return sum(n for r, n in self.dropped.items() if not is_invalid(r))

    def check(self, max_invalid_fraction: float, max_filtered_fraction: float, where: str) -> None:
        """Fail loudly when too much was dropped or nothing is left."""
        if self.read and self.invalid / self.read > max_invalid_fraction:
            raise UserError(f"{where}: {self.invalid}/{self.read} rows invalid ({self.invalid / self.read:.1%} > "
                            f"max_invalid_fraction {max_invalid_fraction:g}); reasons: {self._reasons(True)}")
        if self.read and self.filtered / self.read > max_filtered_fraction:
            raise UserError(f"{where}: {self.filtered}/{self.read} rows filtered out "
                            f"({self.filtered / self.read:.1%} > max_filtered_fraction {max_filtered_fraction:g}); "
                            f"reasons: {self._reasons(False)}")
        if sum(self.kept.values()) == 0:
            raise UserError(f"{where}: curation left no rows (read {self.read}; dropped {dict(self.dropped)})")

    def _reasons(self, invalid: bool) -> str:
        items = sorted(((r, n) for r, n in self.dropped.items() if is_invalid(r) == invalid), key=lambda x: -x[1])
        return ", ".join(f"{r}={n}" for r, n in items)

    def to_dict(self) -> dict[str, Any]:
        total_kept = sum(self.kept.values())
        return {
            "task": self.task, "source": self.source, "read": self.read,
            "kept": total_kept, "kept_per_split": dict(sorted(self.kept.items())),
            "dropped": sum(self.dropped.values()), "dropped_invalid": self.invalid, "dropped_filtered": self.filtered,
            "dropped_by_reason": dict(sorted(self.dropped.items())),
            "subsampled_out": self.subsampled_out,
            "drop_fraction": (sum(self.dropped.values()) / self.read) if self.read else 0.0,
            **self.extra,
        }

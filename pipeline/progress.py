"""Progress bars for long steps: live on a terminal, a line every ``log_interval_s`` in log files."""

from __future__ import annotations

import sys
from typing import Any

from tqdm import tqdm


def progress(*args: Any, log_interval_s: float = 15.0, **kwargs: Any) -> tqdm:
    """``tqdm`` that also reports into non-interactive logs (DVC / Snakemake / Slurm), less often."""
    interactive = sys.stderr.isatty()
    kwargs.setdefault("mininterval", 0.1 if interactive else log_interval_s)
    kwargs.setdefault("file", sys.stderr)
    kwargs.setdefault("dynamic_ncols", interactive)
    return tqdm(*args, **kwargs)

"""Argument parsing shared by several commands (commands never import each other)."""

from __future__ import annotations

from pathlib import Path

from ..errors import UserError


def parse_models(specs: list[str]) -> dict[str, str]:
    """``--model NAME=DIR`` arguments → {name: folder}; a malformed spec or a missing folder is a one-line error."""
    models = {}
    for spec in specs:
        name, sep, path = spec.partition("=")
        if not sep or not name or not path:
            raise UserError(f"--model {spec!r}: expected NAME=DIR")
        if not Path(path).is_dir():
            raise UserError(f"--model {name}: {path} is not a folder")
        models[name] = path
    return models


def add_params_argument(parser, required_default: bool = True) -> None:
    """``--params FILE [FILE ...]``: params.yaml, then the overlays merged on it in order (a profile in
    ``configs/`` holds only what differs), as ``snakemake --configfile`` does."""
    parser.add_argument("--params", nargs="+", metavar="FILE", default=["params.yaml"] if required_default else None,
                        help="parameters: params.yaml, then overlays merged on it in order, e.g. "
                             "`--params params.yaml configs/smoke.yaml` (default: params.yaml)")


def params_label(files: list[str] | str) -> str:
    """How error messages name the parameters: the files, joined with +."""
    return files if isinstance(files, str) else " + ".join(files)

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

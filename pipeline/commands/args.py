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


def add_seed_argument(parser) -> None:
    """``--seed S``: the replica this stage runs (one of params ``seeds``); its training and evaluation are seeded
    by S instead of ``seed`` (docs/seeds.md). Without it, ``seed``."""
    parser.add_argument("--seed", type=int, default=None, metavar="S",
                        help="the replica to run: one of params `seeds`, seeding this stage instead of `seed`")


def load_stage_params(args):
    """The validated params of ``--params``, as replica ``--seed`` reads them (:meth:`Params.replica`). A stage
    checks the registered names it uses where it looks them up (so that its code dependencies stay its own); the
    workflow and the params, stages and preflight commands check them all on load (:func:`load_checked_params`)."""
    from ..config import load_params

    return load_params(args.params).replica(getattr(args, "seed", None))


def expand_seeds(paths: list[str], seeds: list[int]) -> list[str]:
    """Every path with ``{seeds}`` in it becomes one path per seed (in ``seeds``' order); the others stay."""
    return [p.replace("{seeds}", str(s)) for p in paths for s in (seeds if "{seeds}" in p else [None])]

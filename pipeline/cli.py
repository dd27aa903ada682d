"""The single command-line interface: ``python -m pipeline <command>`` (or ``omni-thinker``).

Each stage and tool is one subcommand, registered with :func:`command` in a
module of :mod:`pipeline.commands`. User errors print one line and exit 2.
"""

from __future__ import annotations

import argparse
import errno
import importlib
import sys
from dataclasses import dataclass
from typing import Callable, Sequence

from . import __version__
from .errors import EXIT_USER_ERROR, UserError
from .lifeline import watch_workflow_tool

COMMAND_MODULES: dict[str, str] = {
    "curate": "curate", "base-model": "base_model", "train": "train", "train-pairs": "train_pairs",
    "evaluate": "evaluate", "order": "order", "sft-rft": "sft_rft", "merge-ties": "merge_ties",
    "validate-predictions": "validate", "benchmark": "benchmark", "ablate-temperature": "ablate_temperature",
    "ablate-format": "ablate_format", "report": "report", "score": "score", "export-verl": "export_verl",
    "ray-run": "ray_run", "params": "params", "stages": "stages", "preflight": "preflight"}
"""Each subcommand's module of :mod:`pipeline.commands`, in ``--help`` order. A stage's process imports only its
own command's module (and what that imports): the others' libraries (scipy, matplotlib, ...) would add seconds
to every stage's start."""


@dataclass(frozen=True)
class Command:
    name: str
    help: str
    add_arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]


COMMANDS: dict[str, Command] = {}


Run = Callable[[argparse.Namespace], int]


def command(name: str, help: str) -> Callable[[Run], Run]:
    """Register ``run(args) -> exit code`` as subcommand ``name``.

    The module must define ``add_arguments(parser)`` before the decorated function.
    """

    def decorate(run: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
        module = sys.modules[run.__module__]
        COMMANDS[name] = Command(name, help, module.add_arguments, run)
        return run

    return decorate


class _Parser(argparse.ArgumentParser):
    """argparse with exit code 2 and a one-line message (argparse already uses 2)."""


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The parser of every command, or of command ``only`` alone when that names one (what ``main`` builds to run
    it: the other commands' modules stay unimported)."""
    names = [only] if only in COMMAND_MODULES else list(COMMAND_MODULES)
    for name in names:
        importlib.import_module(f"pipeline.commands.{COMMAND_MODULES[name]}")
    parser = _Parser(prog="python -m pipeline", description="omni-thinker: multi-task RL post-training pipeline.")
    parser.add_argument("--version", action="version", version=f"omni-thinker {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="<command>", required=True)
    for cmd in (COMMANDS[name] for name in names):
        p = sub.add_parser(cmd.name, help=cmd.help, description=cmd.help)
        cmd.add_arguments(p)
        p.set_defaults(_run=cmd.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    if argv is None:  # this process's own command line: a stage started by DVC or Snakemake ends when they die
        watch_workflow_tool()
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(argv[0] if argv else None)
    args = parser.parse_args(argv)
    try:
        return int(args._run(args) or 0)
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USER_ERROR
    except OSError as exc:  # a full disk, a folder where a file was expected, no permission: one line naming it
        what = exc.strerror or str(exc).splitlines()[0]
        print(f"error: {exc.filename + ': ' if exc.filename else ''}{what}"
              + (" (free some space and rerun; outputs are written atomically, nothing half-written is kept)"
                 if exc.errno == errno.ENOSPC else ""), file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

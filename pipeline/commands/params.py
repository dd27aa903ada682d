"""``params``: validate params.yaml (and overlays) and print the resolved configuration or the reference."""

from __future__ import annotations

import argparse

from ..catalog import load_checked_params
from ..cli import command
from ..config import dump_params, explain, read_params_files
from .args import add_params_argument


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_params_argument(parser)
    parser.add_argument("--explain", action="store_true",
                        help="list every key with its default and meaning, per-task keys for the tasks of "
                             "--params, and the value --params sets where it differs from the default")
    parser.add_argument("--reference", action="store_true",
                        help="the parameter reference (docs/params.md) in Markdown: every key's type, model default, "
                             "the params file's value and meaning")
    parser.add_argument("--out", metavar="FILE",
                        help="write to FILE (atomically) instead of printing: the resolved configuration, a complete "
                             "params file (e.g. a profile resolved for DVC), or with --reference the reference")


@command("params", help="Validate params files (params.yaml, then overlays) and print the resolved configuration.")
def run(args: argparse.Namespace) -> int:
    from ..io import write_text_atomic

    params = load_checked_params(args.params)  # valid files, or a one-line error
    if args.explain:  # every key, per-task ones for the run's tasks, and where --params differs from the default
        print("\n".join(explain(values=params)))
        return 0
    if args.reference:
        from ..config_reference import reference_markdown

        text = reference_markdown(read_params_files(args.params))
    else:
        text = dump_params(params)
    if args.out:
        write_text_atomic(args.out, text)
    else:
        print(text, end="")
    return 0

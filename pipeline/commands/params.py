"""``params``: validate params.yaml and print the resolved configuration."""

from __future__ import annotations

import argparse
from pathlib import Path

import yaml

from ..cli import command
from ..config import DEFAULT_PARAMS, explain, load_params


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--params", default=str(DEFAULT_PARAMS), help="parameters file (default: params.yaml)")
    parser.add_argument("--explain", action="store_true", help="list every key with its default and meaning")
    parser.add_argument("--reference", action="store_true",
                        help="the parameter reference (docs/params.md) in Markdown: every key's type, model default, "
                             "the params file's value and meaning")
    parser.add_argument("--out", metavar="FILE", help="with --reference: write it to FILE (atomically)")


@command("params", help="Validate a params file and print the resolved configuration.")
def run(args: argparse.Namespace) -> int:
    if args.explain:
        print("\n".join(explain()))
        return 0
    if args.reference:
        from ..config import load_yaml
        from ..config_reference import reference_markdown
        from ..io import write_text_atomic

        load_params(args.params)  # a valid file, or a one-line error
        text = reference_markdown(load_yaml(Path(args.params).read_text(encoding="utf-8")))
        if args.out:
            write_text_atomic(args.out, text)
        else:
            print(text, end="")
        return 0
    params = load_params(args.params)
    print(yaml.safe_dump(params.model_dump(mode="json"), sort_keys=False).rstrip())
    return 0

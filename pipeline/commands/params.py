"""``params``: validate params.yaml and print the resolved configuration."""

from __future__ import annotations

import argparse

import yaml

from ..cli import command
from ..config import DEFAULT_PARAMS, explain, load_params


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--params", default=str(DEFAULT_PARAMS), help="parameters file (default: params.yaml)")
    parser.add_argument("--explain", action="store_true", help="list every key with its default and meaning")


@command("params", help="Validate a params file and print the resolved configuration.")
def run(args: argparse.Namespace) -> int:
    if args.explain:
        print("\n".join(explain()))
        return 0
    params = load_params(args.params)
    print(yaml.safe_dump(params.model_dump(mode="json"), sort_keys=False).rstrip())
    return 0

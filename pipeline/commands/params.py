"""``params``: validate params.yaml (and overlays) and print the resolved configuration or the reference."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..catalog import load_checked_params
from ..cli import command
from ..config import dump_params, explain, read_params_file, read_params_files, set_param_overrides
from .args import add_params_argument


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_params_argument(parser)
    parser.add_argument("--explain", action="store_true",
                        help="list every key with its default and meaning, per-task keys for the tasks of "
                             "--params, and the value --params sets where it differs from the default")
    parser.add_argument("--reference", action="store_true",
                        help="the parameter reference (docs/params.md) in Markdown: every key's type, model default, "
                             "the params file's value and meaning")
    parser.add_argument("--exp-run", nargs=argparse.REMAINDER, metavar="DVC_ARGS",
                        help="run the overlays after params.yaml as a DVC experiment, leaving params.yaml as it is: "
                             "`dvc exp run --temp` with every key the overlays set as `-S ++key=value` (validated "
                             "first), then DVC_ARGS (e.g. `--name smoke`); last on the line")
    parser.add_argument("--out", metavar="FILE",
                        help="write to FILE (atomically) instead of printing: the resolved configuration, a complete "
                             "params file (e.g. a profile resolved for DVC), or with --reference the reference")


@command("params", help="Validate params files (params.yaml, then overlays) and print the resolved configuration.")
def run(args: argparse.Namespace) -> int:
    from ..io import write_text_atomic

    params = load_checked_params(args.params)  # valid files, or a one-line error
    if args.exp_run is not None:
        return _exp_run(args.params, args.exp_run)
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


def _exp_run(files: list[str], dvc_args: list[str]) -> int:
    """``dvc exp run --temp`` of params.yaml with the overlays (``files[1:]``) set on it key by key: the
    experiment runs in a temporary copy of the workspace and is recorded with its parameters, and the
    repository's params.yaml is never written (neither on success nor when the run fails)."""
    import shlex
    import shutil
    import subprocess
    import sys

    from ..errors import UserError

    if files[0] != "params.yaml" or len(files) < 2:
        raise UserError("--exp-run: give --params params.yaml and the overlays to run, e.g. "
                        "`--params params.yaml configs/smoke.yaml --exp-run` (DVC's stages read params.yaml)")
    base, overlay = read_params_file(files[0]), read_params_files(files[1:])
    dvc = shutil.which("dvc") or shutil.which("dvc", path=str(Path(sys.executable).parent))
    if dvc is None:
        raise UserError("--exp-run: dvc is not installed (pip install -e '.[workflow]')")
    cmd = [dvc, "exp", "run", "--temp", *(a for key in set_param_overrides(base, overlay) for a in ("-S", key)),
           *dvc_args]
    print("$ " + shlex.join(["dvc", *cmd[1:]]), flush=True)
    return subprocess.run(cmd).returncode

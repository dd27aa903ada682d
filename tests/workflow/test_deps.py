"""Code dependencies are the import closure of a stage's command module, computed from the source."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from pipeline.workflow.deps import collapse, find_cycle, import_closure, import_graph
from pipeline.workflow.render import stage_code
from pipeline.workflow.stages import STAGES, stage


def _package(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return root


def test_closure_follows_lazy_relative_and_by_name_imports(tmp_path):
    root = _package(tmp_path, {
        "pipeline/__init__.py": "",
        "pipeline/commands/__init__.py": "",
        "pipeline/commands/go.py": "from ..a import helper\n\ndef run():\n    from ..b.lazy import x\n",
        "pipeline/a.py": "PLUGIN = 'pipeline.plug.impl'\nimport json\n",
        "pipeline/b/__init__.py": "",
        "pipeline/b/lazy.py": "from . import sib\n",
        "pipeline/b/sib.py": "",
        "pipeline/b/unused.py": "",
        "pipeline/plug/__init__.py": "",
        "pipeline/plug/impl.py": "",
        "pipeline/c.py": "",
    })
    got = {str(p) for p in import_closure(["pipeline.commands.go"], root)}
    assert got == {"pipeline/__init__.py", "pipeline/commands/__init__.py", "pipeline/commands/go.py",
                   "pipeline/a.py", "pipeline/b/__init__.py", "pipeline/b/lazy.py", "pipeline/b/sib.py",
                   "pipeline/plug/__init__.py", "pipeline/plug/impl.py"}
    # A whole sub-package is written as its folder; a partly used one file by file.
    assert collapse([Path(p) for p in got], root) == [
        "pipeline/__init__.py", "pipeline/a.py", "pipeline/b/__init__.py", "pipeline/b/lazy.py", "pipeline/b/sib.py",
        "pipeline/commands", "pipeline/plug"]


def test_the_issue_24_misses_are_now_dependencies():
    """Editing the writing rubric or the prompt template reruns training and evaluation (they were not listed)."""
    for name in ("train_single", "train_joint", "train_curriculum", "evaluate_transfer", "evaluate_final"):
        code = stage_code(stage(name))
        assert "pipeline/data/prompts.py" in code and "pipeline/data/synthetic/writing.py" in code, name
    # verl loads the reward entry point from its file: training depends on it.
    assert "pipeline/rewards/verl_entry.py" in stage_code(stage("train_single"))
    # ...and a stage does not depend on code it never runs.
    assert not [p for p in stage_code(stage("order")) if p.startswith(("pipeline/rl/", "pipeline/models/"))]


def test_every_stage_module_is_the_command_it_runs():
    from pipeline.cli import COMMANDS, build_parser

    build_parser()
    for s in STAGES:
        assert COMMANDS[s.command].run.__module__ == f"pipeline.commands.{s.module}", s.name


def test_command_modules_name_the_commands_they_register():
    from pipeline.cli import COMMAND_MODULES, COMMANDS, build_parser

    build_parser()
    assert set(COMMANDS) == set(COMMAND_MODULES)  # registered in import order; --help lists COMMAND_MODULES
    for name, module in COMMAND_MODULES.items():
        assert COMMANDS[name].run.__module__ == f"pipeline.commands.{module}", name


def test_a_command_imports_only_its_own_module():
    """A stage's process pays for its own command's imports only (scipy and matplotlib stay out of `train`)."""
    code = ("import sys\nfrom pipeline.cli import main\ntry:\n    main(['train', '--help'])\nexcept SystemExit:\n    pass\n"
            "print(sorted(m for m in sys.modules if m.startswith('pipeline.commands.')))\n"
            "print('scipy' in sys.modules, 'matplotlib' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.splitlines()
    assert out[-2:] == ["['pipeline.commands.args', 'pipeline.commands.train']", "False False"], out[-2:]


def test_pipeline_has_no_import_cycle():
    assert find_cycle(import_graph()) is None


def test_find_cycle_reports_one():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None

"""The libraries a code benchmark's tasks import, checked in the sandbox before any model is evaluated.

BigCodeBench's tasks list the modules they use (``libs``: numpy, django, sklearn, tensorflow, ...). A task
whose library the sandbox's interpreter lacks fails for every model, which would pass for a weak model
rather than a broken setup (21 of its first 60 canonical solutions failed so in the pipeline's own
environment). So ``evaluate_benchmarks`` (and ``python -m pipeline preflight``) first imports each listed
module in the sandbox, under the same limits as the tasks, with the interpreter the tasks will run on
(``rewards.code.python``), and stops with one line naming those that fail.
"""

from __future__ import annotations

import ast
import json
from typing import Any, Iterable

from ...errors import UserError
from ...rewards.code import CodeScorer

ENV_HINT = ("build BigCodeBench's environment with `make bigcodebench-env` (configs/bigcodebench-requirements.txt) "
            "and set rewards.code.python: .venv-bigcodebench/bin/python")


def required_modules(records: Iterable[dict[str, Any]]) -> list[str]:
    """The top-level modules the records' tasks list in ``meta.libs`` (BigCodeBench's ``"['numpy', 're']"``),
    sorted; records without ``libs`` add none."""
    modules: set[str] = set()
    for rec in records:
        libs = rec.get("meta", {}).get("libs")
        if not libs:
            continue
        listed = ast.literal_eval(libs) if isinstance(libs, str) else libs
        modules.update(str(name).split(".")[0] for name in listed)
    return sorted(modules)


def import_program(module: str) -> str:
    """A response whose program imports ``module`` (and nothing else), for the code scorer."""
    return f"<answer>```python\nimport importlib\nimportlib.import_module({module!r})\n```</answer>"


# The check run after the import: it only has to reach its end (the import raised nothing).
IMPORT_CHECK = json.dumps({"functional": "pass"})


def missing_modules(scorer: CodeScorer, modules: list[str]) -> list[str]:
    """The modules that the sandbox's interpreter cannot import, each tried in its own program."""
    probe = CodeScorer(scorer.sandbox, scorer.workers)  # the scorer's own counts stay those of the tasks
    outcomes = probe.score_many([(import_program(m), IMPORT_CHECK) for m in modules])
    return [m for m, outcome in zip(modules, outcomes) if outcome.score != 1.0]


def check_libraries(scorer: CodeScorer, needed: dict[str, list[str]]) -> None:
    """One-line error when a benchmark's tasks need modules that the sandbox cannot import."""
    problems = []
    for benchmark, modules in needed.items():
        missing = missing_modules(scorer, modules) if modules else []
        if missing:
            problems.append(f"{benchmark} needs {len(missing)} of its {len(modules)} libraries that the sandbox "
                            f"cannot import ({', '.join(missing)})")
    if problems:
        python = scorer.sandbox.interpreter.path
        raise UserError(f"rewards.code.python ({python}): {'; '.join(problems)}: {ENV_HINT} "
                        "(or benchmarks.check_libraries: false to score those tasks 0)")

"""``dvc.yaml`` and the Snakemake rules, generated from the stage table (:mod:`.stages`).

Both carry the same commands, inputs, outputs and params keys; their code dependencies are each stage's import
closure (:mod:`.deps`). DVC reads the closure written into ``dvc.yaml`` (folders where a whole sub-package is in
it), so ``dvc.yaml`` is regenerated when an import changes (a test fails until it is); the Snakemake rules ask
:func:`stage_code` for it when the workflow is parsed, so they are never stale.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import yaml

from .deps import ROOT, collapse, import_closure
from .stages import PLOTS, STAGES, Stage

PARAMS_FILE = "params.yaml"
RESOLVED_PARAMS = ".snakemake/omni-thinker/params.yaml"
"""What Snakemake's stage commands read: the configuration the workflow was started with, written whole when
the workflow is parsed (a constant path, so the rules' text never changes with the profile)."""
GENERATED = {"dvc.yaml": "dvc", "workflow_rules/stages.smk": "smk", "README.md": "readme"}
"""Files written by ``python -m pipeline stages --write`` (repository-relative) → their renderer (the README:
only its stage table)."""
HEADER = ("Generated from pipeline/workflow/stages.py by `python -m pipeline stages --write`: edit the table, "
          "not this file.")
SNAKEMAKE_PRIORITY = 50  # the critical path first when several jobs are ready
THREADS_ALL = ("all_cores", "gpu_eval")  # on a CPU they take every core (eval.workers: one process per core)


def stage_code(stage: Stage, root: Path = ROOT) -> list[str]:
    """The Python files a stage runs: the import closure of its command module inside ``pipeline/``."""
    return [str(p) for p in import_closure([f"pipeline.commands.{stage.module}"], root)]


def _fan_in_folder(path: str) -> str:
    """DVC's dependency for a ``{tasks}`` pattern: the folder above the fan-out (``data/curated/{tasks}/x`` →
    ``data/curated``), which holds every task's outputs."""
    return path.split("/{tasks}", 1)[0]


def _scalar(text: str) -> str:
    return text if yaml.safe_load(text) == text and not text.startswith(("{", "[")) else json.dumps(text)


def _dvc_path(path: str) -> str:
    return path.rstrip("/").replace("{task}", "${item}")


def dvc_stage(stage: Stage, root: Path = ROOT) -> list[str]:
    """One stage of ``dvc.yaml``, as lines (indented for a ``foreach`` stage's ``do:`` when per task)."""
    deps = list(dict.fromkeys(_fan_in_folder(p) if "{tasks}" in p else _dvc_path(p) for p in stage.inputs))
    body = [f"cmd: {_scalar(' '.join([*stage.cmd(), '--params', PARAMS_FILE]).replace('{task}', '${item}'))}",
            "deps:", *(f"  - {d}" for d in deps + collapse([Path(p) for p in stage_code(stage, root)], root))]
    if stage.params:
        body += ["params:", *(f"  - {k.replace('{task}', '${item}')}" for k in stage.params)]
    body += ["outs:", *(f"  - {_dvc_path(o)}" for o in stage.outputs)]
    if stage.metrics:
        body += ["metrics:", *(f"  - {_dvc_path(m)}" for m in stage.metrics)]  # cached: data/ is not in git
    lines = [f"  # {stage.name}{'@{task}' if stage.per_task else ''}: {stage.doc}", f"  {stage.name}:"]
    if stage.per_task:
        lines += ["    foreach: ${tasks}", "    do:"]
        return lines + [f"      {line}" for line in body]
    return lines + [f"    {line}" for line in body]


def render_dvc(tasks: list[str], root: Path = ROOT) -> str:
    """The whole ``dvc.yaml``."""
    lines = [f"# {HEADER}", "# The same stages as the Snakemake rules; `dvc dag` draws them.", "stages:"]
    for stage in STAGES:
        lines += dvc_stage(stage, root) + [""]
    plots = [json.loads(json.dumps(p).replace('"{tasks}"', json.dumps(tasks))) for p in PLOTS]
    lines.append(yaml.safe_dump({"plots": plots}, sort_keys=False, allow_unicode=True, width=120).rstrip())
    return "\n".join(lines) + "\n"


def _smk_path(path: str, output: bool = False) -> str:
    quoted = json.dumps(path.rstrip("/"))
    if "{tasks}" in path:
        return f"expand({quoted.replace('{tasks}', '{t}')}, t=TASKS)"
    return f"directory({quoted})" if output and path.endswith("/") else quoted


def _param_name(key: str) -> str:
    return re.sub(r"\W+", "_", key.replace("{task}", "task")).strip("_")


def smk_rule(stage: Stage) -> list[str]:
    """One Snakemake rule, as lines."""
    shell = " ".join([*stage.cmd(), "--params", RESOLVED_PARAMS]).replace("{task}", "{wildcards.task}")
    lines = [f"# {stage.name}{'@{task}' if stage.per_task else ''}: {stage.doc}", f"rule {stage.name}:", "    input:"]
    lines += [f"        {_smk_path(p)}," for p in stage.inputs]
    lines += [f'        code=stage_code("{stage.name}"),', "    output:"]
    lines += [f"        {_smk_path(p, output=True)}," for p in (*stage.outputs, *stage.metrics)]
    if stage.params:
        lines += ["    params:", *(f'        {_param_name(k)}=lambda wc: param("{k}", wc),' for k in stage.params)]
    if stage.resources in THREADS_ALL:
        lines.append("    threads: workflow.cores")
    if stage.resources != "local":
        lines.append(f'    resources: **slurm_resources("{stage.name}")')
    if stage.critical:
        lines.append(f"    priority: {SNAKEMAKE_PRIORITY}")
    log = f"data/logs/{stage.name}/{{task}}.log" if stage.per_task else f"data/logs/{stage.name}.log"
    lines += ["    log:", f"        {json.dumps(log)},", "    conda:", '        "../environment.yml"', "    shell:",
              f"        {json.dumps(shell + ' > {log} 2>&1')}"]
    return lines


def render_smk() -> str:
    """``workflow_rules/stages.smk``: every stage as a rule (helpers in ``common.smk``)."""
    local = ["all", *(s.name for s in STAGES if s.resources == "local")]
    lines = [f"# {HEADER}",
             "# Helpers (TASKS, param, stage_code, slurm_resources) and the resolved configuration: common.smk.", "",
             "localrules:", *(f"    {name}," for name in local), "", ""]
    for stage in STAGES:
        lines += smk_rule(stage) + ["", ""]
    return "\n".join(lines).rstrip() + "\n"


def write_resolved_params(params, source: str, root: Path = Path(".")) -> Path:
    """Write the validated configuration of the workflow (Snakemake's merged ``config``) to
    :data:`RESOLVED_PARAMS`, complete and atomically, with a comment naming its sources, for the stage commands
    to read; ``root``: the workflow's working directory."""
    from ..config import dump_params
    from ..io import write_text_atomic

    path = root / RESOLVED_PARAMS
    text = f"# The configuration this workflow was started with: {source}. Written by workflow_rules/common.smk.\n"
    write_text_atomic(path, text + dump_params(params))
    return path


def stage_table_markdown() -> str:
    """The README's stage table."""
    lines = ["| stage | command | outputs | what it does |", "|---|---|---|---|"]
    for s in STAGES:
        name = s.name + ("@{task}" if s.per_task else "")
        folders: dict[str, list[str]] = {}
        for out in (*s.outputs, *s.metrics):
            folder, _, leaf = out.rstrip("/").rpartition("/")
            folders.setdefault(folder, []).append(leaf + ("/" if out.endswith("/") else ""))
        outs = "; ".join(f"`{folder}/` {', '.join(leaves)}" for folder, leaves in folders.items())
        lines.append(f"| `{name}` | `{s.command}` | {outs} | {s.doc} |")
    return "\n".join(lines) + "\n"


README_MARKERS = ("<!-- stage table: generated by `make generate` -->\n", "<!-- end of stage table -->\n")


def render_readme(text: str) -> str:
    """``text`` (the README) with the stage table between its markers replaced by the current one."""
    start, end = README_MARKERS
    if start not in text or end not in text:
        raise ValueError("README.md has no stage-table markers")
    head, rest = text.split(start, 1)
    _, tail = rest.split(end, 1)
    return head + start + stage_table_markdown() + end + tail


def render(name: str, tasks: list[str], root: Path = ROOT) -> str:
    """The current text of generated file ``name`` (a key of :data:`GENERATED`)."""
    kind = GENERATED[name]
    if kind == "readme":
        return render_readme((root / name).read_text(encoding="utf-8"))
    return render_dvc(tasks, root) if kind == "dvc" else render_smk()


def stale(tasks: list[str], root: Path = ROOT) -> list[str]:
    """Generated files whose committed text differs from what the table renders."""
    return [name for name in GENERATED
            if not (root / name).is_file() or (root / name).read_text(encoding="utf-8") != render(name, tasks, root)]


__all__ = ["GENERATED", "RESOLVED_PARAMS", "render", "render_dvc", "render_smk", "stage_code", "stale"]

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
from .stages import PLOTS, STAGES, TRAIN_THREADS, Stage

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


FAN_IN = ("{tasks}", "{seeds}")


def _fan_in_folder(path: str) -> str:
    """DVC's dependency for a fan-in pattern (``{tasks}``, ``{seeds}``): the folder above the first fanned-out
    part (``data/curated/{tasks}/x`` → ``data/curated``, ``data/eval/final/seed{seeds}/x`` → ``data/eval/final``),
    which holds every task's or replica's outputs."""
    parts = path.split("/")
    first = next(i for i, part in enumerate(parts) if any(f in part for f in FAN_IN))
    return "/".join(parts[:first])


def _scalar(text: str) -> str:
    return text if yaml.safe_load(text) == text and not text.startswith(("{", "[")) else json.dumps(text)


def _dvc_vars(stage: Stage, text: str) -> str:
    """``{task}`` and ``{seed}`` of ``text`` as DVC's loop variables (``${item}``, or ``${item.task}`` and
    ``${item.seed}`` in a ``matrix``)."""
    both = stage.per_task and stage.per_seed
    for name, looped in (("task", stage.per_task), ("seed", stage.per_seed)):
        if looped:
            text = text.replace(f"{{{name}}}", f"${{item.{name}}}" if both else "${item}")
    return text


def dvc_label(stage: Stage) -> str:
    """How the docs name a stage's jobs: ``name``, ``name@{task}``, ``name@{seed}``, ``name@{seed}-{task}``."""
    loops = [f"{{{n}}}" for n, on in (("seed", stage.per_seed), ("task", stage.per_task)) if on]
    return stage.name + ("@" + "-".join(loops) if loops else "")


def dvc_stage(stage: Stage, root: Path = ROOT) -> list[str]:
    """One stage of ``dvc.yaml``, as lines (under ``foreach: … do:`` or beside ``matrix:`` when it loops)."""
    deps = list(dict.fromkeys(_dvc_vars(stage, _fan_in_folder(p) if any(f in p for f in FAN_IN) else p.rstrip("/"))
                              for p in stage.inputs))
    body = [f"cmd: {_scalar(_dvc_vars(stage, ' '.join([*stage.cmd(), '--params', PARAMS_FILE])))}",
            "deps:", *(f"  - {d}" for d in deps + collapse([Path(p) for p in stage_code(stage, root)], root))]
    if stage.params:
        body += ["params:", *(f"  - {_dvc_vars(stage, k)}" for k in stage.params)]
    body += ["outs:", *(f"  - {_dvc_vars(stage, o.rstrip('/'))}" for o in stage.outputs)]
    if stage.metrics:
        body += ["metrics:", *(f"  - {_dvc_vars(stage, m.rstrip('/'))}" for m in stage.metrics)]  # data/ not in git
    lines = [f"  # {dvc_label(stage)}: {stage.doc}", f"  {stage.name}:"]
    if stage.per_task and stage.per_seed:
        lines += ["    matrix:", "      seed: ${seeds}", "      task: ${tasks}"]
        return lines + [f"    {line}" for line in body]
    if stage.per_task or stage.per_seed:
        lines += [f"    foreach: ${{{'tasks' if stage.per_task else 'seeds'}}}", "    do:"]
        return lines + [f"      {line}" for line in body]
    return lines + [f"    {line}" for line in body]


def render_dvc(root: Path = ROOT) -> str:
    """The whole ``dvc.yaml``: the same for every params file (the tasks and seeds are DVC's ``${tasks}`` and
    ``${seeds}``, read from params.yaml), so a profile never makes it stale."""
    lines = [f"# {HEADER}", "# The same stages as the Snakemake rules; `dvc dag` draws them.", "stages:"]
    for stage in STAGES:
        lines += dvc_stage(stage, root) + [""]
    plots = [json.loads(json.dumps(p).replace('"{tasks}"', '"${tasks}"')) for p in PLOTS]
    lines.append(yaml.safe_dump({"plots": plots}, sort_keys=False, allow_unicode=True, width=120).rstrip())
    return "\n".join(lines) + "\n"


def _smk_path(path: str, output: bool = False) -> str:
    quoted = json.dumps(path.rstrip("/"))
    fans = {name: var for name, var in (("tasks", "TASKS"), ("seeds", "SEEDS")) if f"{{{name}}}" in path}
    if fans:
        for name in fans:
            quoted = quoted.replace(f"{{{name}}}", f"{{{name[0]}}}")
        loops = "".join(f", {name[0]}={var}" for name, var in fans.items())
        return f"expand({quoted}{loops}, allow_missing=True)"  # the job's own {task} / {seed} stay wildcards
    return f"directory({quoted})" if output and path.endswith("/") else quoted


def _param_name(key: str) -> str:
    return re.sub(r"\W+", "_", key.replace("{task}", "task")).strip("_")


def smk_rule(stage: Stage) -> list[str]:
    """One Snakemake rule, as lines."""
    shell = " ".join([*stage.cmd(), "--params", RESOLVED_PARAMS]).replace("{seeds}", "{{seeds}}")
    shell = shell.replace("{task}", "{wildcards.task}").replace("{seed}", "{wildcards.seed}")
    lines = [f"# {dvc_label(stage)}: {stage.doc}", f"rule {stage.name}:", "    input:"]
    lines += [f"        {_smk_path(p)}," for p in stage.inputs]
    lines += [f'        code=stage_code("{stage.name}"),', "    output:"]
    lines += [f"        {_smk_path(p, output=True)}," for p in (*stage.outputs, *stage.metrics)]
    if stage.params:
        lines += ["    params:", *(f'        {_param_name(k)}=lambda wc: param("{k}", wc),' for k in stage.params)]
    if TRAIN_THREADS in stage.params:  # torch's thread count is part of a training's arithmetic: fixed by params
        lines.append("    threads: TRAIN_THREADS")
    elif stage.resources in THREADS_ALL:
        lines.append("    threads: workflow.cores")
    if stage.resources != "local":
        lines.append(f'    resources: **slurm_resources("{stage.name}")')
    if stage.critical:
        lines.append(f"    priority: {SNAKEMAKE_PRIORITY}")
    log = "/".join(["data/logs", stage.name, *(["seed{seed}"] if stage.per_seed else []),
                    *(["{task}"] if stage.per_task else [])]) + ".log"
    lines += ["    log:", f"        {json.dumps(log)},", "    conda:", '        "../environment.yml"', "    shell:",
              f"        {json.dumps(shell + ' > {log} 2>&1')}"]
    return lines


def render_smk() -> str:
    """``workflow_rules/stages.smk``: every stage as a rule (helpers in ``common.smk``)."""
    local = ["all", *(s.name for s in STAGES if s.resources == "local")]
    lines = [f"# {HEADER}",
             "# Helpers (TASKS, SEEDS, param, stage_code, slurm_resources) and the resolved configuration: "
             "common.smk.", "",
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
        name = dvc_label(s)
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


def render(name: str, root: Path = ROOT) -> str:
    """The current text of generated file ``name`` (a key of :data:`GENERATED`)."""
    kind = GENERATED[name]
    if kind == "readme":
        return render_readme((root / name).read_text(encoding="utf-8"))
    return render_dvc(root) if kind == "dvc" else render_smk()


def stale(root: Path = ROOT) -> list[str]:
    """Generated files whose committed text differs from what the table renders."""
    return [name for name in GENERATED
            if not (root / name).is_file() or (root / name).read_text(encoding="utf-8") != render(name, root)]


__all__ = ["GENERATED", "RESOLVED_PARAMS", "render", "render_dvc", "render_smk", "stage_code", "stale"]

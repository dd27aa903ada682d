"""Names in params checked against the registries that define them, the only lists of those names.

``config`` is the bottom layer and knows no implementation, so a name (a task's data source, its reward kind,
the order method, the training and generation backends, a benchmark) is checked here, above the registries, by
the workflow (``workflow_rules/common.smk``) and the ``params``, ``stages`` and ``preflight`` commands as soon as
params are loaded: an unknown one is one line naming the files and the key and listing what is registered. A
DVC stage does not load this module (its code dependencies would then be every registry's); it checks the names
it looks up where it looks them up (:meth:`pipeline.registry.Registry.get_or_fail`), with the same one line.
"""

from __future__ import annotations

from pathlib import Path

from .config import Params
from .errors import UserError


def load_checked_params(paths) -> Params:
    """``paths`` read, merged and validated (:func:`~pipeline.config.load_params`), every registered name checked."""
    from .config import load_params

    files = [paths] if isinstance(paths, (str, Path)) else list(paths)
    return check_registered(load_params(files), " + ".join(str(f) for f in files))


def check_registered(params: Params, source: str = "") -> Params:
    """``params`` when every name it uses is registered; else a one-line error naming ``source`` (the files)
    and the key, and listing the registered names."""
    try:
        return _check(params)
    except UserError as exc:
        raise UserError(f"{source}: {exc}" if source else str(exc)) from None


def _check(params: Params) -> Params:
    from .data.curators import CURATORS
    from .data.synthetic import GENERATORS
    from .rewards.total import REWARD_KINDS

    sources = {**CURATORS, **GENERATORS}
    for task, data in params.data.tasks.items():
        if data.source not in sources:
            raise UserError(f"data.tasks.{task}.source: unknown source {data.source!r}; known: "
                            f"{', '.join(sorted(sources))}")
        if data.source.startswith("synthetic_") != (data.source in GENERATORS):
            raise UserError(f"data.tasks.{task}.source: {data.source!r}: synthetic generators, and only they, are "
                            "named synthetic_*")
    for task in params.tasks:
        kind = params.rewards.for_task(task).kind
        if kind not in REWARD_KINDS:
            raise UserError(REWARD_KINDS.unknown(kind, f"rewards.tasks.{task}.kind"))
    for key, value, known in _choices(params):
        if value not in known:
            raise UserError(f"{key}: unknown value {value!r}; known: {', '.join(sorted(known))}")
    return params


def _choices(params: Params) -> list[tuple[str, str, set[str]]]:
    """Other settings that name a registry entry: (key, value, the registered names)."""
    from .analysis.ordering import SOLVERS
    from .analysis.pairwise import PAIRWISE
    from .eval.benchmarks import BENCHMARKS
    from .eval.generators import GENERATORS as ENGINES
    from .rl.backends import BACKEND_MODULES

    return [("order.method", params.order.method, {*SOLVERS, PAIRWISE}),
            ("train.backend", params.train.backend, set(BACKEND_MODULES)),
            ("eval.backend", params.eval.backend, set(ENGINES)),
            *(("benchmarks.names", name, set(BENCHMARKS)) for name in params.benchmarks.names)]

"""Names in params checked against the registries that define them, the only lists of those names.

``config`` is the bottom layer and knows no implementation, so a name (a task's data source, its reward kind)
is checked here, above the registries, by every command and by the workflow as soon as params are loaded:
an unknown one is one line naming the key and listing what is registered.
"""

from __future__ import annotations

from .config import Params
from .errors import UserError


def check_registered(params: Params) -> Params:
    """``params`` when every data source and reward kind it names is registered; else a one-line error."""
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
    return params

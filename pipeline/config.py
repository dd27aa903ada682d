"""One validated configuration: ``params.yaml`` → typed, frozen pydantic models.

One model per ``params.yaml`` section (DVC's one-section-per-stage convention).
Unknown keys, wrong types and out-of-range values are rejected with a one-line
:class:`~pipeline.errors.UserError` naming the file and the dotted key; the CLI
turns it into exit code 2. Each field's ``description`` is its documentation
(``python -m pipeline params --explain`` prints them).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from .errors import UserError

DEFAULT_PARAMS = Path("params.yaml")


class Section(BaseModel):
    """Base of every params section: strict keys, immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)


class OrderParams(Section):
    """The ``order`` stage: BWT matrix, Algorithm 1 and the curriculum choice (Section 3)."""

    method: Literal["exact", "greedy", "forgettability", "heuristic"] = Field(
        "exact", description="Solver whose order is recommended in curriculum.json "
        "(exact LOP, Algorithm 2 greedy, forgettability ranking, or large-K heuristic).")
    split: Literal["val", "test"] = Field(
        "val", description="Which split's BWT matrix drives the order (the paper reports both).")
    floor: float | None = Field(
        1e-3, gt=0.0, le=1.0, description="Accuracies below this are raised to it before taking logs "
        "(with a warning). null makes a zero accuracy an error.")
    weights: dict[str, float] = Field(
        default_factory=dict, description="Task weights α of Eq. 10; unlisted tasks weigh 1.")
    exact_max_k: int = Field(
        20, ge=1, le=24, description="Largest K solved exactly by subset DP; above it the heuristic is used.")
    restarts: int = Field(20, ge=0, description="Random restarts of the large-K heuristic.")

    @field_validator("weights")
    @classmethod
    def _non_negative(cls, weights: dict[str, float]) -> dict[str, float]:
        for task, value in weights.items():
            if value < 0:
                raise ValueError(f"weight of '{task}' must be >= 0, got {value}")
        return weights


class Params(Section):
    """Top level of ``params.yaml``."""

    seed: int = Field(0, ge=0, description="Global seed; every stage derives its own from it.")
    tasks: list[str] = Field(
        default_factory=lambda: ["math", "coding", "qa", "writing"], min_length=1,
        description="Task names (K = len(tasks)); the DAG fans out over them.")
    order: OrderParams = Field(default_factory=OrderParams)

    @field_validator("tasks")
    @classmethod
    def _valid_tasks(cls, tasks: list[str]) -> list[str]:
        if len(set(tasks)) != len(tasks):
            raise ValueError(f"task names must be unique, got {tasks}")
        for task in tasks:
            if not task or task == "base" or ">" in task or task != task.strip():
                raise ValueError(f"invalid task name {task!r} ('base' is reserved; no '>' or surrounding spaces)")
        return tasks

    @model_validator(mode="after")
    def _weights_name_tasks(self) -> "Params":
        unknown = sorted(set(self.order.weights) - set(self.tasks))
        if unknown:
            raise ValueError(f"order.weights names unknown task(s) {unknown}; tasks are {self.tasks}")
        return self


def _format_error(source: str, exc: ValidationError) -> str:
    err = exc.errors()[0]
    key = ".".join(str(part) for part in err["loc"]) or "<root>"
    msg = err["msg"].removeprefix("Value error, ")
    if err["type"] == "extra_forbidden":
        msg = "unknown key"
    got = err.get("input")
    detail = "" if err["type"] in ("extra_forbidden", "missing") or isinstance(got, (dict, list)) else f" (got {got!r})"
    more = f" [+{exc.error_count() - 1} more]" if exc.error_count() > 1 else ""
    return f"{source}: {key}: {msg}{detail}{more}"


def parse_params(data: Any, source: str = "params") -> Params:
    """Validate an already-loaded mapping; errors name ``source`` and the dotted key."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise UserError(f"{source}: expected a mapping at the top level, got {type(data).__name__}")
    try:
        return Params.model_validate(data)
    except ValidationError as exc:
        raise UserError(_format_error(source, exc)) from None


def load_params(path: str | Path = DEFAULT_PARAMS) -> Params:
    """Read and validate ``params.yaml``."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UserError(f"{p}: file not found") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        raise UserError(f"{p}{where}: invalid YAML ({getattr(exc, 'problem', exc)})") from None
    return parse_params(data, source=str(p))


def explain(model: type[BaseModel] = Params, prefix: str = "") -> list[str]:
    """Lines ``key (type, default): description`` for every parameter, recursively."""
    lines: list[str] = []
    for name, info in model.model_fields.items():
        key = f"{prefix}{name}"
        ann = info.annotation
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            lines.append(f"{key}: {ann.__doc__.strip().splitlines()[0] if ann.__doc__ else ''}")
            lines.extend(explain(ann, prefix=f"{key}."))
            continue
        default = info.get_default(call_default_factory=True)
        lines.append(f"{key} (default {default!r}): {info.description or ''}")
    return lines

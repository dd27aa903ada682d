"""One small registry type for every "name → implementation" table (solvers, curators, generators, rewards).

A registry is the only list of its names: configuration checks a name against it (:meth:`Registry.get_or_fail`,
one line listing the known names), and a package of implementations registers every module it holds
(:func:`import_submodules`), so adding one is adding a module.
"""

from __future__ import annotations

import importlib
import pkgutil
from typing import Callable, Generic, TypeVar

from .errors import UserError

T = TypeVar("T")


class Registry(dict[str, T], Generic[T]):
    """A dict filled by the :meth:`register` decorator; registering a name twice is an error."""

    def __init__(self, kind: str) -> None:
        super().__init__()
        self.kind = kind

    def register(self, name: str) -> Callable[[T], T]:
        def decorate(obj: T) -> T:
            if name in self:
                raise ValueError(f"{self.kind} {name!r} is registered twice")
            self[name] = obj
            return obj

        return decorate

    def unknown(self, name: object, where: str = "") -> str:
        """The one-line message for a name that is not registered, listing those that are."""
        at = f"{where}: " if where else ""
        return f"{at}unknown {self.kind} {name!r}; known: {', '.join(sorted(self)) or '(none)'}"

    def get_or_fail(self, name: str, where: str = "") -> T:
        """The entry of ``name``; a one-line :class:`~pipeline.errors.UserError` (:meth:`unknown`) when there is
        none: where a stage looks a name up, a wrong one in params is an input error, not a traceback."""
        if name not in self:
            raise UserError(self.unknown(name, where))
        return self[name]


def import_submodules(package: str) -> list[str]:
    """Import every module of ``package`` (each registers what it defines); their names, sorted."""
    module = importlib.import_module(package)
    names = sorted(info.name for info in pkgutil.iter_modules(module.__path__) if not info.name.startswith("_"))
    for name in names:
        importlib.import_module(f"{package}.{name}")
    return names

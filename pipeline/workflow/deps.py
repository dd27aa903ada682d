"""A stage's code dependencies: the import closure of its command module inside ``pipeline/``.

Computed from the source with :mod:`ast`, never typed by hand, so a new import (also one inside a
function, as our lazy imports are) is a new dependency of every stage that reaches it. A module named by a
string constant (``"pipeline.scale.verl_run"``, the way registries load implementations lazily) counts as
imported too, and a package that calls ``import_submodules`` (:mod:`pipeline.registry`) imports each of its
modules. Importing ``pipeline.a.b`` runs ``pipeline/__init__.py`` and ``pipeline/a/__init__.py``, so
those are in the closure as well.
"""

from __future__ import annotations

import ast
from functools import lru_cache
from pathlib import Path

PACKAGE = "pipeline"
ROOT = Path(__file__).resolve().parents[2]
"""The repository root (the folder holding ``pipeline/``)."""


def module_path(name: str, root: Path = ROOT) -> Path | None:
    """The source file of module ``name`` (``pipeline.x.y``) under ``root``, or None."""
    parts = name.split(".")
    if parts[0] != PACKAGE:
        return None
    base = root.joinpath(*parts)
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def module_name(path: Path, root: Path = ROOT) -> str:
    rel = path.relative_to(root).with_suffix("")
    parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
    return ".".join(parts)


def _resolve(current: str, is_package: bool, level: int, module: str | None) -> str:
    """The absolute name of ``from <level dots><module> import ...`` written in module ``current``."""
    if level == 0:
        return module or ""
    base = current.split(".")
    base = base if is_package else base[:-1]
    base = base[: len(base) - (level - 1)]
    return ".".join(base + ([module] if module else []))


@lru_cache(maxsize=None)
def direct_imports(path: Path, root: Path = ROOT, by_name: bool = True) -> frozenset[str]:
    """Modules of ``pipeline`` that the file at ``path`` imports anywhere (with ``by_name``, also those it
    names as a string, to be imported on first use)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    current, is_package = module_name(path, root), path.name == "__init__.py"
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            target = _resolve(current, is_package, node.level, node.module)
            names.add(target)
            names.update(f"{target}.{alias.name}" for alias in node.names)  # `from . import x` of a submodule
        elif by_name and isinstance(node, ast.Constant) and isinstance(node.value, str) \
                and node.value.startswith(PACKAGE + "."):
            names.add(node.value)
        elif is_package and isinstance(node, ast.Call) and getattr(node.func, "id", None) == "import_submodules":
            names.update(f"{current}.{p.stem}" for p in path.parent.glob("*.py") if not p.name.startswith("_"))
    return frozenset(n for n in names if module_path(n, root) is not None)


def _with_parents(name: str) -> list[str]:
    parts = name.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts) + 1)]


def import_closure(modules: list[str], root: Path = ROOT) -> list[Path]:
    """Source files of ``modules`` and of everything they import inside ``pipeline/``, transitively (sorted,
    relative to ``root``)."""
    seen: set[str] = set()
    todo = [parent for name in modules for parent in _with_parents(name)]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        path = module_path(name, root)
        if path is None:
            raise ValueError(f"{name}: no such module under {root / PACKAGE}")
        seen.add(name)
        todo.extend(parent for dep in direct_imports(path, root) for parent in _with_parents(dep))
    return sorted(module_path(name, root).relative_to(root) for name in seen)  # type: ignore[union-attr]


def collapse(files: list[Path], root: Path = ROOT) -> list[str]:
    """``files`` with every sub-package of ``pipeline`` whose Python files are all listed written as its folder
    (how a DVC user reads code deps: ``pipeline/rewards`` rather than its eleven files)."""
    listed = {root / f for f in files}
    out: list[str] = []
    covered: set[Path] = set()
    for folder in sorted({p.parent for p in listed}, key=lambda p: len(p.parts)):
        if folder == root / PACKAGE or any(folder.is_relative_to(c) for c in covered):
            continue
        if set(folder.rglob("*.py")) <= listed:
            covered.add(folder)
            out.append(str(folder.relative_to(root)))
    out += [str(p.relative_to(root)) for p in sorted(listed) if not any(p.is_relative_to(c) for c in covered)]
    return sorted(out)


def import_graph(root: Path = ROOT) -> dict[str, set[str]]:
    """Every module of ``pipeline`` → the modules of ``pipeline`` it imports (any import statement; a module
    loaded by name on first use, as registries of plugins do, is not an edge)."""
    graph: dict[str, set[str]] = {}
    for path in sorted((root / PACKAGE).rglob("*.py")):
        name = module_name(path, root)
        graph[name] = set(direct_imports(path, root, by_name=False)) - {name}
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle of ``graph`` (``[a, b, …, a]``), or None."""
    state: dict[str, int] = {}  # 1: on the stack, 2: done
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None

"""The checking side of a ``functional`` check: the dataset's check code runs here, in a sandbox of its own (it is
downloaded text; never on the host, never beside the program it checks), and
reaches the program only through the parent, one call at a time (stdlib only; run as a script by
:class:`pipeline.rewards.code.Checker`, ``python -I -S -B _checker.py``).

The check code (code-r1's ``def check(candidate): assert candidate(...) == ...`` then
``check(Solution().method)``, or TACO's loops over ``_inputs``/``_outputs``) is executed with every top-level
function and class the program defined (its ``names``, reported from the sandbox) bound to a :class:`Remote`
proxy: calling one sends an operation to the program (through the parent, which relays it to the sandbox) and
returns the answer rebuilt from plain data (:func:`_harness.decode`). ``==`` and ``!=`` in the check are
rewritten to :func:`_harness.same` (plain-value equality, floats within 1e-9), and the check must run to its
last statement. The expected values and the comparison never leave this process, and nothing the program
returns can carry its own ``__eq__``.

Protocol with the parent: JSON lines. Parent → checker ``{"check": source, "names": {...}}``; checker → parent
an operation (``{"op": ...}``), answered by the parent with the program's answer line; …; checker → parent
``{"verdict": {"passed": 0|1, "error": str|null, "gone": str|null}}``.
"""

import ast
import builtins
import importlib.util
import json
import os
import sys


def _load_harness():
    """``_harness.py`` beside this file, loaded by path (its folder is not put on ``sys.path``: it holds modules
    named like the standard library's, ``math`` among them)."""
    spec = importlib.util.spec_from_file_location("_harness", os.path.join(os.path.dirname(__file__), "_harness.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


if __package__:  # imported by the scorer (which locates this file through it)
    from ._harness import decode, encode, same
else:  # run as a script by the scorer's Checker
    _harness = _load_harness()
    decode, encode, same = _harness.decode, _harness.encode, _harness.same

BUILTINS = frozenset(dir(builtins))


class ProgramError(Exception):
    """The program raised (its answer was an error)."""


class Gone(Exception):
    """The program can no longer answer (it exited, timed out or wrote too much)."""


class Remote:
    """A function, class or instance of the program, called through the parent."""

    def __init__(self, ask, name=None, methods=None, handle=None, attr=None):
        self._ask, self._name, self._methods, self._handle, self._attr = ask, name, methods, handle, attr

    def __call__(self, *args, **kwargs):
        payload = {"args": [encode(a) for a in args], "kwargs": {str(k): encode(v) for k, v in kwargs.items()}}
        if self._methods is not None and self._handle is None:  # a class: an instance, kept in the program
            answer = self._ask({"op": "new", "name": self._name, **payload})
            return Remote(self._ask, self._name, self._methods, handle=int(answer["handle"]))
        answer = self._ask({"op": "call", "name": self._name, "handle": self._handle, "attr": self._attr,
                            **payload})
        return decode(answer["value"])

    def __getattr__(self, attr):
        if attr.startswith("_") or self._handle is None or self._attr is not None:
            raise AttributeError(attr)
        return Remote(self._ask, self._name, handle=self._handle, attr=attr)


class _EqRewriter(ast.NodeTransformer):
    """``a == b`` → ``__omni_eq__(a, b)`` and ``a != b`` → ``not __omni_eq__(a, b)``."""

    def visit_Compare(self, node):
        self.generic_visit(node)
        if len(node.ops) == 1 and isinstance(node.ops[0], (ast.Eq, ast.NotEq)):
            call = ast.Call(func=ast.Name("__omni_eq__", ast.Load()), args=[node.left, node.comparators[0]],
                            keywords=[])
            return call if isinstance(node.ops[0], ast.Eq) else ast.UnaryOp(ast.Not(), call)
        return node


_compiled = {}


def compile_check(source):
    """The check with ``==``/``!=`` rewritten and a final ``__omni_done__[0] = __omni_token__`` (proof that it ran
    to its end), compiled with assertions kept whatever the environment says (``optimize=0``)."""
    if source not in _compiled:
        tree = _EqRewriter().visit(ast.parse(source))
        tree.body.append(ast.parse("__omni_done__[0] = __omni_token__").body[0])
        if len(_compiled) > 4096:
            _compiled.clear()
        _compiled[source] = compile(ast.fix_missing_locations(tree), "<tests>", "exec", optimize=0)
    return _compiled[source]


def run_check(source, names, ask):
    """1 when the check ran to its end, else an exception."""
    code = compile_check(source)
    token, done = object(), [None]
    namespace = {"__name__": "__main__"}
    for name, kind in names.items():  # the check's own definitions and imports, run next, take precedence
        if isinstance(name, str) and name.isidentifier() and name not in BUILTINS and not name.startswith("__"):
            namespace[name] = Remote(ask, name, methods=kind if isinstance(kind, list) else None)
    namespace.update({"__omni_eq__": same, "__omni_done__": done, "__omni_token__": token})
    exec(code, namespace)
    if done[0] is not token:
        raise AssertionError("the check did not run to its end")
    return 1


def main():
    protocol_in, protocol_out = sys.stdin, os.fdopen(os.dup(1), "w")
    sys.stdout = open(os.devnull, "w")  # whatever the check prints stays out of the protocol

    def ask(op):
        protocol_out.write(json.dumps(op) + "\n")
        protocol_out.flush()
        line = protocol_in.readline()
        if not line:  # the parent is gone
            os._exit(0)
        answer = json.loads(line)
        if not isinstance(answer, dict):
            raise ProgramError("malformed answer")
        if "gone" in answer:
            raise Gone(str(answer["gone"]))
        if "error" in answer:
            raise ProgramError(str(answer["error"])[:200])
        return answer

    for line in protocol_in:
        job = json.loads(line)
        verdict = {"passed": 0, "error": None, "gone": None}
        try:
            verdict["passed"] = run_check(job["check"], job["names"], ask)
        except Gone as exc:
            verdict["gone"] = str(exc)
        except BaseException as exc:  # noqa: BLE001 - any failure of the check is a failed test
            verdict["error"] = f"{type(exc).__name__}: {str(exc)[:200]}"
        protocol_out.write(json.dumps({"verdict": verdict}) + "\n")
        protocol_out.flush()


if __name__ == "__main__":
    main()

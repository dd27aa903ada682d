"""Test harness that runs *inside* the sandbox (stdlib only; never imported by the pipeline).

Protocol: the parent writes one ``marshal``-ed dict on stdin,
``{"nonce", "kind": "functional"|"unittest"|"io"|"call", "solution", "tests", "sys_path"}``, and closes
it; for ``functional`` tests, ``tests["check_code"]`` is the check already parsed, rewritten
and compiled by the parent (:func:`pipeline.rewards.code.compile_check`). The harness runs
every test and, only after the last one, prints ``<nonce> <repr of the result dict>`` on
its own line. A program that exits early (``sys.exit``,
``os._exit``, a crash, a signal) never prints that line, and cannot forge it without
the nonce, so the parent scores it 0.

Always-equal objects: results are converted to plain built-in values before any
comparison (:func:`plain`): an object of any other type fails the test. In the
``functional`` format, every ``==`` / ``!=`` in the check code is rewritten to
``__omni_eq__(a, b)``, which compares the two sides' plain values.

Start-up cost matters (one interpreter per program): the harness imports only built-in
modules (``sys``, ``math``, ``marshal``, ``io``) — no ``json``, ``re`` or ``ast``, whose
imports alone cost more than the interpreter start.
"""

import io
import marshal
import math
import sys

class NotPlain(Exception):
    pass


def _make_comparator():
    """``plain`` and ``same`` as closures over captured built-ins, so that untrusted code that
    rebinds module globals or ``builtins`` (``type``, ``float``, ...) cannot change them."""
    _type, _float, _repr, _sorted, _isclose = type, float, repr, sorted, math.isclose
    _list, _dict, _str_types = list, dict, (list, tuple)
    scalars = (bool, int, float, str, bytes, type(None), complex)
    sets = (set, frozenset)
    not_plain = NotPlain

    def plain(value, depth=0):
        """A copy of ``value`` made only of built-in types; raises ``NotPlain`` otherwise."""
        if depth > 50:
            raise not_plain("too deep")
        kind = _type(value)
        if kind in scalars:
            return value
        if kind in _str_types:
            return _list(plain(v, depth + 1) for v in value)
        if kind in sets:
            return ("__set__", _sorted(_repr(plain(v, depth + 1)) for v in value))
        if kind is _dict:
            return {("k", _repr(plain(k, depth + 1))): plain(v, depth + 1) for k, v in value.items()}
        raise not_plain(f"result of type {kind.__name__} is not a built-in value")

    def same(a, b):
        a, b = plain(a), plain(b)
        if _type(a) is _float or _type(b) is _float:
            try:
                return _isclose(_float(a), _float(b), rel_tol=1e-9, abs_tol=1e-9)
            except (TypeError, ValueError):
                return False
        return a == b

    return plain, same


plain, same = _make_comparator()


def _namespace():
    # Run with -S, so the `site` helpers exit() and quit() that programs often call are provided here.
    return {"__name__": "__main__", "exit": sys.exit, "quit": sys.exit}


def run_functional(solution, check_code):
    """``check_code`` ends by storing ``__omni_token__`` in ``__omni_done__[0]``; a check cut short
    (by an ``exit()`` in the solution's functions, say) never does."""
    # Everything the check depends on is bound before untrusted code runs (a solution may
    # rebind builtins.exec).
    eq, run, build = same, exec, compile
    token = [object()]
    namespace = _namespace()
    run(build(solution, "<solution>", "exec"), namespace)
    done = [None]
    namespace.update({"__omni_eq__": eq, "__omni_done__": done, "__omni_token__": token[0]})
    run(check_code, namespace)
    if done[0] is not token[0]:
        raise AssertionError("the check did not run to its end")
    return 1


def run_unittest(solution, test_code):
    """BigCodeBench's format: the solution, then a test module whose ``TestCase`` classes must all pass."""
    import unittest  # only this format pays for the import

    namespace = _namespace()
    exec(compile(solution, "<solution>", "exec"), namespace)
    exec(test_code, namespace)
    loader, suite = unittest.TestLoader(), unittest.TestSuite()
    for value in list(namespace.values()):
        if isinstance(value, type) and issubclass(value, unittest.TestCase) and value is not unittest.TestCase:
            suite.addTests(loader.loadTestsFromTestCase(value))
    result = unittest.TestResult()
    suite.run(result)
    if result.testsRun == 0:
        raise AssertionError("no test ran")
    if not result.wasSuccessful():
        problems = result.errors + result.failures
        raise AssertionError(f"{len(problems)} of {result.testsRun} tests failed: {problems[0][1][-300:]}")
    return 1


def _normalise_output(text):
    return [line.rstrip() for line in str(text).strip().splitlines()]


def run_io(solution, tests):
    code = compile(solution, "<solution>", "exec")
    passed = 0
    for stdin, expected in zip(tests["inputs"], tests["outputs"]):
        out = io.StringIO()
        sys.stdin = io.StringIO(stdin if isinstance(stdin, str) else "\n".join(map(str, stdin)))
        saved, sys.stdout = sys.stdout, out
        try:
            exec(code, _namespace())
        except SystemExit as exc:  # a program may legitimately exit() after printing
            if exc.code not in (None, 0):
                raise
        finally:
            sys.stdout = saved
        if _normalise_output(out.getvalue()) != _normalise_output(expected):
            raise AssertionError(f"wrong output on test {passed}")
        passed += 1
    return passed


def run_call(solution, tests, eq=same):
    namespace = _namespace()
    exec(compile(solution, "<solution>", "exec"), namespace)
    name = tests["fn_name"]
    if "Solution" in namespace and hasattr(namespace["Solution"], name):
        target = getattr(namespace["Solution"](), name)
    else:
        target = namespace[name]
    passed = 0
    for args, expected in zip(tests["inputs"], tests["outputs"]):
        result = target(*args) if isinstance(args, list) else target(args)
        if not eq(result, expected):
            raise AssertionError(f"wrong result on test {passed}")
        passed += 1
    return passed


def main():
    request = marshal.loads(sys.stdin.buffer.read())
    sys.stdin.close()
    nonce = request.pop("nonce")
    sys.path.extend(request.pop("sys_path", []))  # run with -S: site-packages are added here, cheaply
    real_stdout, render = sys.stdout, repr  # captured before untrusted code can rebind them
    kind = request["kind"]
    try:
        if kind == "functional":
            passed = run_functional(request["solution"], request["tests"]["check_code"])
        elif kind == "unittest":
            passed = run_unittest(request["solution"], request["tests"]["test_code"])
        elif kind == "io":
            passed = run_io(request["solution"], request["tests"])
        else:
            passed = run_call(request["solution"], request["tests"])
        result = {"passed": passed, "error": None}
    except BaseException as exc:  # noqa: BLE001 - any failure of untrusted code is a failed test
        result = {"passed": 0, "error": f"{type(exc).__name__}: {str(exc)[:200]}"}
    real_stdout.write(f"\n{nonce} {render(result)}\n")
    real_stdout.flush()


if __name__ == "__main__":
    main()

"""Code reward: the last Python block of the answer must pass every test, run in the sandbox.

``r_code(q, o) = Π_x 1{unittest_q(o_ans, x)}`` (Appendix A.1): one failed test, an
early exit, a crash, a timeout or a missing proof of completion scores 0.

Test formats (the record's ``reference`` JSON):

- ``{"functional": "<check code>"}`` (code-r1 / LeetCode): the solution, then the check
  code, whose ``==``/``!=`` compare plain built-in values;
- ``{"inputs": [...], "outputs": [...]}`` (code-r1 / TACO): stdin → stdout per case;
- ``{"fn_name": "...", "inputs": [[args]...], "outputs": [...]}`` (LiveCodeBench
  functional, APPS call-based): ``Solution().fn_name(*args)`` or ``fn_name(*args)``;
- ``{"unittest": "<unittest.TestCase code>"}`` (BigCodeBench): the solution, then the test
  module; every ``TestCase`` in it must run and pass (at least one test).

Any format may carry a ``"prelude"`` (e.g. LiveCodeBench's ``from typing import *``), run before
the solution as the benchmark's own harness does.

Threat model: a policy optimising this reward may emit any program. It must not (a) harm
the host or read secrets — the sandbox (:mod:`.sandbox`) handles that — nor (b) get a 1
without passing. Against (b): the harness prints a per-run random nonce with the result
only after the last test, so ``sys.exit(0)``, ``os._exit(0)``, ``atexit`` printing,
crashes and signals give no proof; catching everything inside the harness turns a
``SystemExit`` raised mid-test into a failure; results are converted to plain built-in
values before comparison, so objects whose ``__eq__`` always says True fail. Out of
scope: exploits aware of our harness that dig the nonce out of the interpreter (frame
or ``gc`` introspection); such code would be visible in the rollouts.
"""

from __future__ import annotations

import ast
import functools
import json
import marshal
import secrets
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from types import CodeType

from .extract import extract_answer, last_code_block
from .sandbox import RunResult, Sandbox

HARNESS = Path(__file__).with_name("_harness.py")


@dataclass
class CodeOutcome:
    score: float
    reason: str


def kind_of_tests(tests: dict) -> str:
    if "functional" in tests:
        return "functional"
    if "unittest" in tests:
        return "unittest"
    if "fn_name" in tests:
        return "call"
    return "io"


class _EqRewriter(ast.NodeTransformer):
    """``a == b`` → ``__omni_eq__(a, b)`` and ``a != b`` → ``not __omni_eq__(a, b)``."""

    def visit_Compare(self, node: ast.Compare) -> ast.AST:
        self.generic_visit(node)
        if len(node.ops) == 1 and isinstance(node.ops[0], (ast.Eq, ast.NotEq)):
            call = ast.Call(func=ast.Name("__omni_eq__", ast.Load()), args=[node.left, node.comparators[0]],
                            keywords=[])
            return call if isinstance(node.ops[0], ast.Eq) else ast.UnaryOp(ast.Not(), call)
        return node


def _rewritten_check(check: str) -> ast.Module:
    tree = _EqRewriter().visit(ast.parse(check))
    tree.body.append(ast.parse("__omni_done__[0] = __omni_token__").body[0])
    return ast.fix_missing_locations(tree)


@functools.lru_cache(maxsize=4096)
def check_source(check: str) -> str:
    """:func:`compile_check`'s rewritten check as source, for a sandbox interpreter of another Python
    version (which compiles it itself). Raises ``SyntaxError``."""
    return ast.unparse(_rewritten_check(check))


@functools.lru_cache(maxsize=4096)
def compile_check(check: str) -> CodeType:
    """The ``functional`` check code, with ``==``/``!=`` rewritten to plain-value comparisons and a
    final ``__omni_done__[0] = __omni_token__``, compiled once per check; the request marshals the code
    object for the harness (which then needs neither ``ast`` nor the parser). Raises ``SyntaxError``."""
    return compile(_rewritten_check(check), "<tests>", "exec")


@dataclass(frozen=True)
class _Request:
    request: bytes  # marshal-ed harness request
    nonce: str
    expected: int   # tests that must pass


@dataclass
class CodeScorer:
    sandbox: Sandbox
    workers: int = 2
    counts: dict[str, int] = field(default_factory=dict)

    def score(self, response: str, reference: str) -> CodeOutcome:
        return self.score_many([(response, reference)])[0]

    def score_many(self, items: list[tuple[str, str]]) -> list[CodeOutcome]:
        """Scores (response, reference) pairs. Identical (program, tests) pairs — frequent among the G
        samples of a group — are run once: a verdict is a function of the program and its tests. The
        distinct programs are split into one run of consecutive programs per worker (each run in as few
        sandboxes as ``programs_per_sandbox`` allows)."""
        codes = [self._program(response) for response, _ in items]
        unique = list(dict.fromkeys((code, ref) for code, (_, ref) in zip(codes, items) if code is not None))
        prepared = [self._prepare(code, ref) for code, ref in unique]
        to_run = [p for p in prepared if not isinstance(p, CodeOutcome)]
        size = max(1, -(-len(to_run) // self.workers))
        chunks = [to_run[i:i + size] for i in range(0, len(to_run), size)]
        with ThreadPoolExecutor(self.workers) as pool:
            runs = [run for chunk_runs in pool.map(lambda c: self.sandbox.run_many(HARNESS, [r.request for r in c]),
                                                   chunks) for run in chunk_runs]
        verdicts: dict[tuple[str, str], CodeOutcome] = {}
        pending = iter(zip(to_run, runs))
        for key, p in zip(unique, prepared):
            verdicts[key] = p if isinstance(p, CodeOutcome) else self._verdict(*next(pending))
        return [self._count(CodeOutcome(0.0, "no_code") if code is None else verdicts[(code, ref)])
                for code, (_, ref) in zip(codes, items)]

    @staticmethod
    def _program(response: str) -> str | None:
        answer = extract_answer(response)
        return last_code_block(answer if answer is not None else response)

    def _prepare(self, code: str, reference: str) -> "_Request | CodeOutcome":
        """The harness request of one program (with a fresh nonce), or the outcome of a bad reference.
        The tests go as code objects compiled here, or as source that the harness compiles when the
        sandbox's interpreter is another Python version (code objects do not cross versions)."""
        interpreter = self.sandbox.interpreter
        try:
            tests = json.loads(reference)
            kind = kind_of_tests(tests)
            if tests.get("prelude"):
                code = f"{tests['prelude']}\n{code}"
            expected = 1 if kind in ("functional", "unittest") else len(tests["inputs"])
            if kind == "functional":
                check = compile_check(tests["functional"])
                tests = {"check_code": check if interpreter.same_bytecode else check_source(tests["functional"])}
            elif kind == "unittest":
                test_code = compile(tests["unittest"], "<tests>", "exec")
                tests = {"test_code": test_code if interpreter.same_bytecode else tests["unittest"]}
        except (json.JSONDecodeError, SyntaxError, ValueError, TypeError, KeyError):
            return CodeOutcome(0.0, "bad_reference")
        nonce = secrets.token_hex(16)
        request = {"nonce": nonce, "kind": kind, "solution": code, "tests": tests,
                   "sys_path": list(interpreter.site_packages)}
        return _Request(marshal.dumps(request), nonce, expected)

    @staticmethod
    def _verdict(prepared: "_Request", run: RunResult) -> CodeOutcome:
        """1 only with the nonce's proof line reporting no error and every test passed."""
        if run.timed_out:
            return CodeOutcome(0.0, "timeout")
        nonce = prepared.nonce
        proof = [line for line in run.stdout.decode("utf-8", "replace").splitlines() if line.startswith(nonce + " ")]
        if not proof:
            return CodeOutcome(0.0, "no_proof")
        try:  # a literal, never evaluated (docs/rewards.md, "Threat model")
            result = ast.literal_eval(proof[-1][len(nonce) + 1:])
            passed = isinstance(result, dict) and result["error"] is None and result["passed"] == prepared.expected
        except (ValueError, SyntaxError, TypeError, KeyError, MemoryError, RecursionError):
            return CodeOutcome(0.0, "no_proof")
        if passed:
            return CodeOutcome(1.0, "passed")
        return CodeOutcome(0.0, "failed")

    def _count(self, outcome: CodeOutcome) -> CodeOutcome:
        self.counts[outcome.reason] = self.counts.get(outcome.reason, 0) + 1
        return outcome

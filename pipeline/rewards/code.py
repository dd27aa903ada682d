"""Code reward: the last Python block of the answer must pass every test, run in the sandbox.

``r_code(q, o) = Π_x 1{unittest_q(o_ans, x)}`` (Appendix A.1): one failed test, an
early exit, a crash, a timeout or a missing proof of completion scores 0.

Test formats (the record's ``reference`` JSON):

- ``{"functional": "<check code>"}`` (code-r1 / LeetCode): the solution, then the check
  code, whose ``==``/``!=`` compare plain built-in values;
- ``{"inputs": [...], "outputs": [...]}`` (code-r1 / TACO): stdin → stdout per case;
- ``{"fn_name": "...", "inputs": [[args]...], "outputs": [...]}`` (LiveCodeBench
  functional, APPS call-based): ``Solution().fn_name(*args)`` or ``fn_name(*args)``.

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

import json
import secrets
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from .extract import extract_answer, last_code_block
from .sandbox import SITE_PACKAGES, Sandbox

HARNESS = Path(__file__).with_name("_harness.py")


@dataclass
class CodeOutcome:
    score: float
    reason: str


def kind_of_tests(tests: dict) -> str:
    if "functional" in tests:
        return "functional"
    if "fn_name" in tests:
        return "call"
    return "io"


@dataclass
class CodeScorer:
    sandbox: Sandbox
    workers: int = 2
    counts: dict[str, int] = field(default_factory=dict)

    def score(self, response: str, reference: str) -> CodeOutcome:
        answer = extract_answer(response)
        code = last_code_block(answer if answer is not None else response)
        if code is None:
            return self._count(CodeOutcome(0.0, "no_code"))
        try:
            tests = json.loads(reference)
        except json.JSONDecodeError:
            return self._count(CodeOutcome(0.0, "bad_reference"))
        nonce = secrets.token_hex(16)
        request = {"nonce": nonce, "kind": kind_of_tests(tests), "solution": code, "tests": tests,
                   "sys_path": SITE_PACKAGES}
        run = self.sandbox.run(HARNESS, json.dumps(request).encode())
        if run.timed_out:
            return self._count(CodeOutcome(0.0, "timeout"))
        proof = [line for line in run.stdout.decode("utf-8", "replace").splitlines() if line.startswith(nonce + " ")]
        if not proof:
            return self._count(CodeOutcome(0.0, "no_proof"))
        result = json.loads(proof[-1][len(nonce) + 1:])
        expected = len(tests["inputs"]) if request["kind"] != "functional" else 1
        if result["error"] is None and result["passed"] == expected:
            return self._count(CodeOutcome(1.0, "passed"))
        return self._count(CodeOutcome(0.0, "failed"))

    def score_many(self, items: list[tuple[str, str]]) -> list[CodeOutcome]:
        with ThreadPoolExecutor(self.workers) as pool:
            return list(pool.map(lambda item: self.score(*item), items))

    def _count(self, outcome: CodeOutcome) -> CodeOutcome:
        self.counts[outcome.reason] = self.counts.get(outcome.reason, 0) + 1
        return outcome

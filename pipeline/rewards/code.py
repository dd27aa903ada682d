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

Threat model: a policy optimising this reward may emit any program. It must not (a) harm the host or read
secrets (the sandbox, :mod:`.sandbox`) nor (b) get a 1 without passing. Against (b), the program's process never
holds the expected outputs, the checking code or the verdict (docs/rewards.md, "Threat model"): for the
stdin/stdout and call-based formats the sandbox receives only the inputs and sends back the program's outputs
as plain data, which this process compares; a ``functional`` check (downloaded text) runs in a checker
process in a sandbox of its own (:mod:`._checker`), whose calls to the program go through the sandbox one at a
time. Only BigCodeBench's
``unittest`` format, whose tests patch the solution's imports, runs in the program's process, with a nonce
proving the result (evaluation only; not contained against a program that digs the nonce out of its own
interpreter).
"""

from __future__ import annotations

import ast
import json
import marshal
import os
import queue
import secrets
import select
import signal
import subprocess
import time
import weakref
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import _checker
from ._harness import NotPlain, decode, same
from .extract import extract_answer, last_code_block
from .sandbox import Conversation, Job, RunResult, Sandbox, claim_uids

HARNESS = Path(__file__).with_name("_harness.py")  # run in the sandbox as a script
CHECKER = Path(_checker.__file__)  # run by Checker in its sandbox (imported: a code dependency of every stage)


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


def _normalise_output(text: str) -> list[str]:
    return [line.rstrip() for line in str(text).strip().splitlines()]


def _answer(raw: bytes) -> dict:
    """The program's answer as a dict (anything else is an error answer)."""
    try:
        answer = json.loads(raw)
    except (ValueError, RecursionError):
        return {"error": "malformed answer"}
    return answer if isinstance(answer, dict) else {"error": "malformed answer"}


def _op(op: dict) -> bytes:
    return json.dumps(op).encode()


FAILED = CodeOutcome(0.0, "failed")
"""A wrong, missing or malformed answer, or a program that is gone (a timeout is the run's, see ``_verdict``)."""


def converse_io(inputs: list[str], outputs: list[str]) -> Conversation:
    """stdin/stdout: each input sent, each output compared here (normalised lines)."""
    answer = _answer((yield b""))
    for text, expected in zip(inputs, outputs):
        if "error" in answer or "gone" in answer:
            return FAILED
        answer = _answer((yield _op({"op": "stdio", "input": text})))
        if not isinstance(answer.get("stdout"), str) or \
                _normalise_output(answer["stdout"]) != _normalise_output(expected):
            return FAILED
    return CodeOutcome(1.0, "passed")


def converse_call(fn_name: str, inputs: list, outputs: list) -> Conversation:
    """Call-based: ``Solution().fn_name(*args)`` or ``fn_name(*args)`` per case, each result compared here."""
    answer = _answer((yield b""))
    names = answer.get("names")
    if not isinstance(names, dict):
        return FAILED
    if isinstance(names.get("Solution"), list) and fn_name in names["Solution"]:
        answer = _answer((yield _op({"op": "new", "name": "Solution", "args": [], "kwargs": {}})))
        if not isinstance(answer.get("handle"), int):
            return FAILED
        target = {"handle": answer["handle"], "attr": fn_name}
    elif fn_name in names:
        target = {"name": fn_name}
    else:
        return FAILED
    for args, expected in zip(inputs, outputs):
        answer = _answer((yield _op({"op": "call", **target, "args": args if isinstance(args, list) else [args],
                                     "kwargs": {}})))
        try:
            if "value" not in answer or not same(decode(answer["value"]), expected):
                return FAILED
        except (ValueError, NotPlain, RecursionError):
            return CodeOutcome(0.0, "failed")
    return CodeOutcome(1.0, "passed")


def converse_unittest(nonce: str) -> Conversation:
    """BigCodeBench: the program's process runs the tests; its proof line must carry this program's nonce."""
    answer = _answer((yield b""))
    proof = answer.get("proof")
    if not isinstance(proof, str) or not proof.startswith(nonce + " "):
        return CodeOutcome(0.0, "no_proof" if "gone" in answer or proof is not None else "failed")
    try:  # a literal, never evaluated (docs/rewards.md, "Threat model")
        result = ast.literal_eval(proof[len(nonce) + 1:])
        passed = isinstance(result, dict) and result["error"] is None and result["passed"] == 1
    except (ValueError, SyntaxError, TypeError, KeyError, MemoryError, RecursionError):
        return CodeOutcome(0.0, "no_proof")
    return CodeOutcome(1.0, "passed") if passed else CodeOutcome(0.0, "failed")


class Checker:
    """The process that runs ``functional`` check code (:mod:`._checker`). The check code is downloaded text, so
    it runs in a sandbox of its own (the scorer's bubblewrap command, under a uid of its own as root), never on
    the host and never beside the program it checks (another PID namespace: the program cannot see it). Started
    on first use, again after it died or overran, and after ``programs_per_sandbox`` checks (the sandbox's
    CPU-seconds limit counts its whole life)."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox
        self.timeout_s = sandbox.limits.timeout_s
        self.proc: subprocess.Popen | None = None
        self._buffer = b""
        self._checks = 0
        self._uid: list[tuple[int, Any]] = []

    def _start(self) -> subprocess.Popen:
        if self.proc is not None and self._checks >= self.sandbox.programs_per_sandbox:
            self.stop()
        if self.proc is None or self.proc.poll() is not None:
            if not self._uid and self.sandbox.is_root and self.sandbox.isolated:
                self._uid = claim_uids(1, self.sandbox.uid_base)
            uid = self._uid[0][0] if self._uid else self.sandbox.uid_base
            # python -I: no PYTHON* variable of this environment (PYTHONOPTIMIZE, PYTHONPATH, ...) reaches the check
            self.proc = self.sandbox.popen(self.sandbox.command(CHECKER, uid))
            weakref.finalize(self, _end, self.proc)  # a scorer dropped without close() leaves no checker behind
            self._buffer, self._checks = b"", 0
        self._checks += 1
        return self.proc

    def send(self, message: dict) -> None:
        proc = self._start()
        assert proc.stdin is not None
        proc.stdin.write(json.dumps(message).encode() + b"\n")
        proc.stdin.flush()

    def relay(self, raw: bytes) -> None:
        """The program's answer, passed on as it came (one line)."""
        assert self.proc is not None and self.proc.stdin is not None
        self.proc.stdin.write(raw.replace(b"\n", b" ") + b"\n")
        self.proc.stdin.flush()

    def receive(self, deadline: float) -> dict | None:
        """The checker's next message, or None when it died or overran ``deadline`` (it is then stopped)."""
        assert self.proc is not None and self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        while b"\n" not in self._buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not select.select([fd], [], [], remaining)[0]:
                self.stop()
                return None
            block = os.read(fd, 1 << 16)
            if not block:
                self.stop()
                return None
            self._buffer += block
        line, self._buffer = self._buffer.split(b"\n", 1)
        return json.loads(line)

    def close(self) -> None:
        """Stop it and release its uid."""
        self.stop()
        for _, lock in self._uid:
            lock.close()
        self._uid = []

    def stop(self) -> None:
        if self.proc is not None:
            _end(self.proc)
            for stream in (self.proc.stdin, self.proc.stdout):
                if stream is not None:
                    stream.close()
            self.proc = None


def _end(proc: subprocess.Popen) -> None:
    """Kill a checker's sandbox (its process group: bubblewrap and everything in it)."""
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            proc.kill()
        proc.wait()


def converse_functional(check: str, checkers: "queue.Queue[Checker]") -> Conversation:
    """code-r1's check code, run by a :class:`Checker` against the program's top-level names; every call the check
    makes is relayed to the program, and only the checker's verdict counts."""
    answer = _answer((yield b""))
    if not isinstance(answer.get("names"), dict):
        return FAILED
    checker = checkers.get()
    finished = False
    try:
        deadline = time.monotonic() + checker.timeout_s
        try:
            checker.send({"check": check, "names": answer["names"]})
            message = checker.receive(deadline)
            while message is not None and "op" in message:
                checker.relay((yield _op(message)))
                message = checker.receive(deadline)
        except (OSError, ValueError):
            message = None
        finished = message is not None
        if message is None:
            return CodeOutcome(0.0, "timeout" if time.monotonic() >= deadline else "error")
        verdict = message.get("verdict") or {}
        return CodeOutcome(1.0, "passed") if verdict.get("passed") == 1 else CodeOutcome(0.0, "failed")
    finally:
        if not finished:  # abandoned mid-check (the harness died): the checker's state is unknown
            checker.stop()
        checkers.put(checker)


@dataclass
class CodeScorer:
    sandbox: Sandbox
    workers: int = 2
    counts: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._checkers: queue.Queue[Checker] = queue.Queue()
        for _ in range(self.workers):
            self._checkers.put(Checker(self.sandbox))

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
        to_run = [p for p in prepared if isinstance(p, Job)]
        size = max(1, -(-len(to_run) // self.workers))
        chunks = [to_run[i:i + size] for i in range(0, len(to_run), size)]
        with ThreadPoolExecutor(self.workers) as pool:
            runs = [run for chunk_runs in pool.map(lambda c: self.sandbox.run_many(HARNESS, c), chunks)
                    for run in chunk_runs]
        verdicts: dict[tuple[str, str], CodeOutcome] = {}
        pending = iter(runs)
        for key, p in zip(unique, prepared):
            verdicts[key] = p if isinstance(p, CodeOutcome) else self._verdict(next(pending))
        return [self._count(CodeOutcome(0.0, "no_code") if code is None else verdicts[(code, ref)])
                for code, (_, ref) in zip(codes, items)]

    def close(self) -> None:
        """Stop the checker processes (started again on use) and release the sandbox's slot uids."""
        for _ in range(self.workers):
            checker = self._checkers.get()
            checker.close()
            self._checkers.put(checker)
        self.sandbox.close()

    @staticmethod
    def _program(response: str) -> str | None:
        answer = extract_answer(response)
        return last_code_block(answer if answer is not None else response)

    def _prepare(self, code: str, reference: str) -> "Job | CodeOutcome":
        """The program's job for the sandbox, or the outcome of a bad reference (malformed, or without a single
        test case: a curation error, never a pass). The expected outputs and check code stay here."""
        interpreter = self.sandbox.interpreter
        try:
            tests = reference_tests(reference)
        except ValueError:
            return CodeOutcome(0.0, "bad_reference")
        kind = kind_of_tests(tests)
        if tests.get("prelude"):
            code = f"{tests['prelude']}\n{code}"
        request: dict[str, Any] = {"kind": kind, "solution": code, "sys_path": list(interpreter.site_packages)}
        if kind == "unittest":
            nonce = secrets.token_hex(16)
            try:  # compiled here when the sandbox's Python is this one: assertions kept (optimize=0)
                test_code = compile(tests["unittest"], "<tests>", "exec", optimize=0)
            except (SyntaxError, ValueError):
                return CodeOutcome(0.0, "bad_reference")
            request.update(nonce=nonce, test_code=test_code if interpreter.same_bytecode else tests["unittest"])
            return Job(marshal.dumps(request), lambda: converse_unittest(nonce))
        if kind == "functional":
            check, checkers = tests["functional"], self._checkers
            return Job(marshal.dumps(request), lambda: converse_functional(check, checkers))
        if kind == "call":
            fn, inputs, outputs = tests["fn_name"], tests["inputs"], tests["outputs"]
            return Job(marshal.dumps(request), lambda: converse_call(fn, inputs, outputs))
        texts = [t if isinstance(t, str) else "\n".join(map(str, t)) for t in tests["inputs"]]
        outputs = [o if isinstance(o, str) else "\n".join(map(str, o)) for o in tests["outputs"]]
        return Job(marshal.dumps(request), lambda: converse_io(texts, outputs))

    @staticmethod
    def _verdict(run: RunResult) -> CodeOutcome:
        """The conversation's conclusion; a timeout (the harness's or the CPU limit's) whatever it concluded."""
        if run.timed_out:
            return CodeOutcome(0.0, "timeout")
        if not isinstance(run.outcome, CodeOutcome):
            return CodeOutcome(0.0, "no_proof")
        return run.outcome

    def _count(self, outcome: CodeOutcome) -> CodeOutcome:
        self.counts[outcome.reason] = self.counts.get(outcome.reason, 0) + 1
        return outcome


def reference_tests(reference: str) -> dict:
    """The test cases of a code reference (its JSON), checked for shape: one of the four formats, with at least
    one case (``inputs`` and ``outputs`` of equal, non-zero length; a non-empty check or test module). Raises
    ``ValueError`` naming what is wrong."""
    try:
        tests = json.loads(reference)
    except (ValueError, TypeError, RecursionError) as exc:
        raise ValueError(f"not JSON ({type(exc).__name__})") from None
    if not isinstance(tests, dict):
        raise ValueError(f"a JSON object is expected, not {type(tests).__name__}")
    kind = kind_of_tests(tests)
    if kind in ("functional", "unittest"):
        if not isinstance(tests[kind], str) or not tests[kind].strip():
            raise ValueError(f"'{kind}' must be non-empty code")
        return tests
    inputs, outputs = tests.get("inputs"), tests.get("outputs")
    if not isinstance(inputs, list) or not isinstance(outputs, list):
        raise ValueError("'inputs' and 'outputs' must be lists")
    if not inputs or len(inputs) != len(outputs):
        raise ValueError(f"{len(inputs)} inputs and {len(outputs)} outputs: at least one test case, as many "
                         "outputs as inputs")
    if kind == "call" and not (isinstance(tests["fn_name"], str) and tests["fn_name"].isidentifier()):
        raise ValueError("'fn_name' must be a Python name")
    if "prelude" in tests and not isinstance(tests["prelude"], str):
        raise ValueError("'prelude' must be code")
    return tests

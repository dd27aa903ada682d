"""The side of the code reward that runs *inside* the sandbox (stdlib only; the trusted side imports its wire
format and its comparison, never its server).

It is a small server: one sandbox runs a batch of programs, one at a time, so that the cost of starting
bubblewrap and the interpreter (~50 ms) is paid once per batch instead of once per program.

**What the sandbox never holds.** The expected outputs, the check code and the verdict stay outside: the
trusted side (:mod:`pipeline.rewards.code`, and :mod:`pipeline.rewards._checker` for check code) sends the
program *inputs* (a stdin text, a call's arguments) and receives its *outputs* as plain data; it compares them
itself. A program can therefore return whatever it likes, and nothing it does (trace hooks, rebinding the
harness's helpers through ``sys.modules``, reading frames) reaches a comparison or a verdict. The one exception
is BigCodeBench's ``unittest`` format, whose tests patch the solution's own imports and must share its process;
its result is proven with a nonce (docs/rewards.md, "Threat model").

Protocol (ping-pong; the parent sends a frame only after it has read the answer to the last one):

- parent → server, on stdin, frames ``<u32 length><payload>``: a program request (``marshal``-ed dict from the
  trusted parent: ``kind`` ``"io"|"call"|"functional"|"unittest"``, ``solution``, ``sys_path``, and for
  ``unittest`` its ``test_code`` and ``nonce``); then, one at a time, operations (JSON, below); then an empty
  frame, which ends the program. EOF ends the server.
- server → parent: ``<u8 kind><u32 length><i32 returncode><u8 timed_out><u8 truncated>`` and ``length`` bytes.
  A *reply* (kind 1) answers the request and each operation with the program's JSON answer, or with
  ``{"gone": reason}`` when the program exited, crashed, timed out or wrote too much; the *final* frame (kind 0)
  answers the empty frame with the program's exit status and its stray stdout (capped). The parent decodes
  only this header and JSON; it never unmarshals anything written in the sandbox.

Operations, each answered by the program's process:

- the request itself: the solution is compiled and (except for ``io``) run; answer ``{"names": {name: kind}}``
  (its top-level functions and classes, a class with its public methods) or ``{"error": ...}``;
- ``{"op": "stdio", "input": text}``: the solution run as a script on that stdin; ``{"stdout": text}``;
- ``{"op": "new", "name": N, "args": [...], "kwargs": {...}}``: an instance of class ``N``; ``{"handle": i}``;
- ``{"op": "call", "name": N | "handle": i, "attr": A | null, "args": [...], "kwargs": {...}}``: the result,
  ``{"value": <encoded plain value>}``; a result that is not made of built-in values is an error.

Values cross only as :func:`encode`'s tagged JSON of built-in types (no object with its own ``__eq__`` can
reach the trusted side, which rebuilds them with :func:`decode`).

Each program runs in a child forked from the server: fd 0 ``/dev/null``, fd 1 a pipe read by the server
(stray prints, capped at ``max_output_bytes``), fd 2 ``/dev/null``, fd 3 the operations, fd 4 the answers,
nothing else open; the server kills it when the program's wall-clock time (``timeout_s``, from its start to
its last answer) runs out, when an answer exceeds ``max_output_bytes``, or when the parent ends it.

Between programs (``--reset``, given when the sandbox has its own PID namespace and ``/tmp``), the server kills
every other process of the sandbox (``kill(-1, SIGKILL)``; bubblewrap's init is pid 1 and is spared), waits
until they are gone, and deletes whatever appeared under ``/tmp`` (the only writable place), so that nothing a
program left behind meets the next one. The server makes itself non-dumpable first: a program, although it runs
under the same uid, can then neither read nor write the server's memory or descriptors (``/proc/<pid>/mem``,
``/proc/<pid>/fd``) nor ``ptrace`` it. If the reset fails the server stops after reporting, and the parent goes
on in a fresh sandbox. Without ``--reset`` (the unisolated fallback) the parent sends one program per server.

The server imports only cheap modules (``sys``, ``os``, ``math``, ``marshal``, ``io``, ``json``, ``select``,
``struct``, ``signal``, ``time``, ``resource``, ``fcntl``).
"""

import fcntl
import io
import json
import marshal
import math
import os
import resource
import select
import signal
import struct
import sys
import time


class NotPlain(Exception):
    pass


# ---------------------------------------------------------------------------------------------
# Plain values: the comparison and the wire format, shared with the trusted side.

def _make_comparator():
    """``plain`` and ``same`` as closures over captured built-ins (the trusted side's comparison; in the sandbox
    the program could rebind module globals and ``builtins``, which these closures do not read)."""
    _type, _float, _repr, _sorted, _isclose = type, float, repr, sorted, math.isclose
    _list, _dict, _seq_types = list, dict, (list, tuple)
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
        if kind in _seq_types:
            return _list(plain(v, depth + 1) for v in value)
        if kind in sets:
            return ("__set__", _sorted(_repr(plain(v, depth + 1)) for v in value))
        if kind is _dict:
            return {("k", _repr(plain(k, depth + 1))): plain(v, depth + 1) for k, v in value.items()}
        raise not_plain(f"result of type {kind.__name__} is not a built-in value")

    def same(a, b):
        """Equal as plain values (a tuple equals the list of its items; floats within 1e-9)."""
        a, b = plain(a), plain(b)
        if _type(a) is _float or _type(b) is _float:
            try:
                return _isclose(_float(a), _float(b), rel_tol=1e-9, abs_tol=1e-9)
            except (TypeError, ValueError):
                return False
        return a == b

    return plain, same


plain, same = _make_comparator()

_TAGS = {tuple: "t", set: "s", frozenset: "f"}
_BUILD = {"t": tuple, "s": set, "f": frozenset}


def encode(value, depth=0):
    """``value`` as JSON-ready data: ``None``, bools, ints, floats, strings and lists as themselves, every other
    built-in type as a one-key object (``{"t": [...]}`` a tuple, ``"s"`` a set, ``"f"`` a frozenset, ``"d"`` a
    dict's ``[key, value]`` pairs, ``"b"`` bytes in hex, ``"c"`` a complex's ``[real, imag]``). Anything else
    raises ``NotPlain``."""
    if depth > 100:
        raise NotPlain("too deep")
    kind = type(value)
    if value is None or kind in (bool, int, float, str):
        return value
    if kind is list:
        return [encode(v, depth + 1) for v in value]
    if kind in _TAGS:
        return {_TAGS[kind]: [encode(v, depth + 1) for v in value]}
    if kind is dict:
        return {"d": [[encode(k, depth + 1), encode(v, depth + 1)] for k, v in value.items()]}
    if kind is bytes:
        return {"b": value.hex()}
    if kind is complex:
        return {"c": [value.real, value.imag]}
    raise NotPlain(f"a value of type {kind.__name__} is not a built-in value")


def decode(data, depth=0):
    """The built-in value :func:`encode` described; raises ``ValueError`` on anything else (unknown tags, an
    unhashable set member or key, nesting past 100)."""
    if depth > 100:
        raise ValueError("too deep")
    kind = type(data)
    if data is None or kind in (bool, int, float, str):
        return data
    if kind is list:
        return [decode(v, depth + 1) for v in data]
    if kind is not dict or len(data) != 1:
        raise ValueError("not an encoded value")
    (tag, body), = data.items()
    try:
        if tag in _BUILD and type(body) is list:
            return _BUILD[tag](decode(v, depth + 1) for v in body)
        if tag == "d" and type(body) is list:
            return {decode(k, depth + 1): decode(v, depth + 1) for k, v in body}
        if tag == "b" and type(body) is str:
            return bytes.fromhex(body)
        if tag == "c" and type(body) is list and len(body) == 2:
            return complex(float(body[0]), float(body[1]))
    except (TypeError, ValueError) as exc:  # an unhashable member or key, a malformed pair
        raise ValueError(f"malformed {tag!r} value: {exc}") from None
    raise ValueError(f"unknown tag {tag!r}")


# ---------------------------------------------------------------------------------------------
# The program's process (the forked child): it answers operations on fd 3 through fd 4.

def _namespace():
    # Run with -S, so the `site` helpers exit() and quit() that programs often call are provided here.
    return {"__name__": "__main__", "exit": sys.exit, "quit": sys.exit}


def _normalise_output(text):
    return [line.rstrip() for line in str(text).strip().splitlines()]


def run_unittest(solution, test_code):
    """BigCodeBench's format: the solution, then a test module whose ``TestCase`` classes must all pass."""
    import unittest  # only this format pays for the import

    if isinstance(test_code, str):  # source, from a parent of another Python version
        test_code = compile(test_code, "<tests>", "exec", optimize=0)
    namespace = _namespace()
    exec(compile(solution, "<solution>", "exec", optimize=0), namespace)
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


def run_stdio(code, text):
    """The program run as a script on ``text``; what it printed."""
    out = io.StringIO()
    saved_in, saved_out = sys.stdin, sys.stdout
    sys.stdin, sys.stdout = io.StringIO(text), out
    try:
        exec(code, _namespace())
    except SystemExit as exc:  # a program may legitimately exit() after printing
        if exc.code not in (None, 0):
            raise
    finally:
        sys.stdin, sys.stdout = saved_in, saved_out
    return out.getvalue()


def describe(namespace):
    """The program's top-level functions and classes: ``{name: "function"}`` or ``{name: [methods]}``."""
    names = {}
    for name, value in list(namespace.items()):
        if name.startswith("__") or name in ("exit", "quit"):
            continue
        if isinstance(value, type):
            names[name] = sorted(a for a in dir(value) if not a.startswith("__"))[:1000]
        elif callable(value):
            names[name] = "function"
    return names


class Program:
    """The operations of one program, in its own process."""

    def __init__(self, request):
        self.kind = request["kind"]
        self.code = compile(request["solution"], "<solution>", "exec", optimize=0)
        self.namespace = _namespace()
        self.handles = []

    def start(self):
        if self.kind == "io":
            return {"names": {}}
        exec(self.code, self.namespace)
        return {"names": describe(self.namespace)}

    def answer(self, op):
        kind = op.get("op")
        if kind == "stdio":
            return {"stdout": run_stdio(self.code, op["input"])}
        args = [decode(a) for a in op.get("args", [])]
        kwargs = {str(k): decode(v) for k, v in op.get("kwargs", {}).items()}
        if kind == "new":
            self.handles.append(self.namespace[op["name"]](*args, **kwargs))
            return {"handle": len(self.handles) - 1}
        if kind == "call":
            target = self.handles[op["handle"]] if op.get("handle") is not None else self.namespace[op["name"]]
            if op.get("attr") is not None:
                target = getattr(target, op["attr"])
            return {"value": encode(target(*args, **kwargs))}
        raise ValueError(f"unknown operation {kind!r}")


def _frame_writer(fd):
    def send(obj):
        data = json.dumps(obj).encode()
        _write_all(fd, struct.pack("<I", len(data)) + data)
    return send


def serve_program(request):
    """In the forked child: answer the request, then each operation, until the server ends the program."""
    sys.path.extend(request.pop("sys_path", []))  # run with -S: site-packages are added here, cheaply
    send = _frame_writer(4)
    if request["kind"] == "unittest":
        nonce, render = request.pop("nonce"), repr  # captured before untrusted code can rebind them
        try:
            result = {"passed": run_unittest(request["solution"], request["test_code"]), "error": None}
        except BaseException as exc:  # noqa: BLE001 - any failure of untrusted code is a failed test
            result = {"passed": 0, "error": f"{type(exc).__name__}: {str(exc)[:200]}"}
        send({"proof": f"{nonce} {render(result)}"})
        return
    try:
        program = Program(request)
        send(program.start())
    except BaseException as exc:  # noqa: BLE001
        send({"error": f"{type(exc).__name__}: {str(exc)[:200]}"})
        return
    while True:
        data = _read_request(3)
        if data is None:
            return
        try:
            reply = program.answer(json.loads(data))
        except BaseException as exc:  # noqa: BLE001 - an exception of the program is its answer
            reply = {"error": f"{type(exc).__name__}: {str(exc)[:200]}"}
        send(reply)


# ---------------------------------------------------------------------------------------------
# The server: one forked child per program, reset between programs.

HEADER = struct.Struct("<BIiBB")  # kind, length, return code, timed out, truncated
FINAL, REPLY = 0, 1


def _read_exactly(fd, n):
    data = b""
    while len(data) < n:
        block = os.read(fd, n - len(data))
        if not block:
            return None
        data += block
    return data


def _read_request(fd=0):
    head = _read_exactly(fd, 4)
    if head is None:
        return None
    return _read_exactly(fd, struct.unpack("<I", head)[0])


def _write_all(fd, data):
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def _undumpable():
    """prctl(PR_SET_DUMPABLE, 0): /proc/<pid>/{mem,fd,environ} and ptrace of this process need
    CAP_SYS_PTRACE, which nothing in the sandbox has."""
    import ctypes

    if ctypes.CDLL(None, use_errno=True).prctl(4, 0, 0, 0, 0) != 0:  # PR_SET_DUMPABLE = 4
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_DUMPABLE, 0) failed")


def _tmp_entries(root="/tmp"):
    """Every path under ``root``, not descending into mount points (the read-only binds)."""
    found = set()
    for top, dirs, files in os.walk(root):
        for name in files:
            found.add(os.path.join(top, name))
        paths = {name: os.path.join(top, name) for name in dirs}
        found.update(paths.values())
        dirs[:] = [name for name, path in paths.items() if not os.path.ismount(path) and not os.path.islink(path)]
    return found


def _remove(path):
    if os.path.isdir(path) and not os.path.islink(path):
        os.chmod(path, 0o700)
        for name in os.listdir(path):
            _remove(os.path.join(path, name))
        os.rmdir(path)
    else:
        os.unlink(path)


def _others():
    me = str(os.getpid())
    return [p for p in os.listdir("/proc") if p.isdigit() and p not in ("1", me)]


def reset(initial, patience_s=5.0):
    """Kill every other process of the sandbox and restore /tmp to ``initial``; False if that failed."""
    deadline = time.monotonic() + patience_s
    while True:
        try:
            os.kill(-1, signal.SIGKILL)  # every process we may signal but ourselves and pid 1
        except ProcessLookupError:
            pass
        if not _others():
            break
        if time.monotonic() > deadline:
            return False
        time.sleep(0.001)
    try:
        for path in sorted(_tmp_entries() - initial, key=len):
            if os.path.lexists(path):
                _remove(path)
    except OSError:
        return False
    return _tmp_entries() == initial


def _high(fd):
    return fcntl.fcntl(fd, fcntl.F_DUPFD, 10)


def _child(request_bytes, out_w, ops_r, answers_w):
    """In the forked child: fd 0 /dev/null, 1 the stray-output pipe, 2 /dev/null, 3 operations, 4 answers."""
    try:
        out_w, ops_r, answers_w = _high(out_w), _high(ops_r), _high(answers_w)
        null = os.open("/dev/null", os.O_RDWR)
        for source, target in ((null, 0), (out_w, 1), (null, 2), (ops_r, 3), (answers_w, 4)):
            os.dup2(source, target)
        os.closerange(5, max(5, os.sysconf("SC_OPEN_MAX")))
        sys.stdin = io.TextIOWrapper(io.FileIO(0, "r", closefd=False))
        sys.stdout = io.TextIOWrapper(io.FileIO(1, "w", closefd=False), write_through=True)
        serve_program(marshal.loads(request_bytes))
        sys.stdout.flush()
    finally:
        os._exit(0)


def _out_of_cpu_time(status, usage):
    """Did RLIMIT_CPU (``cpu_s``, set by prlimit with soft = hard) kill the program? The kernel then
    sends SIGKILL (SIGXCPU only below a higher hard limit) once its CPU time reaches the limit. This
    is the same failure as the wall-clock deadline; which of the two fires first is a matter of
    scheduling."""
    limit = resource.getrlimit(resource.RLIMIT_CPU)[1]
    return (limit != resource.RLIM_INFINITY and os.WIFSIGNALED(status)
            and os.WTERMSIG(status) in (signal.SIGKILL, signal.SIGXCPU)
            and usage.ru_utime + usage.ru_stime >= limit - 0.01)


class Run:
    """One program's child, seen from the server: its stray output, its answers, its deadline."""

    def __init__(self, request_bytes, timeout_s, max_output, isolated):
        out_r, out_w = os.pipe()
        ops_r, ops_w = os.pipe()
        answers_r, answers_w = os.pipe()
        self.pid = os.fork()
        if self.pid == 0:
            for fd in (out_r, ops_w, answers_r):
                os.close(fd)
            _child(request_bytes, out_w, ops_r, answers_w)
        for fd in (out_w, ops_r, answers_w):
            os.close(fd)
        self.out_r, self.ops_w, self.answers_r = out_r, ops_w, answers_r
        os.set_blocking(ops_w, False)
        self.max_output, self.isolated = max_output, isolated
        self.deadline = time.monotonic() + timeout_s
        self.chunks, self.size, self.pending = [], 0, b""
        self.timed_out = self.truncated = False
        self.gone = None  # why the program can no longer answer
        self.status = self.usage = None

    def kill(self):
        try:
            os.kill(-1 if self.isolated else self.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    def _stop(self, why):
        if self.gone is None:
            self.gone = why
        self.kill()

    def _drain_output(self):
        block = os.read(self.out_r, 65536)
        if not block:
            return False
        if self.size + len(block) > self.max_output:
            self.chunks.append(block[:self.max_output - self.size])
            self.size = self.max_output
            self.truncated = True
            self._stop("output too large")
            return False
        self.chunks.append(block)
        self.size += len(block)
        return True

    def _answer_ready(self):
        """The next complete answer in ``pending``, if any (None otherwise)."""
        if len(self.pending) < 4:
            return None
        length = struct.unpack("<I", self.pending[:4])[0]
        if length > self.max_output:
            self.truncated = True
            self._stop("answer too large")
            return None
        if len(self.pending) < 4 + length:
            return None
        answer, self.pending = self.pending[4:4 + length], self.pending[4 + length:]
        return answer

    def next_answer(self, op=None):
        """Send ``op`` (bytes) if given and wait for the program's next answer; None when it is gone."""
        to_send = b"" if op is None else struct.pack("<I", len(op)) + op
        out_open, answers_open = True, True
        while self.gone is None:
            answer = self._answer_ready()
            if answer is not None:
                return answer
            if self.gone is not None:
                break
            remaining = self.deadline - time.monotonic()
            if remaining <= 0:
                self.timed_out = True
                self._stop("timed out")
                break
            if not answers_open:
                self._stop("exited")
                break
            poller = select.poll()
            if out_open:
                poller.register(self.out_r, select.POLLIN | select.POLLHUP)
            poller.register(self.answers_r, select.POLLIN | select.POLLHUP)
            if to_send:
                poller.register(self.ops_w, select.POLLOUT | select.POLLERR)
            for fd, _event in poller.poll(min(remaining, 0.05) * 1000):
                if fd == self.out_r:
                    out_open = self._drain_output() and out_open
                elif fd == self.answers_r:
                    block = os.read(self.answers_r, 65536)
                    if block:
                        self.pending += block
                    else:
                        answers_open = False
                elif fd == self.ops_w:
                    try:
                        to_send = to_send[os.write(self.ops_w, to_send):]
                    except OSError:  # the program closed its end
                        self._stop("exited")
        return None

    def finish(self):
        """Kill the program (and, isolated, everything it started); its status and stray output."""
        self.kill()
        for fd in (self.ops_w, self.answers_r):
            os.close(fd)
        while not self.truncated:  # what it printed before it ended (the pipe reaches EOF once all are dead)
            ready = select.poll()
            ready.register(self.out_r, select.POLLIN | select.POLLHUP)
            if not ready.poll(1000) or not self._drain_output():
                break
        os.close(self.out_r)
        _, status, usage = os.wait4(self.pid, 0)
        timed_out = self.timed_out or _out_of_cpu_time(status, usage)
        return os.waitstatus_to_exitcode(status), b"".join(self.chunks), timed_out, self.truncated


def _send_frame(kind, payload=b"", code=0, timed_out=False, truncated=False):
    _write_all(1, HEADER.pack(kind, len(payload), code, timed_out, truncated) + payload)


def run_program(request_bytes, timeout_s, max_output, isolated):
    """One program: its answer to the request, then to each operation the parent sends, until the parent's
    empty frame. Returns the final frame's fields and whether the parent is still there."""
    run = Run(request_bytes, timeout_s, max_output, isolated)
    answer = run.next_answer()
    while True:
        _send_frame(REPLY, answer if answer is not None else json.dumps({"gone": run.gone}).encode())
        op = _read_request()
        if not op:  # the parent's end of this program (or its EOF)
            break
        answer = run.next_answer(op) if run.gone is None else None
    return run.finish(), op is not None


def serve(argv):
    timeout_s, max_output, isolated = float(argv[0]), int(argv[1]), "--reset" in argv
    if isolated:
        _undumpable()
        initial = _tmp_entries()
    while True:
        request = _read_request()
        if request is None:
            return
        (code, output, timed_out, truncated), parent_alive = run_program(request, timeout_s, max_output, isolated)
        del request
        clean = reset(initial) if isolated else False  # before the final frame: the next request comes after it
        _send_frame(FINAL, output, code, timed_out, truncated)
        if not (parent_alive and clean):  # one program per server without a reset
            return


if __name__ == "__main__":
    serve(sys.argv[1:])

"""Test harness that runs *inside* the sandbox (stdlib only; never imported by the pipeline).

It is a small server: one sandbox runs a batch of programs, one at a time, so that the cost of
starting bubblewrap and the interpreter (~50 ms) is paid once per batch instead of once per program.

Protocol (ping-pong; the parent sends the next request only after it has read the last result, so
no other program's request, nonce included, exists in the sandbox while a program runs):

- parent → harness, on stdin: ``<u32 length><marshal-ed request>`` per program, where a request is
  ``{"nonce", "kind": "functional"|"unittest"|"io"|"call", "solution", "tests", "sys_path"}``;
  for ``functional`` tests, ``tests["check_code"]`` is the check already parsed, rewritten
  and compiled by the parent (:func:`pipeline.rewards.code.compile_check`); when the harness runs
  under another Python version than the parent's (``rewards.code.python``), code objects cannot
  cross, and the check (rewritten) and BigCodeBench's test module come as source that the harness
  compiles with the built-in ``compile`` (no ``ast`` import). EOF ends the server.
- harness → parent, on stdout: ``<u32 length><i32 returncode><u8 timed_out><u8 truncated>`` and the
  program's output (at most ``max_output_bytes``), per program. The parent decodes only this header;
  it never unmarshals anything written in the sandbox.

Each program runs in a child forked from the server, with stdin on ``/dev/null``, stdout on a pipe
read by the server (capped at ``max_output_bytes``, killed past ``timeout_s``; a program that the
CPU-time limit killed is reported as timed out too) and no other open
descriptor. The child runs every test and, only after the last one, prints
``<nonce> <repr of the result dict>`` on its own line. A program that exits early (``sys.exit``,
``os._exit``, a crash, a signal) never prints that line, and cannot forge it without
the nonce, so the parent scores it 0.

Between programs (``--reset``, given when the sandbox has its own PID namespace and ``/tmp``), the
server kills every other process of the sandbox (``kill(-1, SIGKILL)``; bubblewrap's init is
pid 1 and is spared), waits until they are gone, and deletes whatever appeared under ``/tmp``
(the only writable place), so that nothing a program left behind meets the next one. The server
makes itself non-dumpable first: a program, although it runs under the same uid, can then neither
read nor write the server's memory or descriptors (``/proc/<pid>/mem``, ``/proc/<pid>/fd``) nor
``ptrace`` it. If the reset fails the server stops after reporting, and the parent goes on in a
fresh sandbox. Without ``--reset`` (the unisolated fallback) the parent sends one program per server.

Always-equal objects: results are converted to plain built-in values before any
comparison (:func:`plain`): an object of any other type fails the test. In the
``functional`` format, every ``==`` / ``!=`` in the check code is rewritten to
``__omni_eq__(a, b)``, which compares the two sides' plain values.

The harness imports only cheap modules (``sys``, ``os``, ``math``, ``marshal``, ``io``, ``select``,
``struct``, ``signal``, ``time``, ``resource``) — no ``json``, ``re`` or ``ast``.
"""

import io
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
    if isinstance(check_code, str):  # source, from a parent of another Python version
        check_code = build(check_code, "<tests>", "exec")
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

    if isinstance(test_code, str):  # source, from a parent of another Python version
        test_code = compile(test_code, "<tests>", "exec")
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


def run_request(request):
    """Runs one program's tests (in the forked child) and prints the proof line after the last one."""
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


# ---------------------------------------------------------------------------------------------
# The server: one forked child per program, reset between programs.

HEADER = struct.Struct("<IiBB")  # output length, return code, timed out, truncated


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


def _child(request_bytes, write_fd):
    """In the forked child: stdin /dev/null, stdout the pipe, stderr /dev/null, nothing else open."""
    try:
        null = os.open("/dev/null", os.O_RDWR)
        os.dup2(null, 0)
        os.dup2(write_fd, 1)
        os.dup2(null, 2)
        os.closerange(3, max(3, os.sysconf("SC_OPEN_MAX")))
        sys.stdin = io.TextIOWrapper(io.FileIO(0, "r", closefd=False))
        sys.stdout = io.TextIOWrapper(io.FileIO(1, "w", closefd=False), write_through=True)
        run_request(marshal.loads(request_bytes))
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


def run_one(request_bytes, timeout_s, max_output, isolated):
    """Fork a child for one program and collect its output; returns (returncode, output, timed_out, truncated)."""
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read_fd)
        _child(request_bytes, write_fd)
    os.close(write_fd)

    def kill():
        try:
            os.kill(-1 if isolated else pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    chunks, size, timed_out, truncated, status = [], 0, False, False, None
    poller = select.poll()
    poller.register(read_fd, select.POLLIN | select.POLLHUP)
    deadline = time.monotonic() + timeout_s
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            timed_out = True
            kill()
            break
        if poller.poll(min(remaining, 0.05) * 1000):
            block = os.read(read_fd, 65536)
            if not block:  # EOF: the program and everything it started have closed the pipe
                break
            if size + len(block) > max_output:
                chunks.append(block[:max_output - size])
                truncated = True
                kill()
                break
            chunks.append(block)
            size += len(block)
        elif status is None:  # quiet pipe: has the program exited, leaving a process that holds it?
            done, code, usage = os.wait4(pid, os.WNOHANG)
            if done:
                status = code
                if not isolated:
                    break  # the fallback cannot kill what the program left; the parent kills the session
                kill()  # its daemons: the pipe then reaches EOF
    os.close(read_fd)
    if status is None:
        _, status, usage = os.wait4(pid, 0)
    timed_out = timed_out or _out_of_cpu_time(status, usage)
    return os.waitstatus_to_exitcode(status), b"".join(chunks), timed_out, truncated


def serve(argv):
    timeout_s, max_output, isolated = float(argv[0]), int(argv[1]), "--reset" in argv
    if isolated:
        _undumpable()
        initial = _tmp_entries()
    while True:
        request = _read_request()
        if request is None:
            return
        code, output, timed_out, truncated = run_one(request, timeout_s, max_output, isolated)
        del request
        clean = reset(initial) if isolated else False
        _write_all(1, HEADER.pack(len(output), code, timed_out, truncated) + output)
        if not clean:  # one program per server without a reset
            return


if __name__ == "__main__":
    serve(sys.argv[1:])

"""Hostile programs: every one is contained, scores 0, and leaves the host unaffected.

Most attacks are written so that the program passes the test *only if the attack
worked* (``f(2) == 4`` when it found the secret, reached the network, …): a 0 proves
containment, and the positive control proves the harness itself passes good code.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest

from pipeline.rewards.code import CodeScorer
from pipeline.rewards.sandbox import Sandbox, SandboxLimits

from ..conftest import REPO

# Subprocess-heavy kill tests (fork bombs, loops that ignore SIGTERM, a killed parent, a flooded harness): slow tier.
pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap is not installed")]

CHECK = json.dumps({"functional": "def check(candidate):\n    assert candidate(2) == 4\n\ncheck(f)"})
SECRET = "omni-s3cr3t-value"
UID_BASE = 61500


def answer(code: str) -> str:
    return f"<think>attack</think><answer>```python\n{code}\n```</answer>"


@pytest.fixture(scope="module")
def scorer():
    os.environ["OMNI_TEST_SECRET"] = SECRET
    sandbox = Sandbox(SandboxLimits(timeout_s=3, cpu_s=3, memory_mb=512, max_processes=16, tmp_size_mb=16,
                                    max_output_bytes=1 << 16), require_isolation=True, slots=2, uid_base=UID_BASE)
    yield CodeScorer(sandbox, workers=2)
    os.environ.pop("OMNI_TEST_SECRET", None)


def sandbox_processes() -> list[str]:
    out = subprocess.run(["ps", "-eo", "uid=,pid=,comm="], capture_output=True, text=True).stdout
    return [line for line in out.splitlines() if line.split() and UID_BASE <= int(line.split()[0]) < UID_BASE + 2]


def conditional(attack: str) -> str:
    """f(2) == 4 only if ``attack`` (an expression) is true inside the sandbox."""
    return f"import os, sys\ndef _attack():\n    try:\n        return bool({attack})\n    except BaseException:\n" \
           f"        return False\nOK = _attack()\ndef f(x):\n    return 2 * x if OK else -1"


def test_positive_control(scorer):
    assert scorer.score(answer("def f(x):\n    return 2 * x"), CHECK).score == 1.0
    assert scorer.score(answer(conditional("True")), CHECK).score == 1.0


HOSTILE = {
    "env_secret": conditional(f"'{SECRET}' in str(os.environ)"),
    "env_any_var": conditional("len(os.environ) > 4"),
    "parent_proc_environ": conditional(f"b'{SECRET}' in open(f'/proc/{{os.getppid()}}/environ', 'rb').read()"),
    "any_proc_environ": conditional(
        f"any(b'{SECRET}' in open(f'/proc/{{p}}/environ','rb').read() for p in os.listdir('/proc') if p.isdigit())"),
    "host_files_visible": conditional("os.path.exists('/work') and os.listdir('/root/.ssh') is not None"),
    "etc_shadow": conditional("open('/etc/shadow').read()"),
    "write_usr": conditional("open('/usr/pwned', 'w').write('x')"),
    "setuid_root": conditional("os.setuid(0) is None"),
    "is_root": conditional("os.getuid() == 0 or os.geteuid() == 0"),
    "inherited_fds": conditional("any(os.write(fd, b'x') for fd in range(5, 64) if os.path.exists(f'/proc/self/fd/{fd}'))"),
    "sys_exit_early": "import sys\nsys.exit(0)",
    "os_exit_early": "import os\nos._exit(0)",
    "atexit_fake_proof": "import atexit, sys\natexit.register(lambda: print('ok {\"passed\": 1, \"error\": null}'))\nsys.exit(0)",
    "forged_proof_line": "print('0' * 32 + ' {\"passed\": 1, \"error\": null}')\ndef f(x):\n    return -1",
    "exit_inside_candidate": "import sys\ndef f(x):\n    sys.exit(0)",
    "always_equal": "class E:\n    def __eq__(self, other):\n        return True\ndef f(x):\n    return E()",
    "always_equal_int_subclass": "class E(int):\n    def __eq__(self, other):\n        return True\ndef f(x):\n    return E(0)",
    "override_eq_hook": "__omni_eq__ = lambda a, b: True\ndef f(x):\n    return -1",
    "patch_harness_module": "import sys\nsys.modules['__main__'].same = lambda a, b: True\n"
                            "sys.modules['__main__'].plain = lambda v, depth=0: 0\ndef f(x):\n    return -1",
    "swallow_assertion": "import builtins\nbuiltins.AssertionError = type('Nope', (Exception,), {})\ndef f(x):\n    return -1",
    "patch_builtin_exec": "import builtins\nbuiltins.exec = lambda *a, **k: None\ndef f(x):\n    return -1",
    "patch_json_dumps": "import json\njson.dumps = lambda *a, **k: '{\"passed\": 1, \"error\": null}'\n"
                        "def f(x):\n    return -1",
    "patch_ast_parse": "import ast\n_p = ast.parse\nast.parse = lambda *a, **k: _p('pass')\ndef f(x):\n    return -1",
    "segfault": "import ctypes\nctypes.string_at(0)",
    "memory_bomb": "x = bytearray(4 * 1024 ** 3)\ndef f(x):\n    return 4",
    "memory_creep": "a = []\nwhile True:\n    a.append(bytearray(50 * 1024 ** 2))",
    "fork_bomb": "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass",
    "sigterm_ignoring_loop": "import signal\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\nwhile True:\n    pass",
    "huge_output": "import sys\nwhile True:\n    sys.stdout.write('x' * 65536)",
    "disk_fill": "with open('/tmp/fill', 'wb') as fh:\n    while True:\n        fh.write(b'x' * 1024 * 1024)",
    "kill_everything": "import os, signal\nfor pid in range(1, 5000):\n    try:\n        os.kill(pid, signal.SIGKILL)\n    except OSError:\n        pass\n"
                       "os.kill(-1, signal.SIGKILL)",
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_program_scores_zero(scorer, name):
    start = time.monotonic()
    outcome = scorer.score(answer(HOSTILE[name]), CHECK)
    assert outcome.score == 0.0, (name, outcome)
    assert time.monotonic() - start < 15
    assert not sandbox_processes(), "a sandboxed process outlived its run"


def test_kill_parent_leaves_host_alive(scorer):
    code = f"import os, signal\nos.kill({os.getpid()}, signal.SIGKILL)\nos.kill(os.getppid(), signal.SIGKILL)"
    assert scorer.score(answer(code), CHECK).score == 0.0
    assert os.getpid()  # we are still here


def test_writes_outside_do_not_reach_the_host(scorer, tmp_path):
    target = tmp_path / "pwned"
    code = conditional(f"open('{target}', 'w').write('x') or True")
    assert scorer.score(answer(code), CHECK).score == 0.0
    assert not target.exists()


def test_network_connect_to_host_listener_fails(scorer):
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(5)
    server.settimeout(0.2)
    port = server.getsockname()[1]
    accepted = []

    def accept() -> None:
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            try:
                accepted.append(server.accept())
            except OSError:
                pass

    thread = threading.Thread(target=accept)
    thread.start()
    code = conditional(f"__import__('socket').create_connection(('127.0.0.1', {port}), timeout=2)")
    assert scorer.score(answer(code), CHECK).score == 0.0
    thread.join()
    server.close()
    assert not accepted


def test_daemons_do_not_outlive_the_run(scorer):
    code = ("import os, time\nif os.fork() == 0:\n    os.setsid()\n    if os.fork() == 0:\n        time.sleep(60)\n"
            "    os._exit(0)\ndef f(x):\n    return 2 * x")
    assert scorer.score(answer(code), CHECK).score == 1.0  # the program itself is correct ...
    time.sleep(0.5)
    assert not sandbox_processes()  # ... and its daemon died with the sandbox


@pytest.fixture(scope="module")
def one_sandbox():
    """Every program of a call in one sandbox (one worker), one after another."""
    sandbox = Sandbox(SandboxLimits(timeout_s=3, cpu_s=3, memory_mb=512, max_processes=16, tmp_size_mb=16,
                                    max_output_bytes=1 << 16), require_isolation=True, slots=1, uid_base=UID_BASE)
    assert sandbox.programs_per_sandbox == 64
    return CodeScorer(sandbox, workers=1)


def sessions(scorer: CodeScorer) -> list[int]:
    """Counts the sandboxes started while scoring (wraps ``_session``)."""
    started: list[int] = []
    real = scorer.sandbox._session
    scorer.sandbox._session = lambda cmd, requests: started.append(len(requests)) or real(cmd, requests)
    return started


# Attacks on the *next* program of the same sandbox: the second program passes only if the first
# one's attack reached it.
CARRY_OVER = {
    "leftover_daemon": (
        "import os, time\nif os.fork() == 0:\n    os.setsid()\n    if os.fork() == 0:\n        time.sleep(60)\n"
        "    os._exit(0)\ndef f(x):\n    return 2 * x",
        conditional("any(p not in ('1', str(os.getpid()), str(os.getppid())) for p in os.listdir('/proc') "
                    "if p.isdigit())")),
    "leftover_files": (
        "import os\nos.makedirs('/tmp/d/e', exist_ok=True)\nopen('/tmp/d/e/answer', 'w').write('4')\n"
        "open('/tmp/leftover', 'w').write('4')\nos.chmod('/tmp/d', 0)\ndef f(x):\n    return 2 * x",
        conditional("os.path.exists('/tmp/leftover') or os.path.exists('/tmp/d')")),
    "harness_memory": (
        "def f(x):\n    return 2 * x",
        conditional("open(f'/proc/{os.getppid()}/mem', 'rb') is not None")),
    "harness_protocol_fd": (
        "def f(x):\n    return 2 * x",
        conditional("open(f'/proc/{os.getppid()}/fd/1', 'wb') is not None")),
    "next_request_on_stdin": (
        "def f(x):\n    return 2 * x",
        conditional("len(os.read(0, 100)) > 0 or len(sys.stdin.read()) > 0")),
}


@pytest.mark.parametrize("name", sorted(CARRY_OVER))
def test_nothing_carries_over_to_the_next_program_of_a_sandbox(one_sandbox, name):
    first, second = CARRY_OVER[name]
    started = sessions(one_sandbox)
    outcomes = one_sandbox.score_many([(answer(first), CHECK), (answer(second), CHECK)])
    assert started == [2], "both programs ran in one sandbox"
    assert [o.score for o in outcomes] == [1.0, 0.0], (name, outcomes)
    assert not sandbox_processes()


def test_a_batch_survives_programs_that_kill_hang_or_flood_the_harness(one_sandbox):
    good = answer("def f(x):\n    return 2 * x  # {}")
    kill_harness = answer("import os, signal\nos.kill(os.getppid(), signal.SIGKILL)\ndef f(x):\n    return 2 * x")
    stop_harness = answer("import os, signal\nos.kill(os.getppid(), signal.SIGSTOP)\ndef f(x):\n    return 2 * x")
    programs = [good.format(0), kill_harness, good.format(1), HOSTILE["huge_output"],
                good.format(2), HOSTILE["sigterm_ignoring_loop"], good.format(3), stop_harness, good.format(4)]
    programs = [p if p.startswith("<think>") else answer(p) for p in programs]
    started = sessions(one_sandbox)
    outcomes = one_sandbox.score_many([(p, CHECK) for p in programs])
    assert [o.score for o in outcomes] == [1, 0, 1, 0, 1, 0, 1, 0, 1], outcomes
    assert [o.reason for o in outcomes][5] == "timeout"
    # The killed and the stopped harness each end their sandbox; each of those two programs then runs
    # again as the first of a fresh sandbox (where it fails again), and the rest go on in another one.
    assert started == [9, 8, 7, 2, 1], started
    assert not sandbox_processes()


def test_a_program_that_the_cpu_limit_kills_timed_out():
    """SIGXCPU (``cpu_s``) and the wall-clock deadline are one failure: both are reported as a timeout."""
    sandbox = Sandbox(SandboxLimits(timeout_s=30, cpu_s=1), require_isolation=True, slots=1, uid_base=UID_BASE)
    scorer = CodeScorer(sandbox, workers=1)
    spin = answer("while True:\n    pass\ndef f(x):\n    return 2 * x")
    good = answer("def f(x):\n    return 2 * x")
    outcomes = scorer.score_many([(spin, CHECK), (good, CHECK)])
    assert [(o.score, o.reason) for o in outcomes] == [(0.0, "timeout"), (1.0, "passed")]
    assert not sandbox_processes()


def test_batches_are_capped_at_programs_per_sandbox():
    sandbox = Sandbox(SandboxLimits(timeout_s=3, programs_per_sandbox=3), require_isolation=True, slots=1,
                      uid_base=UID_BASE)
    scorer = CodeScorer(sandbox, workers=1)
    started = sessions(scorer)
    programs = [(answer(f"def f(x):\n    return 2 * x  # {i}"), CHECK) for i in range(7)]
    assert [o.score for o in scorer.score_many(programs)] == [1.0] * 7
    assert started == [3, 3, 1]


def test_sandbox_command_has_every_guarantee():
    sandbox = Sandbox(require_isolation=True, uid_base=UID_BASE)
    cmd = sandbox.command(sandbox.python, UID_BASE)
    text = " ".join(cmd)
    for flag in ("--unshare-net", "--unshare-pid", "--die-with-parent", "--clearenv", "--tmpfs /tmp", "--size",
                 "--new-session", "--nproc=", "--as=", "--cpu=", "--fsize=", "--nofile=", "--reset"):
        assert flag in text, flag
    if os.geteuid() == 0:
        assert f"--reuid={UID_BASE}" in text and "--no-new-privs" in text and "--bounding-set=-all" in text


def test_concurrent_sandboxes_never_share_a_slot_uid(tmp_path):
    """RLIMIT_NPROC is per uid machine-wide: two processes sharing slot uids eat each other's budget."""
    import subprocess
    import sys

    from pipeline.rewards.sandbox import claim_uids

    mine = claim_uids(4, 62000, lock_dir=tmp_path)
    code = ("import sys; from pathlib import Path; from pipeline.rewards.sandbox import claim_uids; "
            f"print([u for u, _ in claim_uids(4, 62000, lock_dir=Path({str(tmp_path)!r}))])")
    other = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert [u for u, _ in mine] == [62000, 62001, 62002, 62003]
    assert other.strip() == "[62004, 62005, 62006, 62007]"
    for _, fh in mine:
        fh.close()
    again = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert again.strip() == "[62000, 62001, 62002, 62003]"  # released with the files


def test_code_reward_works_when_python_was_started_by_a_relative_path(tmp_path):
    """`PATH=.venv/bin:$PATH python …` gives a relative sys.executable; the sandbox must still find it."""
    import subprocess
    import sys

    venv_bin = Path(sys.executable).parent
    code = ("import json, sys; from pipeline.rewards.code import CodeScorer; "
            "from pipeline.rewards.sandbox import Sandbox; "
            "ref = json.dumps({'functional': 'def check(candidate):\\n    assert candidate(2) == 4\\n\\ncheck(f)\\n'}); "
            "resp = '<answer>```python\\ndef f(x):\\n    return 2*x\\n```</answer>'; "
            "print(sys.executable); print(CodeScorer(Sandbox()).score(resp, ref).reason)")
    rel = os.path.relpath(venv_bin, REPO)
    env = {**os.environ, "PATH": f"{rel}:{os.environ.get('PATH', '')}"}
    out = subprocess.run([Path(sys.executable).name, "-c", code], cwd=REPO, env=env, capture_output=True,
                         text=True, check=True).stdout.split()
    assert not Path(out[0]).is_absolute() and out[1] == "passed"

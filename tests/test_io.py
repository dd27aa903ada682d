"""Atomic outputs: a stage's folder holds exactly this run's outputs, readable by the user's group and others
as the umask says, and a folder that is plainly not an output is never replaced."""

from __future__ import annotations

import os
import stat

import pytest

from pipeline.errors import UserError
from pipeline.io import staged_outputs, write_json_atomic, write_text_atomic


def test_a_rerun_leaves_only_its_own_outputs(tmp_path):
    out = tmp_path / "order"
    with staged_outputs(out) as stage:
        (stage / "bwt.csv").write_text("a")
        (stage / "entropy_change.csv").write_text("old")
    with staged_outputs(out) as stage:  # a rerun without --entropies
        (stage / "bwt.csv").write_text("b")
    assert sorted(p.name for p in out.iterdir()) == ["bwt.csv"] and (out / "bwt.csv").read_text() == "b"
    assert [p.name for p in tmp_path.iterdir()] == ["order"]  # no staging or old folder left


def test_a_failed_stage_keeps_the_previous_outputs(tmp_path):
    out = tmp_path / "o"
    with staged_outputs(out) as stage:
        (stage / "x").write_text("1")
    with pytest.raises(RuntimeError):
        with staged_outputs(out) as stage:
            (stage / "x").write_text("2")
            raise RuntimeError("boom")
    assert (out / "x").read_text() == "1" and [p.name for p in tmp_path.iterdir()] == ["o"]


def test_outputs_follow_the_umask(tmp_path):
    old = os.umask(0o022)
    try:
        with staged_outputs(tmp_path / "o") as stage:
            (stage / "sub").mkdir()
            write_json_atomic(stage / "sub" / "m.json", {})
        write_text_atomic(tmp_path / "t.txt", "x")
    finally:
        os.umask(old)
    mode = lambda p: stat.S_IMODE(p.stat().st_mode)  # noqa: E731
    assert mode(tmp_path / "o") == 0o755 and mode(tmp_path / "o" / "sub") == 0o755
    assert mode(tmp_path / "o" / "sub" / "m.json") == 0o644 and mode(tmp_path / "t.txt") == 0o644


def test_a_checkout_is_never_replaced(tmp_path, monkeypatch):
    (tmp_path / "proj").mkdir()
    (tmp_path / "proj" / "dvc.yaml").write_text("stages: {}\n")
    with pytest.raises(UserError, match="refusing to replace this folder"):
        with staged_outputs(tmp_path / "proj"):
            pass
    monkeypatch.chdir(tmp_path / "proj")
    with pytest.raises(UserError, match="working folder"):
        with staged_outputs("."):
            pass
    assert (tmp_path / "proj" / "dvc.yaml").exists()


def test_a_second_run_on_the_same_folder_is_told_who_holds_it(tmp_path):
    import subprocess
    import sys

    from pipeline.io import run_folder_lock

    out = tmp_path / "single" / "math"
    holder = subprocess.Popen([sys.executable, "-c", "import sys, time\nfrom pipeline.io import run_folder_lock\n"
                               f"with run_folder_lock({str(out)!r}):\n    print('held', flush=True)\n"
                               "    time.sleep(60)"], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(UserError, match=rf"{out}: in use by pid {holder.pid} on .* since "):
            with run_folder_lock(out):
                pass
    finally:
        holder.kill()
        holder.wait()
    with run_folder_lock(out):  # a killed holder's lock is released by the kernel
        pass


def test_an_out_that_names_a_file_is_refused_and_the_file_kept(tmp_path):
    out = tmp_path / "results"
    out.write_text("my notes")
    with pytest.raises(UserError, match="exists and is not a folder"):
        with staged_outputs(out) as stage:
            (stage / "x").write_text("1")
    assert out.read_text() == "my notes" and [p.name for p in tmp_path.iterdir()] == ["results"]


def test_stage_and_score_commands_refuse_an_out_that_would_destroy_a_file(tmp_path, repo):
    import subprocess
    import sys

    notes = tmp_path / "notes.txt"
    notes.write_text("keep me")
    proc = subprocess.run([sys.executable, "-m", "pipeline", "order", "--accuracies",
                           str(repo / "examples/table1_accuracies.csv"), "--out", str(notes)], capture_output=True,
                          text=True, cwd=repo)
    assert proc.returncode == 2 and "notes.txt: exists and is not a folder" in proc.stderr, proc.stderr
    assert notes.read_text() == "keep me" and sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]
    rows = tmp_path / "rows.jsonl"
    rows.write_text('{"id": "1", "task": "qa", "prompt": [{"role": "user", "content": "q"}], "reference": "a", '
                    '"meta": {}, "response": "<think>x</think><answer>a</answer>"}\n')
    before = rows.read_bytes()
    proc = subprocess.run([sys.executable, "-m", "pipeline", "score", str(rows), "--out", str(rows), "--params",
                           str(repo / "params.yaml")], capture_output=True, text=True, cwd=repo)
    assert proc.returncode == 2 and "--out is the input file" in proc.stderr, proc.stderr
    assert rows.read_bytes() == before


def test_machine_dependent_files_are_what_dvcignore_ignores(repo):
    from pipeline.io import MACHINE_DEPENDENT

    ignored = {line.strip() for line in (repo / ".dvcignore").read_text().splitlines()
               if line.strip() and not line.startswith("#")}
    assert set(MACHINE_DEPENDENT) | {".*.lock", "work/"} == ignored  # and a stage's resumable state, never an output


def test_a_model_digest_ignores_timings_and_locks(tmp_path):
    """Two runs of one commit give the same weights but other timings: their evaluations must share a key
    (units.jsonl differed between two clean runs, issue 36)."""
    from pipeline.eval.reuse import model_digest

    a, b = tmp_path / "a", tmp_path / "b"
    for folder, seconds in ((a, "3.2"), (b, "9.9")):
        folder.mkdir()
        (folder / "model.safetensors").write_bytes(b"weights")
        (folder / "timings.json").write_text(seconds)
        (folder / ".model.lock").write_text(seconds)
    assert model_digest(a) == model_digest(b)
    (b / "model.safetensors").write_bytes(b"other weights")
    assert model_digest(a) != model_digest(b)


def test_base_model_holds_its_folder_while_it_builds(tmp_path, repo):
    """Two base-model runs into one folder both exited 0 (issue 36): the second now stops at once."""
    import subprocess
    import sys

    out = tmp_path / "models" / "base"
    holder = subprocess.Popen([sys.executable, "-c", "import sys, time\nfrom pipeline.io import run_folder_lock\n"
                               f"with run_folder_lock({str(out)!r}):\n    print('held', flush=True)\n"
                               "    time.sleep(60)"], stdout=subprocess.PIPE, text=True, cwd=repo)
    try:
        assert holder.stdout.readline().strip() == "held"
        proc = subprocess.run([sys.executable, "-m", "pipeline", "base-model", "--curated", str(tmp_path / "none"),
                               "--out", str(out), "--params", str(repo / "params.yaml")], capture_output=True,
                              text=True, cwd=repo, timeout=120)
        assert proc.returncode == 2 and f"{out}: in use by pid {holder.pid}" in proc.stderr, proc.stderr
        assert not out.exists()
    finally:
        holder.kill()
        holder.wait()

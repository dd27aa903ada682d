"""Pinned downloads (MT-Bench's FastChat files) from a real local HTTP server: the hash decides, addresses are
tried in order, nothing half-written is left, a local edit is never overwritten; and the pins of
pipeline/eval/benchmarks/mt_bench.py are those of the real files (../shared/data/mt_bench)."""

from __future__ import annotations

import dataclasses
import hashlib
import threading
from contextlib import contextmanager
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from pipeline.data.pinned import PinnedFile, fetch_pinned
from pipeline.errors import UserError

from ..conftest import REPO

SHARED_MT_BENCH = REPO.parent / "shared" / "data" / "mt_bench"


@contextmanager
def file_server(root: Path):
    """A real HTTP server over ``root``; yields (base URL, list of the paths asked for)."""
    asked: list[str] = []

    class Handler(SimpleHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (http.server's name)
            asked.append(self.path)
            super().do_GET()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(Handler, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", asked
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_a_pinned_file_is_fetched_once_from_the_first_address_that_gives_it(tmp_path):
    served = tmp_path / "served"
    (served / "good").mkdir(parents=True)
    (served / "bad").mkdir()
    (served / "good" / "q.jsonl").write_bytes(b'{"question_id": 81}\n')
    (served / "bad" / "q.jsonl").write_bytes(b'{"question_id": 666}\n')  # served, but not the pinned bytes
    with file_server(served) as (base, asked):
        pinned = (PinnedFile("sub/q.jsonl", sha(b'{"question_id": 81}\n'),
                             (f"{base}/missing/q.jsonl", f"{base}/bad/q.jsonl", f"{base}/good/q.jsonl")),)
        out = fetch_pinned(pinned, tmp_path / "dl", "test set")
        assert (out / "sub" / "q.jsonl").read_bytes() == b'{"question_id": 81}\n'
        assert asked == ["/missing/q.jsonl", "/bad/q.jsonl", "/good/q.jsonl"]
        fetch_pinned(pinned, tmp_path / "dl", "test set")
        assert len(asked) == 3  # there with the pinned hash: not fetched again
    assert sorted(p.name for p in (tmp_path / "dl" / "sub").iterdir()) == ["q.jsonl"]  # no .part left


def test_no_address_with_the_pinned_bytes_is_one_line_naming_each(tmp_path):
    (tmp_path / "served").mkdir()
    (tmp_path / "served" / "q.jsonl").write_bytes(b"changed upstream\n")
    with file_server(tmp_path / "served") as (base, _):
        pinned = (PinnedFile("q.jsonl", sha(b"the pinned bytes\n"), (f"{base}/q.jsonl", f"{base}/gone.jsonl")),)
        with pytest.raises(UserError) as err:
            fetch_pinned(pinned, tmp_path / "dl", "mt_bench")
    message = str(err.value)
    assert "\n" not in message and message.startswith("mt_bench: could not fetch q.jsonl")
    assert f"{base}/q.jsonl: sha256 " in message and "is not the pinned" in message
    assert f"{base}/gone.jsonl: HTTP 404" in message
    assert list((tmp_path / "dl").iterdir()) == []  # nothing half-written


def test_a_local_file_with_another_hash_is_never_overwritten(tmp_path):
    (tmp_path / "dl").mkdir()
    (tmp_path / "dl" / "q.jsonl").write_text("my own edit\n")
    pinned = (PinnedFile("q.jsonl", sha(b"pinned\n"), ("http://127.0.0.1:9/q.jsonl",)),)
    with pytest.raises(UserError, match=r"q.jsonl: sha256 .* is not the pinned .* of mt_bench; delete it"):
        fetch_pinned(pinned, tmp_path / "dl", "mt_bench")
    assert (tmp_path / "dl" / "q.jsonl").read_text() == "my own edit\n"


@pytest.mark.skipif(not SHARED_MT_BENCH.is_dir(), reason="../shared/data/mt_bench is not present")
def test_mt_bench_without_a_source_is_fetched_by_its_pins_and_loaded(tmp_path, monkeypatch):
    """The real FastChat files served locally under the paths of the pinned addresses (the hub and GitHub cannot
    be reached here): the pinned hashes are theirs, and load_benchmark reads what it fetched."""
    from urllib.parse import urlparse

    from pipeline.eval.benchmarks import BENCHMARKS, load_benchmark
    from pipeline.eval.benchmarks.mt_bench import PINNED

    served = tmp_path / "served"
    for pinned in PINNED:
        for url in pinned.urls:  # the real file under each pinned address's path
            target = served / urlparse(url).netloc / urlparse(url).path.lstrip("/")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes((SHARED_MT_BENCH / pinned.path).read_bytes())
    with file_server(served) as (base, asked):
        local = tuple(dataclasses.replace(p, urls=tuple(f"{base}/{u.split('://', 1)[1]}" for u in p.urls))
                      for p in PINNED)
        monkeypatch.setitem(BENCHMARKS, "mt_bench", dataclasses.replace(BENCHMARKS["mt_bench"], pinned=local))
        records = load_benchmark("mt_bench", None, download_dir=str(tmp_path / "downloads"))
    assert len(records) == 20 and {r["meta"]["category"] for r in records} == {"writing", "roleplay"}
    assert len(asked) == 2  # one address each: the first one gave the pinned file
    assert (tmp_path / "downloads" / "mt_bench" / "model_answer" / "gpt-4.jsonl").exists()

"""Peak memory of `score` as its input grows: it streams the input in chunks of `CHUNK` rows, so its peak
resident memory should stay flat as rows are added (the verifiers' own worker processes are not counted),
and one huge row should cost a few copies of itself (the format check is linear; its regex form took ~60
bytes of backtracking frames per character).

    python benchmarks/bench_score_memory.py            # 2,000 and 20,000 QA rows of ~4 KB each; one 30 MB row
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
ROW = {"task": "qa", "prompt": "Which gas?", "reference": "Argon", "meta": {},
       "response": "<think>" + "x" * 4000 + "</think><answer>Argon</answer>"}
MEASURE = ("import resource, sys\nfrom pipeline.cli import main\ncode = main(sys.argv[1:])\n"
           "print('PEAK_MB', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)\nsys.exit(code)")


def peak_mb(rows: int, folder: Path, row: dict = ROW) -> float:
    src = folder / f"in-{rows}.jsonl"
    with src.open("w") as f:
        for i in range(rows):
            f.write(json.dumps({**row, "id": str(i)}) + "\n")
    proc = subprocess.run([sys.executable, "-c", MEASURE, "score", str(src), "--out", str(folder / f"out-{rows}.jsonl"),
                           "--params", str(REPO / "params.yaml")], capture_output=True, text=True, cwd=REPO)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return float(proc.stdout.split("PEAK_MB")[1].split()[0])


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as tmp:
        for rows in (2000, 20000):
            size = rows * len(json.dumps(ROW)) / 2**20
            print(f"{rows:>6} rows ({size:6.1f} MB of input): peak RSS {peak_mb(rows, Path(tmp)):7.1f} MB")
        huge = {**ROW, "response": "<think>x</think><answer>" + "a" * 30_000_000 + "</answer>"}
        print(f"     1 row  (  28.6 MB of input): peak RSS {peak_mb(1, Path(tmp), huge):7.1f} MB")

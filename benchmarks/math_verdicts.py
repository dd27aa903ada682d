#!/usr/bin/env python
"""Every math verdict on a fixed set of (reference, response) pairs, to compare two versions of the verifier.

The sets (each pair scored through :class:`pipeline.rewards.math.MathScorer`):

- ``gold/<benchmark>``: each of the six math benchmarks' gold responses against its reference (must be 1);
- ``cross/<benchmark>``: record i's gold response against record i+1's reference (a 1 is a false positive
  unless the two references are equal);
- ``curated/<split>``: the embedded default's curated math splits (``python -m pipeline curate --task math``):
  each reference, its worked completion, and the next row's reference (cross);
- ``forms``: alternative forms of the same value (decimal of a fraction, factored polynomial, radicals,
  intervals, sets) and near misses.

Usage:
    python benchmarks/math_verdicts.py --out before.json            # write every verdict
    python benchmarks/math_verdicts.py --out after.json --compare before.json   # and list the ones that changed
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from pipeline.rewards.math import MathScorer  # noqa: E402

SHARED = REPO.parent / "shared" / "data"
MATH_SETS = ["aime24", "amc23", "gaokao2023en", "math500", "minerva_math", "olympiadbench"]
FORMS = [("\\frac{1}{2}", "0.5"), ("\\frac12", "1/2"), ("\\sqrt{8}", "2\\sqrt{2}"), ("(x+1)^2", "x^2+2x+1"),
         ("(x+1)^2", "(x+1)*(x+1)"), ("x^2-1", "(x-1)(x+1)"), ("2x+2", "2(x+1)"), ("1000", "1,000"),
         ("\\{1,2\\}", "\\{2, 1\\}"), ("3/4", "\\frac{3}{4}"), ("\\pi", "\\pi"), ("12", "\\boxed{12}"),
         ("-3", "-3.0"), ("\\dfrac{3}{5}", "0.6"), ("x=2", "2"), ("[0, 1)", "[0,1)"), ("(0,\\infty)", "(0, \\infty)"),
         ("\\frac{\\sqrt{3}}{2}", "sqrt(3)/2"), ("2^{10}", "1024"), ("\\sqrt{2}/2", "1/sqrt(2)"), ("e^{2}", "exp(2)"),
         ("3\\sqrt{2}", "sqrt(18)"), ("x^3+3x^2+3x+1", "(x+1)^3"), ("\\frac{1}{3}", "0.333"), ("1/3", "2/6"),
         ("a+b", "b+a"), ("2xy", "2*x*y"), ("\\ln 2", "log(2)"), ("5!", "120"), ("|x|", "abs(x)"),
         ("\\frac{1}{2}", "0.51"), ("3", "4"), ("2\\sqrt{2}", "\\sqrt{2}"), ("(1,2)", "(2,1)"), ("x^2", "2x"),
         ("12", "21"), ("x+1", "x-1"), ("sqrt(2)", "1.41")]


def ans(text: str) -> str:
    return f"<think>work</think><answer>{text}</answer>"


def pairs() -> dict[str, list[tuple[str, str]]]:
    """name → [(response, reference)]."""
    import pandas as pd

    from pipeline.eval.benchmarks import BENCHMARKS, load_benchmark

    sets: dict[str, list[tuple[str, str]]] = {"forms": [(ans(pred), gold) for gold, pred in FORMS]}
    if SHARED.is_dir():
        for name in MATH_SETS:
            records = load_benchmark(name, str(SHARED))
            sets[f"gold/{name}"] = [(BENCHMARKS[name].gold(r), r["reference"]) for r in records]
            sets[f"cross/{name}"] = [(BENCHMARKS[name].gold(r), nxt["reference"])
                                     for r, nxt in zip(records, records[1:])]
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([sys.executable, "-m", "pipeline", "curate", "--task", "math", "--out", tmp, "--params",
                        str(REPO / "params.yaml")], check=True, capture_output=True, cwd=REPO)
        for split in ("train", "val", "test"):
            rows = pd.read_parquet(Path(tmp) / f"{split}.parquet")
            refs = list(rows["reference"])
            completions = [json.loads(m)["completion"] for m in rows["meta"]]
            sets[f"curated/{split}"] = ([(ans(r), r) for r in refs] + list(zip(completions, refs))
                                        + [(ans(nxt), r) for r, nxt in zip(refs, refs[1:])])
    return sets


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="where to write the verdicts (json)")
    parser.add_argument("--compare", help="an earlier --out to compare with")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    scorer = MathScorer(workers=args.workers, timeout_s=5)
    verdicts: dict[str, list[list]] = {}
    t0 = time.perf_counter()
    n = 0
    for name, items in pairs().items():
        timeouts = scorer.counts["timeout"]
        scores = scorer.score_many(items)
        if scorer.counts["timeout"] > timeouts:
            print(f"  {scorer.counts['timeout'] - timeouts} timeout(s) in {name}")
        verdicts[name] = [[ref, resp, score] for (resp, ref), score in zip(items, scores)]
        n += len(items)
        print(f"{name:24s} {len(items):5d} pairs  {sum(s == 1.0 for s in scores):5d} verified")
    seconds = time.perf_counter() - t0
    scorer.close()
    print(f"{n} pairs in {seconds:.1f} s; counts {scorer.counts}")
    Path(args.out).write_text(json.dumps(verdicts, indent=1, ensure_ascii=False))
    if args.compare:
        before = json.loads(Path(args.compare).read_text())
        changed = [(name, ref, resp, old[2], new[2]) for name, rows in verdicts.items()
                   for old, new in zip(before.get(name, []), rows) if (ref := new[0]) and (resp := new[1])
                   and old[2] != new[2]]
        print(f"{len(changed)} verdict(s) changed")
        for name, ref, resp, old, new in changed:
            print(f"  {name}: reference {ref!r}  response {resp[-80:]!r}: {old} -> {new}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

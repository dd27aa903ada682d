"""Code benchmarks of Table 1, pass@1 in the sandbox.

- **BigCodeBench** (Complete, full set): the prompt is ``complete_prompt`` (imports, signature,
  docstring); the model writes the whole function; its ``test`` module (``unittest`` TestCases) must
  pass. The gold response is ``complete_prompt + canonical_solution``. Tasks need the libraries they
  list (``libs``); a task whose library is missing fails, as it would for any model.
- **LiveCodeBench** code generation (problems of a date window; the paper's Oct 2024–Jan 2025):
  stdin problems (AtCoder) are io tests; functional ones (LeetCode) call
  ``Solution().<func_name>(*args)`` with each input line parsed as one JSON argument; LiveCodeBench's
  own import prelude runs before the solution. Public tests only (the private ones are not public
  in a usable size; see ../shared/data/MANIFEST.md).
"""

from __future__ import annotations

import json
from typing import Any

from ...data.prompts import code_user_prompt
from .base import Benchmark, record, register

# LiveCodeBench's evaluation prepends these imports to every solution (lcb_runner/evaluation/testing_util.py).
LCB_PRELUDE = ("import sys, math, heapq, bisect, itertools, collections, string, re, random, functools, operator\n"
               "from typing import *\nfrom functools import *\nfrom collections import *\nfrom itertools import *\n"
               "from heapq import *\nfrom bisect import *\nfrom math import *\nsys.setrecursionlimit(50000)")
LCB_WINDOW = ("2024-10-01", "2025-02-01")  # contest_date in [start, end): the paper's Oct 2024–Jan 2025


def _bigcodebench(row: dict[str, Any], line: int) -> dict[str, Any]:
    task = (f"Complete the following Python function. Write the whole program (imports and the function "
            f"{row['entry_point']}).\n\n```python\n{row['complete_prompt'].rstrip()}\n```")
    reference = json.dumps({"unittest": row["test"]})
    return record("bigcodebench", "coding", row["task_id"].split("/")[-1], code_user_prompt(task), reference,
                  "complete-full", entry_point=row["entry_point"], libs=str(row.get("libs", "")),
                  solution=row["complete_prompt"] + row["canonical_solution"])


def _bigcodebench_gold(rec: dict[str, Any]) -> str:
    return f"<think>Known solution.</think><answer>```python\n{rec['meta']['solution']}\n```</answer>"


def _lcb_tests(row: dict[str, Any]) -> dict[str, Any]:
    cases = json.loads(row["public_test_cases"]) if isinstance(row["public_test_cases"], str) \
        else row["public_test_cases"]
    metadata = json.loads(row["metadata"]) if isinstance(row.get("metadata"), str) else (row.get("metadata") or {})
    if not cases:
        raise ValueError("no public test cases")
    if cases[0]["testtype"] == "functional":
        return {"fn_name": metadata["func_name"], "prelude": LCB_PRELUDE,
                "inputs": [[json.loads(arg) for arg in c["input"].split("\n") if arg.strip()] for c in cases],
                "outputs": [json.loads(c["output"]) for c in cases]}
    return {"prelude": LCB_PRELUDE, "inputs": [c["input"] for c in cases], "outputs": [c["output"] for c in cases]}


def _livecodebench(row: dict[str, Any], line: int) -> dict[str, Any] | None:
    date = str(row.get("contest_date", ""))[:10]
    if date and not LCB_WINDOW[0] <= date < LCB_WINDOW[1]:
        return None
    tests = _lcb_tests(row)
    if "fn_name" in tests:
        how = (f"Complete the class below (keep its method signature):\n```python\n{row['starter_code'].rstrip()}\n"
               "```")
    else:
        how = "Read the input from standard input and write the answer to standard output."
    task = f"{row['question_content'].strip()}\n\n{how}"
    return record("livecodebench", "coding", row["question_id"], code_user_prompt(task), json.dumps(tests),
                  str(row.get("difficulty") or "livecodebench"), platform=row.get("platform"), contest_date=date)


def _wrong_program(rec: dict[str, Any]) -> str:
    """An obviously wrong program (the gold check of LiveCodeBench, which ships no solutions)."""
    tests = json.loads(rec["reference"])
    if "fn_name" in tests:
        body = f"class Solution:\n    def {tests['fn_name']}(self, *args):\n        return None"
    else:
        body = "print('wrong answer')"
    return f"<think>No idea.</think><answer>```python\n{body}\n```</answer>"


register(Benchmark("bigcodebench", "coding", "code", "bigcode/bigcodebench", "v0.1.4",
                   "bigcodebench/BigCodeBench-full.jsonl.gz", _bigcodebench, _bigcodebench_gold, metric="pass@1",
                   lists_libraries=True))
register(Benchmark("livecodebench", "coding", "code", "livecodebench/code_generation_lite", "test",
                   "livecodebench/code_generation_lite_2024-10_to_2025-01.jsonl", _livecodebench, _wrong_program,
                   metric="pass@1"))

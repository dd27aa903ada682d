"""The benchmarks' domain averages as order's accuracy table (the paper's "test" accuracies)."""

import pytest

from pipeline.analysis.benchmark_transfer import SPLIT, domain_averages


def test_each_task_averages_its_benchmarks_unweighted():
    domains = {"aime24": "math", "amc23": "math", "mmlu_pro": "qa", "mt_bench": "writing"}
    scores = {("base", "aime24"): 0.1, ("base", "amc23"): 0.5, ("base", "mmlu_pro"): 0.4, ("base", "mt_bench"): 0.3,
              ("math", "aime24"): 0.2, ("math", "amc23"): 0.7, ("math", "mmlu_pro"): 0.35, ("math", "mt_bench"): 0.2}
    rows = domain_averages(scores, domains, ["base", "math"], ["math", "qa", "coding"])
    assert [(r["trained_on"], r["evaluated_on"]) for r in rows] == [("base", "math"), ("base", "qa"),
                                                                    ("math", "math"), ("math", "qa")]
    assert [r["accuracy"] for r in rows] == pytest.approx([0.3, 0.4, 0.45, 0.35])  # (0.1+0.5)/2, (0.2+0.7)/2
    assert {r["split"] for r in rows} == {SPLIT} == {"benchmarks"}
    # coding has no benchmark: no row (order names it missing); writing is not a task here: left out
    assert domain_averages(scores, domains, ["base"], ["writing"], value="entropy") == \
        [{"trained_on": "base", "evaluated_on": "writing", "split": "benchmarks", "entropy": 0.3}]
    with pytest.raises(ValueError, match="no score of model 'qa' on aime24, amc23"):
        domain_averages(scores, domains, ["qa"], ["math"])

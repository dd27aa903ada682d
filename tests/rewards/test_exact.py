"""The ``exact`` reward kind (docs/extending.md's worked example): the tagged answer equals the reference."""

from pipeline.config import RewardParams
from pipeline.rewards.kinds.exact import exact_match
from pipeline.rewards.total import RewardModel, Sample


def test_exact_match_reads_the_last_tagged_answer_only():
    assert exact_match("<think>b<d<f</think><answer>bdf</answer>", "bdf") == 1.0
    assert exact_match("<answer> B D F </answer>", "bdf") == 1.0          # case and whitespace
    assert exact_match("<answer>bfd</answer>", "bdf") == 0.0
    assert exact_match("bdf", "bdf") == 0.0                                # not stated as the answer
    assert exact_match("<answer>bdf</answer> no, <answer>fdb</answer>", "bdf") == 0.0  # the last answer counts
    assert exact_match("<answer>bdf or bfd</answer>", "bdf") == 0.0        # hedging earns nothing


def test_a_task_of_kind_exact_is_scored_by_the_reward_model():
    model = RewardModel(RewardParams.model_validate({"tasks": {"logic": {"kind": "exact"}}}))
    try:
        right, wrong = model.score([Sample("logic", "q", "<think>x</think><answer>abc</answer>", "abc", {}),
                                    Sample("logic", "q", "<think>x</think><answer>acb</answer>", "abc", {})])
    finally:
        model.close()
    assert right.components["accuracy"] == 1.0 and wrong.components["accuracy"] == 0.0
    assert right.score == 1.0 + 0.1 + 0.1 and not right.excluded

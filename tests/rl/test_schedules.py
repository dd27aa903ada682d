from collections import Counter

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.rl.schedules import curriculum_schedule, joint_schedule, single_schedule

sizes_st = st.dictionaries(st.sampled_from(["math", "coding", "qa", "writing", "poems"]), st.integers(1, 40),
                           min_size=1, max_size=5)


def per_epoch(batches):
    epochs = {}
    for b in batches:
        epochs.setdefault(b.epoch, []).extend(b.items)
    return epochs


@settings(max_examples=100, deadline=None)
@given(sizes_st, st.integers(1, 16), st.integers(1, 3), st.integers(0, 10_000))
def test_joint_is_a_partition_of_the_union_each_epoch(sizes, batch_size, epochs, seed):
    batches = joint_schedule(sizes, batch_size, epochs, np.random.default_rng(seed))
    union = Counter((t, i) for t, n in sizes.items() for i in range(n))
    assert set(per_epoch(batches)) == set(range(epochs))
    for items in per_epoch(batches).values():
        assert Counter(items) == union  # disjoint and covering, exactly once
    assert all(len(b.items) <= batch_size for b in batches)


@settings(max_examples=100, deadline=None)
@given(sizes_st, st.integers(1, 16), st.integers(1, 3), st.integers(0, 10_000), st.data())
def test_curriculum_batches_are_pure_ordered_and_exhaustive(sizes, batch_size, epochs, seed, data):
    order = data.draw(st.permutations(sorted(sizes)))
    batches = curriculum_schedule(sizes, order, batch_size, epochs, np.random.default_rng(seed))
    for b in batches:
        assert len({t for t, _ in b.items}) == 1 and b.segment == b.items[0][0]  # purity
    seen = [b.segment for b in batches]
    assert [t for i, t in enumerate(seen) if i == 0 or seen[i - 1] != t] == list(order)  # σ, each task once
    union = Counter((t, i) for t, n in sizes.items() for i in range(n))
    for items in per_epoch(batches).values():
        assert Counter(items) == union


def test_single_task_uses_only_that_task_and_is_seeded():
    sizes = {"math": 10, "qa": 7}
    a = single_schedule(sizes, "qa", 3, 2, np.random.default_rng(0))
    b = single_schedule(sizes, "qa", 3, 2, np.random.default_rng(0))
    assert a == b and {t for batch in a for t, _ in batch.items} == {"qa"}
    assert [len(x.items) for x in a] == [3, 3, 1, 3, 3, 1]


def test_curriculum_rejects_bad_orders():
    import pytest

    with pytest.raises(ValueError):
        curriculum_schedule({"a": 1}, ["a", "b"], 2, 1, np.random.default_rng(0))
    with pytest.raises(ValueError):
        curriculum_schedule({"a": 1}, ["a", "a"], 2, 1, np.random.default_rng(0))


def test_capped_sizes_give_every_schedule_the_same_prompts():
    from pipeline.rl.schedules import capped_sizes

    sizes = capped_sizes({"a": 10, "b": 10, "c": 4}, {"a": 3, "b": None, "c": 5}, {"a": 2, "b": 2, "c": 1})
    assert sizes == {"a": 6, "b": 10, "c": 4}
    curriculum = curriculum_schedule(sizes, ["a", "b", "c"], {"a": 2, "b": 2, "c": 1}, 1, np.random.default_rng(0))
    assert [b.segment for b in curriculum] == ["a"] * 3 + ["b"] * 5 + ["c"] * 4
    joint = joint_schedule(sizes, 2, 1, np.random.default_rng(0))
    items = lambda batches: sorted(i for b in batches for i in b.items)  # noqa: E731
    assert items(curriculum) == items(joint) == sorted((t, i) for t, n in sizes.items() for i in range(n))


def test_snapshot_interval_takes_keep_every_refuses_one_candidate_and_derives_from_the_length():
    import pytest

    from pipeline.errors import UserError
    from pipeline.rl.schedules import snapshot_interval

    assert snapshot_interval(5, 0, 23) == 5
    assert snapshot_interval(22, 0, 23) == 22            # one snapshot (step 22) before the final step
    with pytest.raises(UserError, match=r"train.grpo.keep_every: 50 leaves no snapshot before the final step of "
                                        r"this 23-step run"):
        snapshot_interval(50, 0, 23)                     # configs/paper.yaml's old value on a 23-step run
    with pytest.raises(UserError, match="keep_every: 23"):
        snapshot_interval(23, 3, 23, "train.overrides.math")
    # keep_snapshots n: every steps // (n + 1): 9 steps, n = 3 → 2 (snapshots 2, 4, 6, 8); 23 → 5 (5, 10, 15, 20)
    assert snapshot_interval(0, 3, 9) == 2 and snapshot_interval(0, 3, 23) == 5
    assert snapshot_interval(0, 3, 2) == 1               # a 2-step run keeps what it can: step 1
    assert snapshot_interval(0, 0, 23) == 0              # neither: the final model only

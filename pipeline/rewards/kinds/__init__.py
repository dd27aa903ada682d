"""Reward kinds beyond the paper's five (math, code, qa, mcq, judge in :mod:`pipeline.rewards.total`): every
module here registers its kind with :func:`~pipeline.rewards.kind.register_reward_kind`, so a new kind is a
new module (docs/extending.md)."""

from ...registry import import_submodules

import_submodules(__name__)

"""Seeded synthetic generators for the embedded default (all four domains, one schema); the registry and
its helpers are in :mod:`.base`, one module per domain registers its generator."""

from .base import GENERATORS, Record, generate_pool_and_pretrain, register_generator, unique_items
from . import coding, math, qa, writing  # noqa: E402,F401  (register the generators)

__all__ = ["GENERATORS", "Record", "generate_pool_and_pretrain", "register_generator", "unique_items"]

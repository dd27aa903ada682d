"""Seeded synthetic generators for the embedded default (all four domains, one schema); the registry and
its helpers are in :mod:`.base`, one module per domain registers its generator."""

from ...registry import import_submodules
from .base import GENERATORS, Record, generate_pool_and_pretrain, register_generator, unique_items

import_submodules(__name__)  # every module here registers its generator: a new domain is a new module

__all__ = ["GENERATORS", "Record", "generate_pool_and_pretrain", "register_generator", "unique_items"]

"""Curators of the real sources (Section 4), one module each, registered by source name; the registry and
the row checks they share are in :mod:`.base`."""

from .base import CURATORS, Context, Curator, Record, fields, register_curator
from . import code_r1, openr1, sharegpt, supergpqa  # noqa: E402,F401  (register the curators)

__all__ = ["CURATORS", "Context", "Curator", "Record", "fields", "register_curator"]

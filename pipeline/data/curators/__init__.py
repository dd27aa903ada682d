"""Curators of the real sources (Section 4), one module each, registered by source name; the registry and
the row checks they share are in :mod:`.base`."""

from ...registry import import_submodules
from .base import CURATORS, Context, Curator, Record, fields, register_curator

import_submodules(__name__)  # every module here registers its curator: a new source is a new module

__all__ = ["CURATORS", "Context", "Curator", "Record", "fields", "register_curator"]

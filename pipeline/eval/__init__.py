"""Evaluation: per-task accuracy with the reward registry, token entropy (Eq. 11), benchmark adapters."""

"""Baselines of Section 4: rejection-sampling SFT (RFT) and TIES merging of the single-task models."""

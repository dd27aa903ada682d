"""omni-thinker: multi-task RL post-training pipeline (see README.md)."""

__version__ = "0.1.0"

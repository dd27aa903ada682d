"""Multi-task GRPO (Section 2.1, Eqs. 2–5) and the schedules of Section 2.3.

- :mod:`.grpo`       pure, typed tensor functions for Eqs. 2–5
- :mod:`.schedules`  single-task, joint and curriculum batch schedules
"""

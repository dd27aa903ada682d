"""Hybrid rewards (Section 2.2, Appendix A.1), one registry used by training, evaluation, RFT and verl.

- :mod:`.extract`   answer extraction and the think/answer format check
- :mod:`.format`    r_format and r_tags
- :mod:`.math`      symbolic math verification with a hard deadline (:mod:`.deadline`)
- :mod:`.code`      unit tests run under bubblewrap (:mod:`.sandbox`, :mod:`._harness`)
- :mod:`.qa`        short-form QA by normalised exact match
- :mod:`.judge`     pairwise LLM judge (and the offline rubric judge)
- :mod:`.total`     the registry by task and the weighted total R_k
- :mod:`.verl_entry` verl's ``compute_score`` entry point
"""

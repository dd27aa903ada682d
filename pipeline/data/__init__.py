"""Data: one record schema for every task, curators of the real sources, synthetic generators.

- :mod:`.schema`     the record schema, validation, reading and writing with HF ``datasets``
- :mod:`.prompts`    the think/answer chat prompts shared by all tasks
- :mod:`.splits`     stable hash splits (train / val / test)
- :mod:`.sources`    loading a source: hub id, or a local jsonl / json / parquet path
- :mod:`.stats`      drop accounting and the ``stats.json`` metric
- :mod:`.curators`   OpenR1-Math, code-r1, SuperGPQA (+ distractors), ShareGPT
- :mod:`.synthetic`  seeded generators of the embedded default
- :mod:`.verl_export` verl's parquet format
"""

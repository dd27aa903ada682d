"""The workflow: the stage table that dvc.yaml, the Snakefile rules and the README come from, and its checks."""

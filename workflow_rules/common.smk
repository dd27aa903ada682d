# Shared helpers: validate the configuration with the project's own typed loader (the same
# pydantic models as the CLI and DVC's params), and list each stage's code so that a code
# change reruns it (Snakemake's own code trigger sees only the rule's text).
import glob

from pipeline.config import parse_params

PARAMS = parse_params(config, source="params.yaml (Snakemake config)")
TASKS = list(PARAMS.tasks)


def code(*patterns):
    """Python files of the given modules/packages (recursive), sorted."""
    files = set()
    for pattern in patterns:
        files |= set(glob.glob(f"{pattern}/**/*.py", recursive=True)) if not pattern.endswith(".py") else {pattern}
    return sorted(files)


COMMON_CODE = ["pipeline/config.py", "pipeline/io.py"]


wildcard_constraints:
    task="|".join(TASKS),

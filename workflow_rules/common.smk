# Shared helpers: validate the configuration with the project's own typed loader
# (the same pydantic models as the CLI, so Snakemake and DVC accept exactly the same params).
import glob

from pipeline.config import parse_params

PARAMS = parse_params(config, source="params.yaml (Snakemake config)")

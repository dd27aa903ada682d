"""CLI subcommands, one module each (registered in :mod:`pipeline.cli`)."""

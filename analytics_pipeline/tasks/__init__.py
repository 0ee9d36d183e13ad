"""Whole tasks outside Dagster (demo, training, detecting a file, loading a file), for the CLI and notebooks."""

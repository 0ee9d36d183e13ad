"""The domain: schema, windows, features, detectors, evaluation, registry, inference.

Nothing here imports Dagster, so every function is usable from notebooks, the CLI and tests.
"""

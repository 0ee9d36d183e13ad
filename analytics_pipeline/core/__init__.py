"""The domain: no Dagster import, usable from notebooks, the CLI and tests (see README "Layout")."""

"""Thin Dagster assets: read inputs, call the core, write outputs, report metadata."""

"""The 78-feature matrix: LogFeaturizer and its parts (input columns, text, rolling windows, scaling)."""

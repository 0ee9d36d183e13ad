"""Per-service hourly time series from logs, and system metrics sampled with psutil."""

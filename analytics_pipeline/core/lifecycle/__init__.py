"""The model lifecycle in MLflow: runs, registry versions and aliases, the gate, promotion, matrix runs."""

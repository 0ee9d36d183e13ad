"""Anomaly detectors, training and holdout evaluation, severity, explanations and plots."""

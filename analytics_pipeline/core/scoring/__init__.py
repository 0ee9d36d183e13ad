"""Scoring with a trained model: the engine, AnomalyDetector, the served pyfunc, exports, health, the anomalies store."""

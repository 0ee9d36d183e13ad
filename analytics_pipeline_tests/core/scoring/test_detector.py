"""AnomalyDetector from saved_models/ (checksum verified) and from the MLflow registry."""
from __future__ import annotations

import mlflow
import pytest

from analytics_pipeline.core.lifecycle.registry import register_challenger, set_champion
from analytics_pipeline.core.lifecycle.runs import configure, log_training_run, model_metadata
from analytics_pipeline.core.scoring.detector import AnomalyDetector
from analytics_pipeline.core.scoring.saved_models import ChecksumMismatchError, export_champion
from analytics_pipeline_tests.core.scoring.samples import SPLIT, records


def test_saved_models_path_checks_the_checksum(tmp_path, trained, detector, later):
    path = export_champion(trained.pipeline, 3, model_metadata(trained, {}), tmp_path)
    for source in (tmp_path, path, str(path)):
        loaded = AnomalyDetector(model_path=source)
        assert loaded.model_version == 3 and loaded.threshold == detector.threshold
    sample = records(later.iloc[100:120])
    assert [{**r, "model_version": 7} for r in loaded.detect_batch(sample)] == detector.detect_batch(sample)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(ChecksumMismatchError):
        AnomalyDetector(model_path=path)
    with pytest.raises(ValueError, match="model_path"):
        AnomalyDetector()


def test_from_registry_loads_the_champion(tmp_path, trained, window, detector, later):
    uri, previous = f"sqlite:///{tmp_path}/mlflow.db", mlflow.get_tracking_uri()
    try:
        configure(uri)
        _, model_uri, _ = log_training_run(trained, window[window["timestamp"] < SPLIT], {}, "test")
        version = register_challenger(model_uri, {})
        set_champion(version.version, {})
    finally:
        mlflow.set_tracking_uri(previous)  # other tests keep the session's store
    champion = AnomalyDetector.from_registry(tracking_uri=uri)
    assert mlflow.get_tracking_uri() == previous
    assert champion.model_version == int(version.version)
    sample = records(later.iloc[200:220])
    assert [{**r, "model_version": 7} for r in champion.detect_batch(sample)] == detector.detect_batch(sample)

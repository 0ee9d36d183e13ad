"""saved_models/: atomic export, registry statuses, checksum verification on load."""
from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn.ensemble import IsolationForest
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from analytics_pipeline.core.scoring.saved_models import (
    ChecksumMismatchError,
    export_champion,
    load_exported,
    read_registry,
    record_version,
)


def _pipeline(seed: int) -> Pipeline:
    X = np.random.default_rng(seed).normal(size=(200, 4))
    return Pipeline([("scale", StandardScaler()), ("forest", IsolationForest(n_estimators=10, random_state=seed))]).fit(X)


def test_export_and_load_round_trip(tmp_path):
    pipe = _pipeline(1)
    path = export_champion(pipe, 3, {"training_samples": 200, "metrics": {"f1": 0.9}}, tmp_path)
    assert path.name == "isolation_forest_v3.joblib"
    loaded, meta = load_exported(tmp_path)
    X = np.ones((2, 4))
    assert np.allclose(loaded.score_samples(X), pipe.score_samples(X))
    assert meta["version"] == 3 and len(meta["checksum_sha256"]) == 64
    assert not list(tmp_path.glob(".*tmp*"))  # no temporary files left behind


def test_registry_archives_the_previous_production_version(tmp_path):
    export_champion(_pipeline(1), 1, {}, tmp_path)
    record_version(tmp_path, 2, "testing", {"reason": "worse"})
    export_champion(_pipeline(3), 3, {}, tmp_path)
    registry = read_registry(tmp_path)
    assert registry["active_version"] == 3
    assert {v["version"]: v["status"] for v in registry["versions"]} == {1: "archived", 2: "testing", 3: "production"}
    with pytest.raises(ValueError, match="status"):
        record_version(tmp_path, 4, "shiny", {})


def test_checksum_mismatch_is_refused(tmp_path):
    path = export_champion(_pipeline(1), 1, {}, tmp_path)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(ChecksumMismatchError, match="checksum mismatch"):
        load_exported(path)


def test_loading_without_an_export_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="model_metadata.json"):
        load_exported(tmp_path)
    (tmp_path / "model_metadata.json").write_text(json.dumps({"model_file": "isolation_forest_v9.joblib",
                                                              "checksum_sha256": "0" * 64}))
    with pytest.raises(FileNotFoundError, match="model file missing"):
        load_exported(tmp_path)

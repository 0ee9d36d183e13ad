"""A model pickled by an older layout of the package fails with a retrain message, not a traceback."""
from __future__ import annotations

import json
import sys
import types

import joblib
import pytest

from analytics_pipeline.core.detection.base import BaseDetector
from analytics_pipeline.core.detection.model_files import IncompatibleModelError, load_model_file
from analytics_pipeline.core.features import featurizer
from analytics_pipeline.core.scoring.saved_models import METADATA_FILE, export_champion, load_exported, sha256_file


class _Old:
    """Stands for a class that lived where the package no longer has it."""


def _pickle_as(tmp_path, module: str, name: str, monkeypatch):
    """A joblib file holding an object of class ``module.name``, which then disappears."""
    owner = sys.modules.get(module) or types.ModuleType(module)
    monkeypatch.setitem(sys.modules, module, owner)
    _Old.__module__, _Old.__qualname__ = module, name
    monkeypatch.setattr(owner, name, _Old, raising=False)
    path = tmp_path / "model.joblib"
    joblib.dump(_Old(), path)
    monkeypatch.undo()
    return path


@pytest.mark.parametrize("module, name", [
    ("analytics_pipeline.core.detectors", "IsolationForestDetector"),  # a module that moved away
    (featurizer.__name__, "RetiredFeaturizer"),                         # a class that is gone
])
def test_a_model_from_an_older_layout_says_to_retrain(tmp_path, monkeypatch, module, name):
    path = _pickle_as(tmp_path, module, name, monkeypatch)
    with pytest.raises(IncompatibleModelError, match="retrain") as error:
        load_model_file(path)
    assert "Traceback" not in str(error.value) and path.name in str(error.value)
    with pytest.raises(IncompatibleModelError, match="retrain"):
        BaseDetector.load(path)


def test_saved_models_export_from_an_older_layout_says_to_retrain(tmp_path, monkeypatch):
    old = _pickle_as(tmp_path, "analytics_pipeline.core.features_v0", "LogFeaturizer", monkeypatch)
    model_path = export_champion({"any": "object"}, 1, {}, tmp_path / "saved")
    model_path.write_bytes(old.read_bytes())  # as if exported by the older version: a valid checksum
    meta_path = tmp_path / "saved" / METADATA_FILE
    meta = json.loads(meta_path.read_text())
    meta_path.write_text(json.dumps({**meta, "checksum_sha256": sha256_file(model_path)}))
    with pytest.raises(IncompatibleModelError, match="retrain"):
        load_exported(tmp_path / "saved")

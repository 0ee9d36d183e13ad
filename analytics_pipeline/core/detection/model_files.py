"""Reading pickled models (joblib files) with a clear error when the code has moved on.

A pickle names the module and class of every object in it. A model saved by an older version of
this package, before a module moved or a class was renamed, cannot be rebuilt: the fix is to train
it again (``make demo`` or ``analytics-pipeline train``), and the error says so instead of showing
an unpickling traceback.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import joblib

RETRAIN_HINT = ("retrain it with this version (`make demo`, the weekly job, or `analytics-pipeline train`); "
                "mlruns/ and saved_models/ are local state and may be deleted (`make clean-state`)")


class IncompatibleModelError(ValueError):
    """The file holds a model written by a version of the package whose classes no longer exist."""


def load_model_file(path: str | Path) -> Any:
    """``joblib.load`` of a trusted model file (unpickling runs code), with the retrain hint."""
    try:
        return joblib.load(path)
    except (ModuleNotFoundError, AttributeError) as exc:
        raise IncompatibleModelError(
            f"{Path(path).name} was saved by another version of analytics_pipeline and cannot be loaded "
            f"({exc}): {RETRAIN_HINT}") from None

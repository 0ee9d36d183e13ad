"""A throwaway copy of the package, for tests that must run it as if freshly cloned elsewhere."""
from __future__ import annotations

import shutil
from pathlib import Path

from analytics_pipeline.core.settings import PROJECT_ROOT


def copy_checkout(destination: Path) -> Path:
    """Copy ``analytics_pipeline/`` and ``pyproject.toml`` under ``destination``; returns it."""
    shutil.copytree(PROJECT_ROOT / "analytics_pipeline", destination / "analytics_pipeline",
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(PROJECT_ROOT / "pyproject.toml", destination)
    return destination

"""``saved_models/``: the champion exported for people and notebooks without an MLflow server.

Files: ``isolation_forest_v<N>.joblib`` (the whole scikit-learn Pipeline), ``model_metadata.json``
(training date, samples, feature names, params, metrics, checksum) and ``model_registry.json``
(every version with status production / testing / archived, and ``active_version``). Every file
is written to a temporary name and renamed, so a reader never sees half a file.
"""
from __future__ import annotations

import hashlib
import json
import os
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import joblib

from analytics_pipeline.core.detection.model_files import load_model_file
from analytics_pipeline.core.registry_names import MODEL_NAME

METADATA_FILE = "model_metadata.json"
REGISTRY_FILE = "model_registry.json"


class ChecksumMismatchError(ValueError):
    """The model file's bytes are not the ones its metadata describes."""


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _atomic_write_bytes(path: Path, write) -> None:  # noqa: ANN001 (a callable taking a path)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    write(tmp)
    os.replace(tmp, path)


def _write_json(path: Path, data: Any) -> None:
    _atomic_write_bytes(path, lambda p: p.write_text(json.dumps(data, indent=2, default=str) + "\n"))


def read_registry(out_dir: Path) -> dict[str, Any]:
    path = Path(out_dir) / REGISTRY_FILE
    if not path.exists():
        return {"model_name": MODEL_NAME, "active_version": None, "versions": []}
    return json.loads(path.read_text())


def record_version(out_dir: Path, version: int, status: str, info: dict[str, Any]) -> dict[str, Any]:
    """Add or update one version in model_registry.json; a new production archives the old one."""
    if status not in ("production", "testing", "archived"):
        raise ValueError(f"status must be production, testing or archived, got {status!r}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    registry = read_registry(out_dir)
    now = datetime.now(timezone.utc).isoformat()
    entries = {int(v["version"]): v for v in registry["versions"]}
    if status == "production":
        for v in entries.values():
            if v["status"] == "production" and int(v["version"]) != version:
                v.update(status="archived", archived_at=now)
        registry["active_version"] = version
    entry = entries.setdefault(version, {"version": version, "registered_at": now})
    entry.update(info, status=status, updated_at=now)
    registry["versions"] = [entries[k] for k in sorted(entries)]
    _write_json(out_dir / REGISTRY_FILE, registry)
    return registry


def export_champion(pipeline: Any, version: int, metadata: dict[str, Any], out_dir: Path) -> Path:
    """Write the champion's joblib file and metadata, and mark it production in the registry.

    All or nothing: if any step fails, the directory is put back as it was (the metadata and
    registry files restored, a new model file removed) before the error propagates.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    model_path = out_dir / f"isolation_forest_v{version}.joblib"
    before = {name: (out_dir / name).read_bytes() if (out_dir / name).exists() else None
              for name in (METADATA_FILE, REGISTRY_FILE, model_path.name)}
    try:
        _atomic_write_bytes(model_path, lambda p: joblib.dump(pipeline, p, compress=3))
        full = {**metadata, "version": version, "model_file": model_path.name,
                "checksum_sha256": sha256_file(model_path), "size_bytes": model_path.stat().st_size,
                "exported_at": datetime.now(timezone.utc).isoformat()}
        _write_json(out_dir / METADATA_FILE, full)
        record_version(out_dir, version, "production", {"model_file": model_path.name,
                                                       "checksum_sha256": full["checksum_sha256"],
                                                       "metrics": metadata.get("metrics", {})})
    except BaseException:
        _restore(out_dir, before)
        raise
    return model_path


def _restore(out_dir: Path, files: dict[str, bytes | None]) -> None:
    for name, content in files.items():
        path = out_dir / name
        if content is None:
            path.unlink(missing_ok=True)
        else:
            _atomic_write_bytes(path, lambda p, c=content: p.write_bytes(c))


def active_version(out_dir: Path) -> int | None:
    """The version exported as production (None: nothing exported yet)."""
    active = read_registry(out_dir).get("active_version")
    return int(active) if active is not None else None


def load_exported(path: Path) -> tuple[Any, dict[str, Any]]:
    """Load the exported model (a joblib file, or the directory holding the active one).

    The file's SHA-256 must match ``model_metadata.json``; a mismatch raises
    :class:`ChecksumMismatchError` before anything is unpickled.
    """
    path = Path(path)
    out_dir = path if path.is_dir() else path.parent
    meta_path = out_dir / METADATA_FILE
    if not meta_path.exists():
        raise FileNotFoundError(f"no {METADATA_FILE} in {out_dir}: export a champion first")
    metadata = json.loads(meta_path.read_text())
    model_path = out_dir / metadata["model_file"] if path.is_dir() else path
    if model_path.name != metadata["model_file"]:
        raise ValueError(f"{model_path.name} is not the exported champion ({metadata['model_file']})")
    if not model_path.exists():
        raise FileNotFoundError(f"model file missing: {model_path}")
    actual = sha256_file(model_path)
    if actual != metadata["checksum_sha256"]:
        raise ChecksumMismatchError(
            f"checksum mismatch for {model_path.name}: expected {metadata['checksum_sha256'][:12]}…, "
            f"got {actual[:12]}… (file changed or corrupted; re-export the champion)")
    return load_model_file(model_path), metadata

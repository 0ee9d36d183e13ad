"""Stores DataFrame assets as Parquet files under DAGSTER_HOME, one file per partition."""
from __future__ import annotations

import os
import pickle
from pathlib import Path
from typing import Any

import pandas as pd
from dagster import ConfigurableIOManager, InputContext, OutputContext
from pydantic import Field

from analytics_pipeline.core.settings import get_settings


class ParquetIOManager(ConfigurableIOManager):
    """DataFrames as ``<base>/<asset>/<partition>.parquet``; other values pickled beside them.

    Files are written to a temporary name and renamed, so a crashed run never leaves half a
    file that a later run would read.
    """

    base_dir: str | None = Field(default=None, description="Empty: $DAGSTER_HOME/storage")

    def _path(self, context: InputContext | OutputContext, suffix: str) -> Path:
        base = Path(self.base_dir) if self.base_dir else get_settings().dagster_home / "storage"
        key = "/".join(context.asset_key.path)
        name = context.asset_partition_key if context.has_asset_partitions else "__all__"
        return base / key / f"{name}{suffix}"

    def handle_output(self, context: OutputContext, obj: Any) -> None:
        if obj is None:
            return
        is_frame = isinstance(obj, pd.DataFrame)
        path = self._path(context, ".parquet" if is_frame else ".pkl")
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + f".tmp{os.getpid()}")
        if is_frame:
            obj.to_parquet(tmp, index=False)
        else:
            with open(tmp, "wb") as f:
                pickle.dump(obj, f)
        os.replace(tmp, path)
        context.add_output_metadata({"path": str(path), "size_bytes": path.stat().st_size})

    def load_input(self, context: InputContext) -> Any:
        for suffix in (".parquet", ".pkl"):
            path = self._path(context, suffix)
            if path.exists():
                if suffix == ".parquet":
                    return pd.read_parquet(path)
                with open(path, "rb") as f:
                    return pickle.load(f)
        raise FileNotFoundError(
            f"no stored value for {context.asset_key.to_user_string()} at {path.with_suffix('')}.*: "
            "materialize the upstream asset for this partition first")

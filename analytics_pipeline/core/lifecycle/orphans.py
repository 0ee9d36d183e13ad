"""Runs left behind by a killed training: found by the process that owned them, marked FAILED.

A training process killed with SIGKILL cannot end its MLflow run, so the run would stay RUNNING
forever. Every training run is tagged at creation with the host, PID and start time of the process
that owns it; the next training on the same host marks a RUNNING run FAILED when that process is
gone (or the PID now belongs to another process), and deletes the version such a run registered,
which never met the gate (registration happens inside the run). Runs owned by another host are
left alone: we cannot see its processes.
"""
from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from typing import Mapping

import psutil
from mlflow import MlflowClient
from mlflow.entities import RunStatus

from analytics_pipeline.core.lifecycle.registry import (
    model_versions,
    point_alias_at_newest,
    remove_unpromoted_version,
)
from analytics_pipeline.core.registry_names import CHALLENGER

HOST_TAG, PID_TAG, STARTED_TAG = "process.host", "process.pid", "process.started"
FAILURE_TAG = "failure_reason"
# psutil's create_time is rounded to the clock tick; a reused PID starts much later than that.
_START_TOLERANCE_S = 1.0


@dataclass(frozen=True)
class OrphanedRun:
    """A run whose process died, now marked FAILED, and the versions it had registered (deleted)."""

    run_id: str
    pid: int
    removed_versions: tuple[int, ...]


def process_tags() -> dict[str, str]:
    """Tags naming this process, set on a run when it is created."""
    return {HOST_TAG: socket.gethostname(), PID_TAG: str(os.getpid()),
            STARTED_TAG: repr(psutil.Process().create_time())}


def owner_is_gone(tags: Mapping[str, str]) -> bool:
    """True when ``tags`` name a process on this host that no longer runs."""
    if tags.get(HOST_TAG) != socket.gethostname() or PID_TAG not in tags:
        return False
    try:
        process = psutil.Process(int(tags[PID_TAG]))
        # A killed child not yet reaped by its parent is a zombie: gone for our purpose.
        if process.status() == psutil.STATUS_ZOMBIE:
            return True
        return abs(process.create_time() - float(tags.get(STARTED_TAG, "nan"))) > _START_TOLERANCE_S
    except psutil.NoSuchProcess:
        return True
    except (ValueError, psutil.Error):
        return False


def fail_orphaned_runs(experiment_id: str) -> list[OrphanedRun]:
    """Mark this experiment's orphaned RUNNING runs FAILED and delete the versions they registered."""
    client = MlflowClient()
    orphaned = []
    running = client.search_runs([experiment_id], filter_string="attributes.status = 'RUNNING'")
    for run in running:
        if not owner_is_gone(run.data.tags):
            continue
        pid = int(run.data.tags[PID_TAG])
        removed = tuple(remove_unpromoted_version(v) for v in model_versions(run_id=run.info.run_id))
        removed = tuple(v for v in removed if v is not None)
        client.set_tag(run.info.run_id, FAILURE_TAG,
                       f"process {pid} on {run.data.tags[HOST_TAG]} ended without finishing the run "
                       f"(killed or crashed); found by process {os.getpid()}")
        client.set_terminated(run.info.run_id, RunStatus.to_string(RunStatus.FAILED))
        orphaned.append(OrphanedRun(run.info.run_id, pid, removed))
    if any(o.removed_versions for o in orphaned):
        point_alias_at_newest(CHALLENGER)
    return orphaned

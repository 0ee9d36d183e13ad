"""Running a Dagster job from the command line: a line per step, the event log in a file.

The job runs in this process with two loggers in place of Dagster's console logger: one writes
every event to ``<DAGSTER_HOME>/logs/<job>-<partition>-<run>.log``, the other prints a line when
a step ends, with what it produced (its asset's ``summary`` metadata) and its duration. The run
is stored in the Dagster instance as usual, so the UI shows it in full.
"""
from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dagster import AssetCheckSeverity, DagsterEventType, DagsterInstance, ExecuteInProcessResult, LoggerDefinition

from analytics_pipeline.definitions import defs
from analytics_pipeline.tasks.console import StepLines, library_output_to

SUMMARY_KEY = "summary"  # the one-line metadata entry every asset of the weekly job writes


@dataclass(frozen=True)
class JobRun:
    result: ExecuteInProcessResult
    seconds: float
    log_path: Path

    @property
    def success(self) -> bool:
        return self.result.success

    def materializations(self) -> dict[str, dict[str, Any]]:
        """Asset name -> its materialization metadata, as plain values."""
        out: dict[str, dict[str, Any]] = {}
        for event in self.result.get_asset_materialization_events():
            mat = event.event_specific_data.materialization
            out[mat.asset_key.to_user_string()] = {k: getattr(v, "value", v) for k, v in mat.metadata.items()}
        return out


class _StepLineHandler(logging.Handler):
    """Turns Dagster step events into step lines."""

    def __init__(self, lines: StepLines) -> None:
        super().__init__(logging.DEBUG)
        self.lines = lines
        self.summaries: dict[str, list[str]] = {}

    def emit(self, record: logging.LogRecord) -> None:
        event = getattr(record, "dagster_meta", {}).get("dagster_event")
        if event is None or event.step_key is None:
            return
        step, kind, data = event.step_key, event.event_type, event.event_specific_data
        if kind == DagsterEventType.ASSET_MATERIALIZATION:
            summary = data.materialization.metadata.get(SUMMARY_KEY)
            if summary is not None:
                self.summaries.setdefault(step, []).append(str(summary.value))
        elif kind == DagsterEventType.STEP_SUCCESS:
            self.lines.done(step, "; ".join(self.summaries.get(step, [])), data.duration_ms / 1000)
        elif kind == DagsterEventType.STEP_FAILURE:
            self.lines.failed(step, _reason(data))
        elif kind == DagsterEventType.STEP_UP_FOR_RETRY:
            self.lines.note("↻", step, f"retrying: {_reason(data)}")
        elif kind == DagsterEventType.STEP_SKIPPED:
            self.lines.note("-", step, "skipped (an upstream step failed)")
        elif kind == DagsterEventType.ASSET_CHECK_EVALUATION and not data.passed:
            # A WARN check that did not pass (a rejected challenger) is news, not a failure.
            warning = data.severity == AssetCheckSeverity.WARN
            self.lines.note("!", step, f"check {data.check_name} " + ("did not pass (warning)" if warning else "FAILED"))


def _reason(data: Any) -> str:
    """The first line a person needs from a failure: a Failure's description, else the error."""
    user = getattr(data, "user_failure_data", None)
    if user is not None and user.description:
        return user.description.splitlines()[0]
    error = getattr(data, "error", None)
    while error is not None and error.cause is not None and "dagster._core.errors" in error.cls_name:
        error = error.cause  # Dagster's wrapper says only that the step failed
    return (error.message.strip().splitlines() or ["failed"])[-1] if error is not None else "failed"


def _logger(handler: logging.Handler, name: str) -> LoggerDefinition:
    def build(_context: Any) -> logging.Logger:
        logger = logging.Logger(name, logging.DEBUG)
        logger.addHandler(handler)
        return logger

    return LoggerDefinition(build, description=name)


def run_job(job_name: str, partition: str, lines: StepLines, log_dir: Path,
            run_config: dict[str, Any] | None = None) -> JobRun:
    """Run ``job_name`` for one partition in this process, quietly; see the module docstring."""
    run_id = str(uuid.uuid4())
    log_path = log_dir / f"{job_name}-{partition}-{run_id[:8]}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    file_handler = logging.FileHandler(log_path, encoding="utf-8")
    file_handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)-7s %(message)s"))
    job = defs.resolve_job_def(job_name).with_logger_defs({
        "event_log_file": _logger(file_handler, "event_log_file"),
        "step_lines": _logger(_StepLineHandler(lines), "step_lines"),
    })
    # Dagster uses only the loggers the run config names; naming none means its console logger.
    run_config = {**(run_config or {}), "loggers": {"event_log_file": {}, "step_lines": {}}}
    started = time.perf_counter()
    try:
        with library_output_to(log_path):
            result = job.execute_in_process(partition_key=partition, instance=DagsterInstance.get(),
                                            raise_on_error=False, run_id=run_id, run_config=run_config)
    finally:
        file_handler.close()
    return JobRun(result, time.perf_counter() - started, log_path)

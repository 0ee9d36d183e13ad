"""What a person sees on the command line: one line per step, progress bars, no library chatter.

A step line says what the step produced and how long it took (``✓ raw_logs  216,347 logs ...
24.8s``). Work longer than a few seconds shows a progress bar (``rich``). What libraries print
on their own (MLflow's download bars and notices, warnings, Dagster's event stream) goes to a log
file whose path the command names, so the terminal keeps to what the user asked for.
"""
from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, \
    TimeRemainingColumn
from rich.text import Text

from analytics_pipeline.core.redaction import redact

NAME_WIDTH = 16


def elapsed_text(seconds: float) -> str:
    """``0.4s``, ``12s``, ``3m 05s``."""
    if seconds < 10:
        return f"{seconds:.1f}s"
    if seconds < 60:
        return f"{seconds:.0f}s"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes}m {rest:02d}s"


def make_console(file: IO[str] | None = None) -> Console:
    """A console on today's stdout (bound now, so redirecting stderr later does not move it);
    no markup (log messages hold brackets), no wrapping (lines stay greppable)."""
    return Console(file=file or sys.stdout, markup=False, highlight=False, soft_wrap=True)


@dataclass
class Step:
    """An open step: set ``what`` to say what it produced."""

    name: str
    started: float = field(default_factory=time.perf_counter)
    what: str = ""

    @property
    def seconds(self) -> float:
        return time.perf_counter() - self.started


class StepLines:
    """Prints ``✓ name  what  duration`` lines (``✗`` for a failure, ``↻`` for a retry)."""

    def __init__(self, console: Console) -> None:
        self.console = console

    def done(self, name: str, what: str, seconds: float | None = None) -> None:
        self._line("✓", "green", name, what, seconds)

    def failed(self, name: str, why: str, seconds: float | None = None) -> None:
        self._line("✗", "bold red", name, redact(why), seconds)

    def note(self, symbol: str, name: str, what: str) -> None:
        self._line(symbol, "yellow", name, redact(what), None)

    def _line(self, symbol: str, style: str, name: str, what: str, seconds: float | None) -> None:
        text = Text.assemble("  ", (symbol, style), f" {name:<{NAME_WIDTH}} ", what)
        if seconds is not None:
            text.append(f"  {elapsed_text(seconds)}", style="dim")
        self.console.print(text)

    @contextlib.contextmanager
    def step(self, name: str) -> Iterator[Step]:
        """Time a block; its line is printed when it ends (a failure prints the error's first line)."""
        current = Step(name)
        try:
            yield current
        except BaseException as exc:
            self.failed(name, str(exc).splitlines()[0] if str(exc) else type(exc).__name__, current.seconds)
            raise
        self.done(name, current.what, current.seconds)

    @contextlib.contextmanager
    def progress(self, description: str, total: int | None) -> Iterator[Callable[[int], None]]:
        """A progress bar (count, elapsed, time left); yields ``advance(n)``."""
        columns = [TextColumn(f"    {description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                   TextColumn("left"), TimeRemainingColumn()]
        # Off when stdout is a file or a pipe: there a bar only leaves blank lines behind.
        with Progress(*columns, console=self.console, transient=True, disable=not self.console.is_terminal) as bar:
            task = bar.add_task(description, total=total)
            yield lambda n: bar.advance(task, n)


@contextlib.contextmanager
def library_output_to(log_path: Path) -> Iterator[Path]:
    """Send what libraries print to stderr (MLflow notices and download bars, warnings, tqdm)
    to ``log_path`` while the block runs; the console, bound to stdout, is unaffected."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    previous_bar = os.environ.get("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR")
    os.environ["MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR"] = "false"
    try:
        # MLflow's logger and eprint write to whatever sys.stderr is at the time, as do warnings.
        with open(log_path, "a", encoding="utf-8") as log, contextlib.redirect_stderr(log):
            yield log_path
    finally:
        if previous_bar is None:
            os.environ.pop("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", None)
        else:
            os.environ["MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR"] = previous_bar

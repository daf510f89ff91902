"""Progress bars for long command-line work, drawn with rich on standard error.

Bars show only when standard error is a terminal: in CI logs, pipes, Prefect workers and tests they draw
nothing, so output stays clean. Use them from the CLI or a flow run started by the CLI:

    with progress_bar("ingest", total=len(files), unit="documents") as bar:
        for chunk in chunks:
            ...
            bar.advance(len(chunk))

or wrap an iterable: `for path in track(paths, "reading"): ...`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

T = TypeVar("T")


class ProgressBar:
    """One bar: `advance` it, and optionally change its text or total as the work becomes known."""

    def __init__(self, progress: Progress | None, task: TaskID | None) -> None:
        self._progress, self._task = progress, task

    def advance(self, steps: float = 1, *, description: str | None = None) -> None:
        if self._progress is not None:
            self._progress.update(self._task, advance=steps, **({"description": description} if description else {}))

    def update(self, *, total: float | None = None, description: str | None = None) -> None:
        if self._progress is not None:
            changes = {"total": total} if total is not None else {}
            self._progress.update(self._task, **changes, **({"description": description} if description else {}))


@contextmanager
def progress_bar(
    description: str,
    total: float | None = None,
    *,
    unit: str = "",
    enabled: bool | None = None,
    console: Console | None = None,
) -> Iterator[ProgressBar]:
    """A bar for the block; `total=None` shows a spinner until `update(total=...)`.

    `enabled=None` draws only on a terminal; printing inside the block still works (lines go above the bar).
    """
    console = console or Console(stderr=True)
    if enabled is None:
        enabled = console.is_terminal and not console.is_dumb_terminal
    if not enabled:
        yield ProgressBar(None, None)
        return
    columns = [
        SpinnerColumn(),
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn(unit),
        TimeElapsedColumn(),
        TextColumn("eta"),
        TimeRemainingColumn(),
    ]
    with Progress(*columns, console=console, transient=False) as progress:
        yield ProgressBar(progress, progress.add_task(description, total=total))


def track(items: Iterable[T], description: str, total: float | None = None, *, unit: str = "") -> Iterator[T]:
    """Iterate over `items` with a bar (total from len() when it has one)."""
    if total is None and hasattr(items, "__len__"):
        total = len(items)
    with progress_bar(description, total, unit=unit) as bar:
        for item in items:
            yield item
            bar.advance()

"""Checks of the flows' parameters and the errors they raise, importable without loading Prefect: the command
line checks a request before any Prefect server starts (a reversed range took 17 s and a traceback)."""

from __future__ import annotations

from datetime import date, timedelta


class BackfillError(ValueError):
    """The backfill's parameters cannot be used; nothing was touched."""


def backfill_days(start: date, end: date, sources: list[str], known_sources: set[str], max_days: int) -> list[date]:
    """The days to redo, or BackfillError saying what is wrong with the request."""
    if end < start:
        raise BackfillError(f"end {end} is before start {start}")
    days = (end - start).days + 1
    if days > max_days:
        raise BackfillError(f"{days} days from {start} to {end} is over the maximum of {max_days}; split the range")
    unknown = sorted(set(sources) - known_sources)
    if unknown:
        known = ", ".join(sorted(known_sources)) or "none"
        raise BackfillError(f"unknown source(s) {', '.join(unknown)}; known: {known}")
    return [start + timedelta(days=n) for n in range(days)]

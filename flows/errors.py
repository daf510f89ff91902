"""Errors the flows raise for bad parameters, importable without loading Prefect."""


class BackfillError(ValueError):
    """The backfill's parameters cannot be used; nothing was touched."""

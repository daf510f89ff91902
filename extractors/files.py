"""Local files: finding documents under paths and reading them with a size cap."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from extractors.document import SUPPORTED_SUFFIXES
from extractors.records import Reject


def file_uri(path: Path) -> str:
    """The `file://` URI of a path as discover_documents returns it (absolute, symlinks resolved)."""
    return path.as_uri()


def discover_documents(paths: Iterable[str | Path]) -> tuple[list[Path], list[tuple[str, Reject]]]:
    """Supported files under `paths` (folders recursively, hidden entries skipped), sorted and unique.

    A path that does not exist, or a named file of an unsupported type, comes back as a reject.
    """
    found: dict[Path, None] = {}
    missing: list[tuple[str, Reject]] = []
    for given in paths:
        path = Path(given).expanduser()
        if path.is_dir():
            for child in sorted(path.rglob("*")):
                relative = child.relative_to(path).parts
                if child.is_file() and not any(p.startswith(".") for p in relative) and _supported(child):
                    found[child.resolve()] = None
        elif path.is_file():
            if _supported(path):
                found[path.resolve()] = None
            else:
                missing.append((file_uri(path.resolve()), Reject("unsupported_type", f"suffix of {path.name}")))
        else:
            missing.append((path.absolute().as_uri(), Reject("not_found", f"no such file or folder: {given}")))
    return list(found), missing


def read_document(path: Path, max_bytes: int) -> bytes | Reject:
    """The file's bytes, at most one past `max_bytes`: a huge file costs no more than the limit.

    The first read asks for the size the file has (a read of `max_bytes` would allocate that much for every
    file); a file that grew meanwhile is read on up to the limit."""
    try:
        with path.open("rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            raw = handle.read(min(size, max_bytes) + 1)
            if size < len(raw) <= max_bytes:
                raw += handle.read(max_bytes + 1 - len(raw))
    except OSError as exc:
        return Reject("unreadable", f"{type(exc).__name__}: {exc.strerror or exc}")
    return raw


def _supported(path: Path) -> bool:
    return path.name.lower().endswith(SUPPORTED_SUFFIXES)

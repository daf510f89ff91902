"""Whole-file writes for what the warehouse hands out (exports, the report): a reader never sees half a file."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def atomic_write(target: str | Path) -> Iterator[Path]:
    """Yield a temporary path in `target`'s folder to write to; when the block ends, the file is flushed to disk
    and renamed over `target`, so a reader (or a crash) sees the old file or the new one, never half of one.
    When the block raises, the temporary file is removed and `target` is left as it was.

    The temporary name starts with a dot and ends in `.tmp` (the same folder: a rename across file systems is a
    copy); the file gets the umask's mode, as a plain write would."""
    target = Path(target)
    temp = target.with_name(f".{target.name}.{os.getpid()}-{uuid.uuid4().hex[:8]}.tmp")
    try:
        yield temp
        with open(temp, "rb") as written:
            os.fsync(written.fileno())
        os.replace(temp, target)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    _fsync_folder(target.parent)


def _fsync_folder(folder: Path) -> None:
    """Make the rename itself durable (POSIX); a no-op where folders cannot be opened (Windows)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)

"""Local files: finding documents under paths and reading them with a size cap.

Only regular files are ever opened: a FIFO blocks its reader, a device (/dev/zero) never ends, so both are
rejects `unsupported_type`. Inside a folder, a symlink that leads outside it is a reject `outside_root`
unless symlinks are followed on request (a folder of articles must not hand out /etc/passwd).
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from extractors.document import INGESTED_SUFFIXES
from extractors.records import Reject
from extractors.urls import is_file_uri, path_from_file_uri, reject_key


@dataclass(frozen=True)
class FoundFile:
    """A document to read. `path` is resolved (what is opened; the article's `file://` key, as always);
    `given` is the absolute path as named, symlinks not resolved: what a read reject is keyed by, stable from
    run to run even when the resolved path is not (`/proc/self/...` resolves to the reading process)."""

    path: Path
    given: str

    @property
    def uri(self) -> str:
        return file_uri(self.path)

    @property
    def reject_uri(self) -> str:
        return Path(self.given).as_uri()


def file_uri(path: Path) -> str:
    """The `file://` URI of a path as discover_documents returns it (absolute, symlinks resolved)."""
    return path.as_uri()


def discover_documents(
    paths: Iterable[str | Path], follow_symlinks: bool = False
) -> tuple[list[FoundFile], list[tuple[str, Reject]]]:
    """Supported files under `paths` (folders recursively, hidden entries skipped), sorted and unique.

    A path may be a `file:` URI. A missing path is a reject `not_found`, one that cannot be read (a symlink
    loop, no permission) `unreadable`, a named file of another type, a FIFO or a device `unsupported_type`;
    inside folders, symlinks leading outside the folder are `outside_root` unless `follow_symlinks`.
    """
    found: dict[Path, FoundFile] = {}
    rejects: dict[str, Reject] = {}
    for given in paths:
        text = str(given)
        if is_file_uri(text):
            named = path_from_file_uri(text)
            if isinstance(named, Reject):
                rejects.setdefault(reject_key(text), named)
                continue
        else:
            named = Path(text).expanduser()
        shown = os.path.abspath(named)
        try:
            info = os.stat(named)
        except OSError as exc:
            rejects.setdefault(Path(shown).as_uri(), _stat_reject(exc, text))
            continue
        if stat.S_ISDIR(info.st_mode):
            for document in sorted(_walk(Path(shown), follow_symlinks, rejects), key=lambda f: f.given):
                found.setdefault(document.path, document)
        elif not stat.S_ISREG(info.st_mode):
            rejects.setdefault(Path(shown).as_uri(), Reject("unsupported_type", f"{_kind(info.st_mode)}: {text}"))
        elif _supported(named.name):
            found.setdefault(named.resolve(), FoundFile(named.resolve(), shown))
        else:
            rejects.setdefault(Path(shown).as_uri(), Reject("unsupported_type", f"suffix of {named.name}"))
    return list(found.values()), list(rejects.items())


def read_document(path: Path, max_bytes: int) -> bytes | Reject:
    """The file's bytes, at most one past `max_bytes`: a huge file costs no more than the limit.

    The file is opened without blocking and read only when it is a regular file (it may have been replaced by
    a FIFO or a device since it was found). The first read asks for the size the file has (a read of
    `max_bytes` would allocate that much for every file); a file that grew meanwhile is read on up to the
    limit."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:  # found, then gone or changed: a read failure, not a path the user got wrong
        return _unreadable(exc)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            return Reject("unsupported_type", f"{_kind(info.st_mode)}: {path}")
        with os.fdopen(fd, "rb", closefd=False) as handle:
            size = info.st_size
            raw = handle.read(min(size, max_bytes) + 1)
            if size < len(raw) <= max_bytes:
                raw += handle.read(max_bytes + 1 - len(raw))
    except OSError as exc:
        return _unreadable(exc)
    finally:
        os.close(fd)
    return raw


def _walk(root: Path, follow_symlinks: bool, rejects: dict[str, Reject]) -> list[FoundFile]:
    """The supported files under a folder. Paths are kept both as named under the folder (reject keys) and
    resolved (symlinks checked against the resolved root; each resolved folder is read once, so a symlink
    loop ends)."""
    found: list[FoundFile] = []
    real_root = os.path.realpath(root)
    visited = {real_root}
    stack = [(str(root), real_root)]
    while stack:
        shown_dir, real_dir = stack.pop()
        try:
            with os.scandir(real_dir) as listing:
                entries = sorted(listing, key=lambda e: e.name)
        except OSError as exc:
            rejects.setdefault(Path(shown_dir).as_uri(), _unreadable(exc))
            continue
        for entry in entries:
            if entry.name.startswith("."):
                continue
            shown = os.path.join(shown_dir, entry.name)
            real = os.path.join(real_dir, entry.name)
            try:
                is_link = entry.is_symlink()
                info = os.stat(real) if is_link else entry.stat(follow_symlinks=False)
            except OSError as exc:  # a symlink loop, a dangling symlink, a file gone meanwhile
                if exc.errno == errno.ELOOP or _supported(entry.name):
                    rejects.setdefault(Path(shown).as_uri(), _stat_reject(exc, shown))
                continue
            if is_link:
                real = os.path.realpath(real)
                if not follow_symlinks and not _inside(real, real_root):
                    if stat.S_ISDIR(info.st_mode) or _supported(entry.name):
                        detail = f"symlink to {real}, outside {root}; pass --follow-symlinks to read it"
                        rejects.setdefault(Path(shown).as_uri(), Reject("outside_root", detail))
                    continue
            if stat.S_ISDIR(info.st_mode):
                if real not in visited:
                    visited.add(real)
                    stack.append((shown, real))
            elif not _supported(entry.name):
                continue
            elif stat.S_ISREG(info.st_mode):
                found.append(FoundFile(Path(real), shown))
            else:
                rejects.setdefault(Path(shown).as_uri(), Reject("unsupported_type", f"{_kind(info.st_mode)}: {shown}"))
    return found


def _inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def _kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a FIFO, not a regular file"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device, not a regular file"
    if stat.S_ISSOCK(mode):
        return "a socket, not a regular file"
    return "not a regular file"


def _stat_reject(exc: OSError, given: str) -> Reject:
    """`not_found` only for a path that is truly missing; a loop or a refusal is `unreadable`."""
    if exc.errno in (errno.ENOENT, errno.ENOTDIR):
        if os.path.islink(given):
            return Reject("not_found", f"symlink to a missing file: {given}")
        return Reject("not_found", f"no such file or folder: {given}")
    return _unreadable(exc)


def _unreadable(exc: OSError) -> Reject:
    if exc.errno == errno.ELOOP:
        return Reject("unreadable", "symlink loop (too many levels of symbolic links)")
    return Reject("unreadable", f"{type(exc).__name__}: {exc.strerror or exc}")


def _supported(name: str) -> bool:
    return name.lower().endswith(INGESTED_SUFFIXES)

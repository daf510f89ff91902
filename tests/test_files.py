"""Finding and reading local files (fetching/files.py): symlinks that leave a folder, FIFOs, devices, loops
and /proc files are rejects with their own reasons, never a hang, never a file from outside the folder."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from fetching.files import discover_documents, read_document

pytestmark = pytest.mark.pure

ARTICLE = "Roscosmos video\n\nThe agency posted a clip of the Russian segment leaving the station.\n"


def found_names(found) -> list[str]:
    return [Path(f.given).name for f in found]


def reasons(rejects) -> dict[str, str]:
    return {uri.rsplit("/", 1)[1]: r.reason for uri, r in rejects}


@pytest.fixture
def layout(tmp_path: Path) -> tuple[Path, Path]:
    """`root/` with one article; `outside/` next to it with a file the root must not hand out."""
    root, outside = tmp_path / "root", tmp_path / "outside"
    root.mkdir()
    outside.mkdir()
    (root / "a.txt").write_text(ARTICLE)
    (outside / "passwd.txt").write_text("root:x:0:0:root:/root:/bin/bash\n")
    (outside / "more").mkdir()
    (outside / "more" / "b.html").write_text("<p>outside</p>")
    return root, outside


def test_discover_symlink_to_file_outside_root_is_rejected(layout):
    root, outside = layout
    (root / "passwd.txt").symlink_to(outside / "passwd.txt")
    (root / "picture.jpg").symlink_to(outside / "passwd.txt")  # an ignored suffix stays ignored
    found, rejects = discover_documents([root])
    assert found_names(found) == ["a.txt"]
    assert [(uri, r.reason) for uri, r in rejects] == [((root / "passwd.txt").as_uri(), "outside_root")]
    assert "--follow-symlinks" in rejects[0][1].detail


def test_discover_symlinked_folder_outside_root_is_rejected(layout):
    root, outside = layout
    (root / "more").symlink_to(outside / "more", target_is_directory=True)
    found, rejects = discover_documents([root])
    assert found_names(found) == ["a.txt"] and reasons(rejects) == {"more": "outside_root"}


def test_discover_follow_symlinks_reads_outside_root(layout):
    root, outside = layout
    (root / "passwd.txt").symlink_to(outside / "passwd.txt")
    (root / "more").symlink_to(outside / "more", target_is_directory=True)
    found, rejects = discover_documents([root], follow_symlinks=True)
    assert rejects == []
    assert sorted(f.path for f in found) == sorted(
        [(root / "a.txt").resolve(), (outside / "passwd.txt").resolve(), (outside / "more" / "b.html").resolve()]
    )


def test_discover_symlink_inside_root_is_read_once(layout):
    root, _ = layout
    (root / "sub").mkdir()
    (root / "sub" / "alias.txt").symlink_to(root / "a.txt")
    (root / "sub" / "up").symlink_to(root, target_is_directory=True)  # a cycle through the root
    found, rejects = discover_documents([root])
    assert [f.path for f in found] == [(root / "a.txt").resolve()] and rejects == []


def test_discover_symlink_loops_in_folder_are_unreadable(layout):
    root, _ = layout
    (root / "self.html").symlink_to(root / "self.html")
    (root / "ping.txt").symlink_to(root / "pong.txt")
    (root / "pong.txt").symlink_to(root / "ping.txt")
    (root / "dangling.html").symlink_to(root / "gone.html")
    found, rejects = discover_documents([root])
    assert found_names(found) == ["a.txt"]
    assert reasons(rejects) == {
        "self.html": "unreadable",
        "ping.txt": "unreadable",
        "pong.txt": "unreadable",
        "dangling.html": "not_found",
    }


def test_discover_fifo_in_folder_is_unsupported_type(layout):
    root, _ = layout
    os.mkfifo(root / "pipe.html")
    os.mkfifo(root / "pipe.dat")  # an ignored suffix stays ignored
    found, rejects = discover_documents([root])
    assert found_names(found) == ["a.txt"] and reasons(rejects) == {"pipe.html": "unsupported_type"}


def test_discover_named_special_files(tmp_path):
    os.mkfifo(tmp_path / "pipe.html")
    (tmp_path / "loop.txt").symlink_to(tmp_path / "loop.txt")
    named = [tmp_path / "pipe.html", "/dev/zero", tmp_path / "loop.txt", tmp_path / "missing.txt"]
    found, rejects = discover_documents(named)
    assert found == []
    assert {uri: (r.reason, r.detail.split(":")[0]) for uri, r in rejects} == {
        (tmp_path / "pipe.html").as_uri(): ("unsupported_type", "a FIFO, not a regular file"),
        "file:///dev/zero": ("unsupported_type", "a device, not a regular file"),
        (tmp_path / "loop.txt").as_uri(): ("unreadable", "symlink loop (too many levels of symbolic links)"),
        (tmp_path / "missing.txt").as_uri(): ("not_found", "no such file or folder"),
    }


def test_discover_named_file_without_permission_is_unreadable(tmp_path, monkeypatch):
    locked = tmp_path / "locked"
    locked.mkdir()
    (locked / "a.txt").write_text(ARTICLE)
    if os.geteuid() == 0:  # root reads whatever the mode: refuse as the kernel would refuse anyone else
        real_stat, real_open = os.stat, os.open

        def refused(real):
            def call(path, *args, **kwargs):
                if str(path).startswith(str(locked)):
                    raise PermissionError(13, "Permission denied", str(path))
                return real(path, *args, **kwargs)

            return call

        monkeypatch.setattr(os, "stat", refused(real_stat))
        monkeypatch.setattr(os, "open", refused(real_open))
    locked.chmod(0)
    try:
        found, rejects = discover_documents([locked / "a.txt"])
        opened = read_document(locked / "a.txt", 1000)
    finally:
        monkeypatch.undo()
        locked.chmod(0o755)
    assert found == [] and [(r.reason, r.detail) for _, r in rejects] == [
        ("unreadable", "PermissionError: Permission denied")
    ]
    assert opened.reason == "unreadable" and "Permission denied" in opened.detail


def test_discover_named_symlink_keyed_by_given_path(tmp_path):
    """A named symlink is read; its article is keyed by the resolved path, its rejects by the path as named."""
    real = tmp_path / "real.txt"
    real.write_text(ARTICLE)
    (tmp_path / "link.txt").symlink_to(real)
    (tmp_path / "mem.html").symlink_to("/proc/self/mem")
    found, rejects = discover_documents([tmp_path / "link.txt", tmp_path / "mem.html"])
    assert rejects == []
    by_name = {Path(f.given).name: f for f in found}
    assert by_name["link.txt"].path == real.resolve() and by_name["link.txt"].uri == real.resolve().as_uri()
    assert by_name["link.txt"].reject_uri == (tmp_path / "link.txt").as_uri()
    mem = by_name["mem.html"]
    assert mem.path == Path(f"/proc/{os.getpid()}/mem")  # resolved: changes with every process
    assert mem.reject_uri == (tmp_path / "mem.html").as_uri()  # as named: stable
    assert read_document(mem.path, 1000).reason == "unreadable"


def test_discover_file_uris(tmp_path):
    good = tmp_path / "a b.txt"
    good.write_text(ARTICLE)
    uri = "file://" + str(tmp_path).replace(" ", "%20") + "/a%20b.txt"
    found, rejects = discover_documents([uri, "file://fileserver.example/share/x.txt", "file://localhost/nowhere.txt"])
    assert [f.path for f in found] == [good.resolve()]
    assert {key: r.reason for key, r in rejects} == {
        "file://fileserver.example/share/x.txt": "bad_url",
        "file:///nowhere.txt": "not_found",
    }


def test_read_document_never_blocks_on_fifo(tmp_path):
    """A file found as a regular file may be a FIFO by the time it is read: the read must not block."""
    fifo = tmp_path / "swapped.html"
    os.mkfifo(fifo)
    outcome: list = []
    reader = threading.Thread(target=lambda: outcome.append(read_document(fifo, 1000)), daemon=True)
    reader.start()
    reader.join(5)
    if reader.is_alive():
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))  # unblock the old code's open() before failing
        reader.join(5)
        pytest.fail("read_document blocked on a FIFO")
    assert outcome[0].reason == "unsupported_type"


def test_read_document_device_is_unsupported_type():
    result = read_document(Path("/dev/zero"), 1000)
    assert not isinstance(result, bytes) and result.reason == "unsupported_type"

"""One writer per index: an advisory lock file beside the data.

``Engine.add`` and ``Engine.remove`` hold :class:`WriterLock` while they
write; searches never take it (LanceDB readers see committed versions only,
so a reader sees the index before or after each file lands, never half of
one). A second writer, in this process or another, gets
:class:`~mmrag.errors.IndexLocked` naming the holder's pid and what to do.

The lock is ``fcntl.flock`` on ``<index>/writer.lock`` (``<file>.writer.lock``
beside a Milvus Lite file). The kernel drops it when its holder exits, however
it exits, so a lock left by a killed process is taken over by the next
writer; the pid written into the file is only there to name the holder in
the error. A Milvus server (``http://...``) coordinates its own writers: no
lock file is used there.
"""

from __future__ import annotations

import json
import os
import socket
import sys
import time
from pathlib import Path
from typing import Any, Self

from mmrag.errors import IndexLocked
from mmrag.index_paths import parse_location, side_file

LOCK_NAME = "writer.lock"


def lock_path(index: str) -> Path | None:
    """Where the writer lock of ``index`` lives (``None``: a server that needs none)."""
    return side_file(index, LOCK_NAME)


def index_stamp(index: str) -> tuple[int, int] | None:
    """A cheap fingerprint of a LanceDB index folder's committed state: it changes
    whenever a writer commits (a new manifest appears in ``rows.lance/_versions``)
    or rewrites ``mmrag.json``. Two ``stat`` calls. ``None`` for Milvus, whose
    client sees other writers by itself."""
    where = parse_location(index)
    if where.kind != "lance":
        return None
    root = Path(where.target)
    stamps = []
    for p in (root / "rows.lance" / "_versions", root / "mmrag.json"):
        try:
            stamps.append(p.stat().st_mtime_ns)
        except OSError:
            stamps.append(0)
    return (stamps[0], stamps[1])


def pid_alive(pid: int) -> bool:
    """Whether a process with this pid exists (on this machine)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def read_holder(path: Path) -> dict[str, Any]:
    """What the lock file says about its holder (``{}`` if unreadable)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8") or "{}")
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


class WriterLock:
    """Exclusive, non-blocking writer lock on one index. Use as a context manager."""

    def __init__(self, index: str, what: str = "write") -> None:
        self.index = index
        self.what = what
        self.path = lock_path(index)
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self) -> WriterLock:
        if self.path is None or self._fd is not None:
            return self
        import fcntl

        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise self._locked_error() from None
        except OSError as exc:  # e.g. a file system without flock
            os.close(fd)
            raise IndexLocked(
                f"could not lock {self.path} for writing ({exc}). "
                f"Put the index on a local file system, or make sure only one process writes it."
            ) from None
        record = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "since": time.time(),
            "what": self.what,
            "command": " ".join(sys.argv[:3])[:200],
        }
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(record).encode("utf-8"), 0)
        self._fd = fd
        return self

    def _locked_error(self) -> IndexLocked:
        assert self.path is not None
        holder = read_holder(self.path)
        pid = holder.get("pid")
        who = f"process {pid}" if pid else "another process"
        if holder.get("command"):
            who += f" ({holder['command']})"
        doing = holder.get("what", "write")
        return IndexLocked(
            f"the index at {self.index} is being written by {who}, doing: {doing}. "
            f"One writer at a time: wait for it to finish and run this again"
            + (f", or stop it (kill {pid})" if pid else "")
            + ". Searches keep working meanwhile.",
            pid=pid if isinstance(pid, int) else None,
        )

    def release(self) -> None:
        if self._fd is None:
            return
        import fcntl

        fd, self._fd = self._fd, None
        try:
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)

    def __enter__(self) -> Self:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


__all__ = ["LOCK_NAME", "WriterLock", "index_stamp", "lock_path", "pid_alive", "read_holder"]

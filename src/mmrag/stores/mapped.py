"""Fault in a memory-mapped file's pages ahead of the searches that read them.

The store opens its saved faiss lists memory-mapped, so a process pays for a
list's pages the first time a query reads it: a minor page fault per 64 KB
when the file is in the page cache, a disk read when it is not. At 1M rows
that made the first pass of 300 queries 2.3 ms p50 on a warm page cache and
57 ms on a cold one, against 1.4 ms once the lists were resident (bench/README.md,
"Warming the lists"). A long-lived reader (``mmrag serve``) populates the
mapping once, in a background thread, with ``madvise(MADV_POPULATE_READ)``
(Linux >= 5.14): one system call per mapping, called through ctypes, which
releases the GIL, so searches go on meanwhile.

Elsewhere (macOS, Windows, older kernels) ``populate`` reads nothing and
returns 0: searches work as before and fault their pages in as they go.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os
import sys
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

MADV_NORMAL, MADV_RANDOM, MADV_SEQUENTIAL = 0, 1, 2
MADV_POPULATE_READ = 22  # linux/mman.h, kernel 5.14+


@dataclass(frozen=True)
class Mapping:
    start: int
    end: int
    path: str


def mappings_of(path: Path, maps: str | None = None) -> list[Mapping]:
    """This process's mappings of ``path`` (from ``/proc/self/maps``, or ``maps`` text for tests)."""
    want = os.path.realpath(path)
    if maps is None:
        try:
            with open("/proc/self/maps", encoding="utf-8", errors="replace") as fh:
                maps = fh.read()
        except OSError:
            return []
    found: list[Mapping] = []
    for line in maps.splitlines():
        parts = line.split(maxsplit=5)
        if len(parts) == 6 and parts[5] == want:
            lo, hi = parts[0].split("-")
            found.append(Mapping(int(lo, 16), int(hi, 16), parts[5]))
    return found


def _madvise() -> ctypes._CFuncPtr | None:  # type: ignore[name-defined]
    if not sys.platform.startswith("linux"):
        return None
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    fn = libc.madvise
    fn.argtypes = (ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int)
    fn.restype = ctypes.c_int
    return fn  # type: ignore[no-any-return]


def random_advised(start: int, smaps: str | None = None) -> bool:
    """Whether the mapping at ``start`` carries ``MADV_RANDOM`` (``rr`` in its ``VmFlags``)."""
    if smaps is None:
        try:
            with open("/proc/self/smaps", encoding="utf-8", errors="replace") as fh:
                smaps = fh.read()
        except OSError:
            return False
    inside = False
    for line in smaps.splitlines():
        head = line.split(maxsplit=1)
        if head and "-" in head[0] and not head[0].endswith(":"):
            inside = int(head[0].split("-")[0], 16) == start
        elif inside and head and head[0] == "VmFlags:":
            return "rr" in line.split()
    return False


def populate(path: Path) -> int:
    """Fault in every page of this process's mappings of ``path``; the bytes populated (0: nothing mapped,
    or the kernel cannot: the pages then come in as searches touch them, as without this call).

    A mapping advised ``MADV_RANDOM`` (faiss advises its mapped lists so) gets no readahead: populating it
    read 4 KB at a time, 760 MB in 37-88 s from a cold page cache against 0.8 s with readahead. So the
    advice is ``MADV_SEQUENTIAL`` while it populates, then set back."""
    mappings = mappings_of(path)
    if not mappings:
        return 0
    madvise = _madvise()
    if madvise is None:
        return 0
    done = 0
    for m in mappings:
        size = m.end - m.start
        was_random = random_advised(m.start)
        madvise(m.start, size, MADV_SEQUENTIAL)
        ok = madvise(m.start, size, MADV_POPULATE_READ) == 0
        errno = ctypes.get_errno()
        madvise(m.start, size, MADV_RANDOM if was_random else MADV_NORMAL)
        if not ok:
            log.debug("madvise(MADV_POPULATE_READ) of %s failed: %s", m.path, os.strerror(errno))
            return done
        done += size
    return done


__all__ = ["Mapping", "mappings_of", "populate", "random_advised"]

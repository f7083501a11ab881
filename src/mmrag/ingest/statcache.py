"""Skip re-reading files that have not changed since the last ``add``.

Re-adding a folder used to hash every byte of every file. The stat cache
remembers, per source, the file's size and modification time (ns) together
with the content hash that was indexed. On the next ``add`` a file whose size
and mtime are unchanged, and whose remembered hash is still the one the index
holds for it, is settled as *unchanged* without being opened (the quick check
rsync and git use). Anything else (a new or touched file, a missing or
unreadable cache, an index that lost the file) falls back to hashing the
content. The one thing it cannot see is a file rewritten with the same size
and a forged (restored) mtime; ``mmrag add --rehash``
(``ingest.quick_check = false``) hashes everything.

The cache is a JSON file beside the index (``<index folder>/mmrag-stats.json``
for LanceDB, ``<file>.mmrag-stats.json`` for Milvus Lite; none for a Milvus
server), written atomically at the end of each ``add``, Ctrl-C included.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

from mmrag.index_paths import side_file

FILE_NAME = "mmrag-stats.json"
VERSION = 1


def stat_cache_path(location: str) -> Path | None:
    """Where the cache of the index at ``location`` lives (``None``: a remote index)."""
    return side_file(location, FILE_NAME)


@dataclass(frozen=True)
class StatKey:
    """What the quick check compares: a size and a modification time (ns), like ``os.stat_result``'s."""

    st_size: int
    st_mtime_ns: int


def joined_stat(st: os.stat_result | StatKey, other: os.stat_result | StatKey) -> StatKey:
    """One key for a file and a file its content depends on (a picture and its caption sidecar, pure): the
    first file's size, and its mtime mixed with the other's size and mtime, so a change of either (or the
    other appearing or going) misses the quick check."""
    mixed = hashlib.blake2b(f"{st.st_mtime_ns}:{other.st_size}:{other.st_mtime_ns}".encode(), digest_size=8).digest()
    return StatKey(int(st.st_size), int.from_bytes(mixed, "big") >> 1)  # a positive 63-bit int, as JSON keeps it


class StatCache:
    """``source -> (size, mtime_ns, hash)``; loads lazily, never raises on a bad file."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._entries: dict[str, tuple[int, int, str]] | None = None
        self._dirty = False

    def _load(self) -> dict[str, tuple[int, int, str]]:
        if self._entries is None:
            self._entries = {}
            if self.path is not None:
                try:
                    data = json.loads(self.path.read_text(encoding="utf-8"))
                    if data.get("version") == VERSION:
                        for src, (size, mtime, digest) in data["files"].items():
                            self._entries[str(src)] = (int(size), int(mtime), str(digest))
                except (OSError, ValueError, TypeError, KeyError, AttributeError):
                    self._entries = {}  # missing or damaged: everything is hashed again
        return self._entries

    def known_hash(self, source: str, st: os.stat_result | StatKey) -> str | None:
        """The remembered hash when ``st`` matches the remembered size and mtime, else ``None``."""
        entry = self._load().get(source)
        if entry is None or entry[0] != st.st_size or entry[1] != st.st_mtime_ns:
            return None
        return entry[2]

    def record(self, source: str, st: os.stat_result | StatKey, digest: str) -> None:
        entry = (int(st.st_size), int(st.st_mtime_ns), digest)
        entries = self._load()
        if entries.get(source) != entry:
            entries[source] = entry
            self._dirty = True

    def save(self) -> None:
        """Write the cache atomically if it changed; a failure to write only costs speed."""
        if self.path is None or not self._dirty or self._entries is None:
            return
        body = {"version": VERSION, "files": {k: list(v) for k, v in sorted(self._entries.items())}}
        tmp = self.path.with_name(self.path.name + ".tmp")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp.write_text(json.dumps(body, separators=(",", ":")), encoding="utf-8")
            tmp.replace(self.path)
            self._dirty = False
        except OSError:
            tmp.unlink(missing_ok=True)


__all__ = ["FILE_NAME", "StatCache", "StatKey", "joined_stat", "stat_cache_path"]

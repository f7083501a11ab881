"""Where an index lives on this machine, and where its side files go: one rule for all.

- A LanceDB index (``PATH``, ``lance:PATH``, ``lance://PATH``) is a folder: side
  files live inside it (``PATH/writer.lock``).
- A Milvus Lite index (``milvus:PATH``, or a path ending in ``.db``, each with an
  optional ``#collection``) is a file: side files sit beside it, named after the
  file and collection (``x.db.writer.lock``, ``x.db.shop.mmrag-stats.json``).
- A Milvus server (``http(s)://``, ``milvus://HOST:PORT``) has no local place:
  ``None`` (features that need a file keep memory only).

The writer lock, the stat cache, the server discovery file, the relevance
model, the query cache and the feedback log all ask :func:`side_file`, so they
agree; :func:`index_files` lists what ``add`` must never index when an index
sits inside the folder being added.
"""

from __future__ import annotations

from pathlib import Path

_REMOTE = ("http://", "https://", "milvus://")


def _lite(location: str) -> tuple[Path, str] | None:
    """``(db file, collection)`` for a Milvus Lite location, else ``None``."""
    loc = location.strip()
    if loc.startswith(_REMOTE):
        return None
    base, _, collection = loc.removeprefix("milvus:").partition("#")
    if loc.startswith("milvus:") or base.endswith(".db"):
        return Path(base).expanduser().resolve(), collection
    return None


def local_index(location: str) -> Path | None:
    """The index's folder (LanceDB) or file (Milvus Lite); ``None`` for a server."""
    loc = location.strip()
    if loc.startswith(_REMOTE):
        return None
    lite = _lite(loc)
    if lite is not None:
        return lite[0]
    for prefix in ("lance://", "lance:"):
        if loc.startswith(prefix):
            loc = loc[len(prefix) :]
            break
    return Path(loc).expanduser().resolve()


def side_file(location: str, name: str) -> Path | None:
    """The path of the index's side file ``name`` (``writer.lock``, ``mmrag-stats.json``, ...)."""
    lite = _lite(location)
    if lite is not None:
        db, collection = lite
        return db.with_name(f"{db.name}{'.' + collection if collection else ''}.{name}")
    root = local_index(location)
    return None if root is None else root / name


def index_files(location: str) -> list[Path]:
    """What belongs to the index on this machine now: its folder, or its file and
    every side file beside it (whatever the collection). ``add`` skips these."""
    root = local_index(location)
    if root is None:
        return []
    if _lite(location) is None:
        return [root]
    try:
        beside = [p for p in root.parent.iterdir() if p.name.startswith(root.name + ".")]
    except OSError:
        beside = []
    return [root, *beside]


__all__ = ["index_files", "local_index", "side_file"]

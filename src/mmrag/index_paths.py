"""Where an index lives on this machine, and where its side files go: one rule for all.

- A LanceDB index (``PATH``, ``lance:PATH``, ``lance://PATH``) is a folder: side
  files live inside it (``PATH/writer.lock``).
- A Milvus Lite index (``milvus:PATH``, or a path ending in ``.db``, each with an
  optional ``#collection``) is a file: side files sit beside it, named after the
  file and collection (``x.db.writer.lock``, ``x.db.shop.mmrag-stats.json``).
- A Milvus server (``http(s)://``, ``milvus://HOST:PORT``) has no local place:
  ``None`` (features that need a file keep memory only).

:func:`parse_location` is the one reader of a location string: the stores,
the writer lock, the change stamp and the server's identity all call it.
A ``#`` starts a Milvus collection name only at the LAST ``#`` and only when
no ``/`` follows it, so a folder named ``a#b`` stays part of the path.

The writer lock, the stat cache, the server discovery file, the relevance
model, the query cache and the feedback log all ask :func:`side_file`, so they
agree; :func:`index_files` lists what ``add`` must never index when an index
sits inside the folder being added.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

_REMOTE = ("http://", "https://", "milvus://")

Kind = Literal["lance", "lite", "server"]


@dataclass(frozen=True)
class IndexLocation:
    """A parsed index location (see :func:`parse_location`).

    ``target`` is what the backend opens: the LanceDB folder or Milvus Lite file
    (``~`` expanded, not resolved) or the server's ``http(s)://`` URL.
    ``collection`` is the Milvus collection prefix after ``#`` (``None``: not given).
    """

    kind: Kind
    target: str
    collection: str | None = None

    @property
    def backend(self) -> Literal["lance", "milvus"]:
        return "lance" if self.kind == "lance" else "milvus"

    @property
    def local(self) -> Path | None:
        """The index's folder or file, absolute; ``None`` for a server."""
        return None if self.kind == "server" else Path(self.target).resolve()


def _split_collection(body: str) -> tuple[str, str | None]:
    """``(place, collection)``: the collection is the text after the LAST ``#``, unless that text
    holds a ``/`` or the whole ends in ``.db`` (then the ``#`` is part of a folder or file name).
    Collection names are letters, digits and ``_``, so they never hold ``#`` or ``/``."""
    if body.endswith(".db"):
        return body, None
    base, sep, tail = body.rpartition("#")
    if not sep or "/" in tail:
        return body, None
    return base, tail


def parse_location(location: str) -> IndexLocation:
    """The one rule that reads an index location; every other reader calls it.

    - ``lance:PATH``/``lance://PATH``: a LanceDB folder, whatever its name (``#`` included);
    - ``http(s)://HOST:PORT`` or ``milvus://HOST:PORT`` (read as ``http://``), optional ``#coll``: a server;
    - ``milvus:PATH`` or a path ending in ``.db``, optional ``#coll``: a Milvus Lite file;
    - any other path: a LanceDB folder (a ``#`` in it is part of the name).
    """
    loc = str(location).strip()
    for prefix in ("lance://", "lance:"):
        if loc.startswith(prefix):
            return IndexLocation("lance", os.path.expanduser(loc[len(prefix) :]))
    if loc.startswith(_REMOTE):
        url, collection = _split_collection(loc)
        if url.startswith("milvus://"):
            url = "http://" + url[len("milvus://") :]
        return IndexLocation("server", url, collection)
    explicit = loc.startswith("milvus:")
    place, collection = _split_collection(loc.removeprefix("milvus:"))
    if explicit or place.endswith(".db"):
        return IndexLocation("lite", os.path.expanduser(place), collection)
    return IndexLocation("lance", os.path.expanduser(loc))


def _lite(location: str) -> tuple[Path, str] | None:
    """``(db file, collection)`` for a Milvus Lite location, else ``None``."""
    parsed = parse_location(location)
    if parsed.kind != "lite":
        return None
    return Path(parsed.target).resolve(), parsed.collection or ""


def local_index(location: str) -> Path | None:
    """The index's folder (LanceDB) or file (Milvus Lite); ``None`` for a server."""
    return parse_location(location).local


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


__all__ = ["IndexLocation", "index_files", "local_index", "parse_location", "side_file"]

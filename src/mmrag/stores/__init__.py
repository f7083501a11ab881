"""Vector stores: LanceDB (embedded folder, the default) and Milvus (Lite file or cluster).

``open_store(location, dim, config)`` picks the backend from the location:

- ``milvus:PATH``, ``milvus://HOST:PORT``, ``http(s)://HOST:PORT`` or a path
  ending in ``.db`` -> ``MilvusStore``;
- ``lance:PATH`` or any other path -> ``LanceStore`` (a folder).

(``mmrag.index_paths.parse_location`` is the rule.)

Backends load lazily: importing this package imports neither LanceDB nor pymilvus.
"""

from __future__ import annotations

from mmrag.config import Config
from mmrag.errors import StoreError
from mmrag.index_paths import parse_location
from mmrag.stores.base import FILTER_COLUMNS, Row, ScoredRow, SourceInfo, VectorStore, quote


def store_kind(location: str) -> str:
    """``"milvus"`` or ``"lance"`` for a location string."""
    return parse_location(location).backend


def open_store(location: str, dim: int | None, config: Config | None = None) -> VectorStore:
    """Open (creating if needed) the store at ``location`` for ``dim``-d vectors.

    ``dim=None`` opens an existing index with its stored dim, or returns an
    empty read-only store (creating nothing) when there is no index yet.
    """
    if not isinstance(location, str) or not location.strip():
        raise StoreError(f"store location must be a non-empty string, got {location!r}.")
    from mmrag.stores.common import EmptyStore, NoIndex

    cfg = config or Config()
    try:
        if store_kind(location) == "milvus":
            from mmrag.stores.milvus import MilvusStore

            return MilvusStore(location, dim, cfg)
        from mmrag.stores.lance import LanceStore

        return LanceStore(location, dim, cfg)
    except NoIndex:  # only raised for dim=None: nothing there yet
        return EmptyStore(location)


__all__ = [
    "FILTER_COLUMNS",
    "Row",
    "ScoredRow",
    "SourceInfo",
    "VectorStore",
    "open_store",
    "quote",
    "store_kind",
]

"""Where an index keeps its small side files (relevance model, query cache, feedback).

A LanceDB index is a folder: side files live inside it. A Milvus Lite index is
a file: they sit beside it (``x.db.mmrag-feedback.jsonl``). A Milvus server has
no local folder: ``None`` (features that need a file keep memory only).
"""

from __future__ import annotations

from pathlib import Path

from mmrag.ingest.statcache import FILE_NAME, stat_cache_path


def sidecar_path(location: str, name: str) -> Path | None:
    """The path of side file ``name`` (e.g. ``mmrag-relevance.json``) of the index at ``location``."""
    stats = stat_cache_path(location)
    if stats is None:
        return None
    return stats.with_name(stats.name[: -len(FILE_NAME)] + name) if stats.name.endswith(FILE_NAME) else stats.with_name(name)


__all__ = ["sidecar_path"]

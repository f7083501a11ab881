"""Where an index keeps its small side files (relevance model, query cache, feedback).

A thin name for :func:`mmrag.index_paths.side_file`, the one rule every side
file follows: inside a LanceDB folder, beside a Milvus Lite file
(``x.db.mmrag-feedback.jsonl``), nowhere for a Milvus server (``None``:
features that need a file keep memory only).
"""

from __future__ import annotations

from pathlib import Path

from mmrag.index_paths import side_file


def sidecar_path(location: str, name: str) -> Path | None:
    """The path of side file ``name`` (e.g. ``mmrag-relevance.json``) of the index at ``location``."""
    return side_file(location, name)


__all__ = ["sidecar_path"]

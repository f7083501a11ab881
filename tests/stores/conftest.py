"""A real Milvus server (PyPI ``milvus``, standalone) for the whole test session.

Started once on free loopback ports under a temp folder, stopped by its own
process group at the end. Tests that need it skip with the one command that
enables them when the package is missing.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Iterator

import pytest

ENABLE = 'pip install "milvus==2.3.5"  (or: make install, which installs the dev extra)'


@pytest.fixture(scope="session")
def milvus_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The URI of a running standalone Milvus server."""
    pytest.importorskip("pymilvus")
    if importlib.util.find_spec("milvus") is None and not os.environ.get("MMRAG_MILVUS_PYTHON"):
        pytest.skip(f"no milvus server package; enable with: {ENABLE}")
    from mmrag.stores.milvus_server import LocalMilvus

    server = LocalMilvus(tmp_path_factory.mktemp("milvus-server"))
    server.start()
    try:
        yield server.uri
    finally:
        server.stop()
        server.free_disk()  # ~0.5 GB; pytest keeps the temp folders of its last three runs, a CI disk may be small

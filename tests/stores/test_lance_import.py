"""lancedb is imported without its REST namespace client's package init (``stores/lance_import.py``):
that init builds pydantic schemas for 366 REST methods, 0.7 s of a cold ``mmrag search``, for a client
that opening a local folder never calls. Each check runs in a fresh interpreter, where nothing has
imported lancedb yet."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("lancedb")

SRC = str(Path(__file__).resolve().parents[2] / "src")


def _fresh(code: str) -> dict:
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                         env={"PYTHONPATH": SRC, "PATH": "/usr/bin:/bin"}, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_an_index_opens_searches_and_writes_without_the_rest_client(tmp_path: Path) -> None:
    got = _fresh(f"""
import json, sys
import numpy as np
from mmrag.stores.lance import LanceStore
from mmrag.stores.base import Row
store = LanceStore({str(tmp_path / "idx")!r}, dim=4)
store.upsert([Row(id=f"r{{i}}", segment_id=f"s{{i}}", source="a.txt", source_hash="h", modality="text",
                  channel="text", vector=np.eye(4, dtype=np.float32)[i],
                  text=f"row number {{i}} about cats" if i else "a dog") for i in range(4)])
vec = [r.row.id for r in store.search(np.eye(4, dtype=np.float32)[2], k=1)]
txt = [r.row.id for r in store.text_search("dog", k=1)]
print(json.dumps({{"vec": vec, "txt": txt, "lancedb": "lancedb" in sys.modules,
                   "rest_api": "lance_namespace_urllib3_client.api" in sys.modules}}))
""")
    assert got == {"vec": ["r2"], "txt": ["r0"], "lancedb": True, "rest_api": False}


def test_the_rest_client_is_whole_the_first_time_it_is_asked_for() -> None:
    got = _fresh("""
import json, sys
from mmrag.stores.lance_import import REST_CLIENT, defer_package_init, import_lancedb
import_lancedb()
before = REST_CLIENT + ".api" in sys.modules
from lance_namespace_urllib3_client import ApiClient, TableApi
again = defer_package_init(REST_CLIENT)  # already there: nothing changes
print(json.dumps({"before": before, "after": REST_CLIENT + ".api" in sys.modules,
                  "classes": [ApiClient.__name__, TableApi.__name__], "again": again}))
""")
    assert got == {"before": False, "after": True, "classes": ["ApiClient", "TableApi"], "again": False}


def test_the_packages_own_dunders_run_it_too() -> None:
    """``__version__`` and ``__all__`` (``from ... import *``) are the package's own names: reading one runs
    its init, as a plain import would have."""
    got = _fresh("""
import json, sys
from mmrag.stores.lance_import import REST_CLIENT, import_lancedb
from importlib.metadata import version
import_lancedb()
pkg = sys.modules[REST_CLIENT]
print(json.dumps({"version": pkg.__version__ == version("lance-namespace-urllib3-client"),
                  "all": "ApiClient" in getattr(pkg, "__all__", dir(pkg))}))
""")
    assert got == {"version": True, "all": True}


def test_a_missing_or_plain_module_is_left_alone() -> None:
    from mmrag.stores.lance_import import defer_package_init

    assert defer_package_init("mmrag_no_such_package_here") is False
    assert defer_package_init("json") is False  # already imported
    assert "mmrag_no_such_package_here" not in sys.modules

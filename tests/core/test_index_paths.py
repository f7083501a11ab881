"""One rule for where an index's side files live (lock, stat cache, discovery, sidecars)."""

from __future__ import annotations

from pathlib import Path

import pytest

from mmrag.index_paths import index_files, local_index, side_file
from mmrag.ingest.statcache import FILE_NAME as STATS, stat_cache_path
from mmrag.lock import LOCK_NAME, lock_path
from mmrag.server.discovery import FILE_NAME as DISCOVERY, discovery_path
from mmrag.sidecars import sidecar_path


@pytest.mark.parametrize("prefix", ["", "lance:", "lance://"])
def test_a_lance_folder_keeps_side_files_inside(tmp_path: Path, prefix: str) -> None:
    loc = prefix + str(tmp_path / "idx")
    root = (tmp_path / "idx").resolve()
    assert local_index(loc) == root
    assert lock_path(loc) == root / LOCK_NAME
    assert stat_cache_path(loc) == root / STATS
    assert discovery_path(loc) == root / DISCOVERY
    assert sidecar_path(loc, "mmrag-feedback.jsonl") == root / "mmrag-feedback.jsonl"
    assert index_files(loc) == [root]


@pytest.mark.parametrize("loc", ["{d}/x.db", "milvus:{d}/x.db"])
def test_a_milvus_lite_file_keeps_side_files_beside_it_whatever_its_spelling(tmp_path: Path, loc: str) -> None:
    loc = loc.format(d=tmp_path)
    db = (tmp_path / "x.db").resolve()
    assert local_index(loc) == db
    # the old code put the lock of "x.db" at x.db/writer.lock: a folder where Milvus Lite wants its file
    assert lock_path(loc) == tmp_path.resolve() / f"x.db.{LOCK_NAME}"
    assert stat_cache_path(loc) == tmp_path.resolve() / f"x.db.{STATS}"
    assert discovery_path(loc) == tmp_path.resolve() / f"x.db.{DISCOVERY}"


def test_a_collection_gets_its_own_side_files(tmp_path: Path) -> None:
    assert side_file(f"{tmp_path}/x.db#shop", "writer.lock") == tmp_path.resolve() / "x.db.shop.writer.lock"
    assert side_file(f"milvus:{tmp_path}/x.db#shop", STATS) == tmp_path.resolve() / f"x.db.shop.{STATS}"


@pytest.mark.parametrize("loc", ["http://localhost:19530", "https://milvus.example:443", "milvus://host:19530"])
def test_a_server_has_no_local_files(loc: str) -> None:
    assert local_index(loc) is None
    assert side_file(loc, LOCK_NAME) is None and lock_path(loc) is None and stat_cache_path(loc) is None
    assert index_files(loc) == []


def test_index_files_of_a_lite_index_are_its_file_and_everything_named_after_it(tmp_path: Path) -> None:
    for name in ("x.db", "x.db.writer.lock", "x.db.shop.mmrag-stats.json", "x.dbz.txt", "notes.md"):
        (tmp_path / name).write_text("x")
    found = {p.name for p in index_files(str(tmp_path / "x.db"))}
    assert found == {"x.db", "x.db.writer.lock", "x.db.shop.mmrag-stats.json"}

"""A '#' in a location: the store opens the folder or file that the lock, the change stamp and the
side files name (index_paths.parse_location is the one rule), with real LanceDB and Milvus Lite."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mmrag.config import Config
from mmrag.lock import WriterLock, index_stamp, lock_path
from mmrag.stores import open_store
from mmrag.stores.base import Row

DIM = 8


def rows(n: int) -> list[Row]:
    eye = np.eye(DIM, dtype=np.float32)
    return [Row(id=f"s{i}:text", segment_id=f"s{i}", source=f"f{i}.txt", source_hash="h", modality="text",
                channel="text", vector=eye[i % DIM], text=f"hello {i}") for i in range(n)]


def test_a_lance_folder_with_a_hash_in_its_name_is_one_folder(tmp_path: Path) -> None:
    from mmrag.stores.lance import LanceStore

    loc = str(tmp_path / "my#idx")
    with WriterLock(loc):
        store = open_store(loc, DIM, Config())
        try:
            assert isinstance(store, LanceStore) and store.path == tmp_path / "my#idx"
            before = index_stamp(loc)
            store.upsert(rows(3))
            assert index_stamp(loc) != before  # the stamp watches the folder the store writes
        finally:
            store.close()
        assert lock_path(loc) == (tmp_path / "my#idx").resolve() / "writer.lock"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["my#idx"]
    again = open_store(f"lance:{loc}", None, Config())
    try:
        assert again.count() == 3
    finally:
        again.close()


def test_a_hash_in_the_folder_and_a_collection_open_the_file_every_reader_names(tmp_path: Path) -> None:
    pytest.importorskip("pymilvus")
    from mmrag.index_paths import local_index
    from mmrag.stores.milvus import MilvusStore

    folder = tmp_path / "team#1"
    folder.mkdir()
    loc = f"{folder}/x.db#shop"
    with WriterLock(loc):
        s = open_store(loc, DIM)
        try:
            assert isinstance(s, MilvusStore) and (s.uri, s.rows_name) == (f"{folder}/x.db", "shop_rows")
            s.upsert(rows(1))
            assert s.count() == 1
        finally:
            s.close()
        assert lock_path(loc) == folder.resolve() / "x.db.shop.writer.lock" and lock_path(loc).is_file()
    assert local_index(loc) == folder.resolve() / "x.db" and (folder / "x.db").exists()
    assert sorted(p.name for p in folder.iterdir() if not p.name.startswith(".")) == [
        "x.db", "x.db.shop.writer.lock"]
    again = open_store(loc, None)  # opened without a dim: the same collection, not a new index
    try:
        assert again.count() == 1
    finally:
        again.close()

"""LanceStore at scale: no row text in memory, hit metadata read by key, batched commits, old sidecars."""

from __future__ import annotations

import json
import tracemalloc
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from mmrag.stores.base import Row
from mmrag.stores.lance import LanceStore

from .test_lance import CFG, DIM, clustered, exact_ids, rows_for, top_ids

LONG = 2000  # characters of text per row


def _texts(rows: list[Row], sources: int = 50) -> list[Row]:
    out = []
    for i, r in enumerate(rows):
        text = (f"row {i} about topic {i % 9} " * 200)[:LONG]
        meta = json.dumps({"title": f"t{i}", "field_order": "price"})
        out.append(Row(**{**r.__dict__, "text": text, "meta": meta, "source": f"doc{i % sources}.txt",
                          "source_hash": f"h{i % sources}", "fields": json.dumps({"price": i}),
                          "thumbnail": b"png" if i % 4 == 0 else b""}))
    return out


def _same(got: Row, want: Row) -> None:
    for name in ("id", "segment_id", "source", "source_hash", "modality", "channel", "text", "page",
                 "t0", "t1", "start", "end", "meta", "added_at"):
        assert getattr(got, name) == getattr(want, name), name
    assert json.loads(got.fields) == json.loads(want.fields)
    assert got.has_thumbnail == bool(want.thumbnail) and got.vector.size == 0


@pytest.fixture()
def saved(tmp_path: Path) -> tuple[Path, list[Row]]:
    rows = _texts(rows_for(clustered(3000)))
    store = LanceStore(str(tmp_path / "idx"), DIM, CFG)
    for lo in range(0, len(rows), 1000):
        store.upsert(rows[lo : lo + 1000])
    store.close()
    return tmp_path / "idx", rows


def test_an_open_index_holds_no_row_text_in_memory(saved: tuple[Path, list[Row]]) -> None:
    path, rows = saved  # 3000 rows x 2000 characters: 6 MB of text
    arrow_before = pa.total_allocated_bytes()
    tracemalloc.start()
    store = LanceStore(str(path), None, CFG)
    hits = store.search(rows[17].vector, 10)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert hits[0].row.id == rows[17].id and hits[0].row.text == rows[17].text
    assert peak < 1_500_000, f"Python objects peaked at {peak} bytes while opening + searching"
    assert pa.total_allocated_bytes() - arrow_before < 1_000_000  # the snapshot is memory-mapped, not read
    assert store._meta._added == [] and store._indexes["image"].mode == "ivf"
    assert store._indexes["image"]._view_path is not None  # the graph too: memory-mapped
    assert not hasattr(store, "_by_source")  # the old design kept every row (text included) in dicts
    store.close()


def test_every_row_searched_by_its_own_vector_comes_back_first(saved: tuple[Path, list[Row]]) -> None:
    path, rows = saved  # 3,000 clustered rows (the usearch graph used before once missed one of them)
    store = LanceStore(str(path), None, CFG)
    picks = np.random.default_rng(0).choice(len(rows), 200, replace=False)
    first = [store.search(rows[i].vector, 1)[0].row.id == rows[i].id for i in picks]
    assert sum(first) == 200
    store.close()


def test_hit_metadata_is_right_from_the_snapshot_and_from_fresh_writes(saved: tuple[Path, list[Row]]) -> None:
    path, rows = saved
    store = LanceStore(str(path), None, CFG)
    by_id = {r.id: r for r in rows}
    for q in (rows[5].vector, rows[2999].vector):
        for hit in store.search(q, 5):
            _same(hit.row, by_id[hit.row.id])
    changed = Row(**{**rows[5].__dict__, "text": "rewritten", "meta": '{"title": "new"}', "thumbnail": b""})
    fresh = _texts(rows_for(clustered(3, seed=40), prefix="fresh"))
    store.upsert([changed, *fresh])  # not saved yet: served from the rows written since the snapshot
    _same(store.search(rows[5].vector, 1, "id = '" + rows[5].id + "'")[0].row, changed)
    _same(store.search(fresh[1].vector, 1)[0].row, fresh[1])
    hit = store.search(rows[5].vector, 1)[0].row
    assert hit.id == rows[5].id and hit.text == "rewritten" and hit.has_thumbnail is False
    assert [s.row.id for s in store.text_search("rewritten", 3)] == [rows[5].id]
    store.delete(f"id = '{rows[6].id}'")
    assert rows[6].id not in top_ids(store, rows[6].vector, 5)
    store.close()
    again = LanceStore(str(path), None, CFG)  # reopened: the same answers from the new snapshot
    _same(again.search(fresh[1].vector, 1)[0].row, fresh[1])
    assert again.search(rows[5].vector, 1)[0].row.text == "rewritten"
    assert again.count() == 3000 + 3 - 1 and rows[6].id not in top_ids(again, rows[6].vector, 5)
    again.close()


def test_filtered_search_and_source_lookups_without_the_rows_in_memory(saved: tuple[Path, list[Row]]) -> None:
    path, rows = saved
    store = LanceStore(str(path), None, CFG)
    q = clustered(1, seed=3)[0]
    assert top_ids(store, q, 5, "source = 'doc7.txt'") == exact_ids(rows, q, 5, lambda r: r.source == "doc7.txt")
    assert top_ids(store, q, 5, "fields.price < 40") == exact_ids(rows, q, 5, lambda r: json.loads(r.fields)["price"] < 40)
    assert store.source_hash("doc7.txt") == "h7" and store.source_hash("nope") is None
    assert store.row_hashes("doc7.txt") == {r.id: "h7" for r in rows if r.source == "doc7.txt"}
    info = {s.source: s for s in store.sources()}
    assert len(info) == 50 and info["doc7.txt"].rows == 60 and info["doc7.txt"].source_hash == "h7"
    assert store.count("page = 2") == sum(r.page == 2 for r in rows)
    store.close()


def test_replace_sources_is_one_commit_for_many_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rows = _texts(rows_for(clustered(400)), sources=20)
    store = LanceStore(str(tmp_path / "idx"), DIM, CFG)
    by_source: dict[str, list[Row]] = {}
    for r in rows:
        by_source.setdefault(r.source, []).append(r)
    store.upsert(rows_for(clustered(1, seed=9), prefix="first"))  # the first write also makes the text index
    version = store._table.version
    store.replace_sources(list(by_source.items()))
    assert store._table.version == version + 1 and store.count() == 401
    # replace every source with fewer rows and a new hash, in one commit
    newer = {s: [Row(**{**r.__dict__, "source_hash": "n"}) for r in rs[:3]] for s, rs in by_source.items()}
    version = store._table.version
    store.replace_sources(list(newer.items()))
    assert store._table.version == version + 1 and store.count() == 61
    assert all(store.source_hash(s) == "n" for s in by_source)
    assert store.count("source_hash = 'n'") == 60
    # large tables: two commits (new rows, then old rows), whatever the number of files
    import mmrag.stores.lance as lance_mod

    monkeypatch.setattr(lance_mod, "SCALAR_INDEX_MIN_ROWS", 10)
    store.upsert(rows_for(clustered(1, seed=9), prefix="first"))  # a write past the threshold makes the BTREE indexes
    version = store._table.version
    store.replace_sources([(s, [Row(**{**r.__dict__, "source_hash": "m"}) for r in rs[:2]]) for s, rs in by_source.items()])
    assert store._table.version == version + 2 and store.count() == 41
    assert store.source_hash("doc3.txt") == "m"
    assert top_ids(store, by_source["doc3.txt"][2].vector, 40).count(by_source["doc3.txt"][2].id) == 0
    store.close()


def test_an_old_hnswlib_sidecar_is_rebuilt_read_only_then_upgraded_by_a_writer(tmp_path: Path) -> None:
    hnswlib = pytest.importorskip("hnswlib")
    rows = rows_for(clustered(400))
    store = LanceStore(str(tmp_path / "idx"), DIM, CFG)
    store.upsert(rows)
    version = store._table.version
    store.close()
    ann = tmp_path / "idx" / "ann"
    for entry in ann.iterdir():  # replace ann/ by what the format-2 writer left (hnswlib graph + id list)
        import shutil

        shutil.rmtree(entry) if entry.is_dir() else entry.unlink()
    folder = ann / "v3-0123456789"
    folder.mkdir()
    graph = hnswlib.Index(space="ip", dim=DIM)
    graph.init_index(max_elements=400, M=12, ef_construction=80)
    graph.add_items(np.stack([r.vector for r in rows]), np.arange(400))
    graph.save_index(str(folder / "ch-0000000000000000.hnsw"))
    (folder / "ch-0000000000000000.ids.json").write_text(json.dumps({"format": 1, "dim": DIM, "mode": "hnsw", "ids": [r.id for r in rows]}))
    (ann / "journal-v3-0123456789.jsonl").touch()
    old_state = {"format": 2, "dim": DIM, "table_version": version, "channels": {"image": "ch-0000000000000000"},
                 "rows": 400, "folder": "v3-0123456789", "journal": "journal-v3-0123456789.jsonl"}
    (ann / "state.json").write_text(json.dumps(old_state))
    listing = sorted(p.name for p in ann.rglob("*"))

    reader = LanceStore(str(tmp_path / "idx"), None, CFG)  # rebuilt in memory; nothing written
    q = clustered(1, seed=4)[0]
    assert top_ids(reader, q, 5) == exact_ids(rows, q, 5)
    reader.close()
    assert sorted(p.name for p in ann.rglob("*")) == listing and reader._table.version == version

    writer = LanceStore(str(tmp_path / "idx"), None, CFG)
    writer.read_only = False
    writer.flush()  # what Engine.add does at its end: the writer saves the new format
    state = json.loads((ann / "state.json").read_text())
    assert state["format"] == 4 and (ann / state["folder"] / "rows.arrow").exists()
    writer.close()
    again = LanceStore(str(tmp_path / "idx"), None, CFG)
    assert again._indexes["image"]._view_path is not None  # loaded, not rebuilt
    assert top_ids(again, q, 5) == exact_ids(rows, q, 5)
    again.close()


def test_a_usearch_sidecar_of_format_3_is_rebuilt_with_a_warning(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    rows = rows_for(clustered(400))
    store = LanceStore(str(tmp_path / "idx"), DIM, CFG)
    store.upsert(rows)
    store.close()
    state_file = tmp_path / "idx" / "ann" / "state.json"
    state = json.loads(state_file.read_text())
    folder = tmp_path / "idx" / "ann" / state["folder"]
    for f in folder.glob("ch-*.faiss"):  # what the usearch writer left: a graph file under another name
        f.rename(f.with_suffix(".usearch"))
    state_file.write_text(json.dumps({**state, "format": 3}))
    with caplog.at_level("WARNING"):
        reader = LanceStore(str(tmp_path / "idx"), None, CFG)
    assert "format 3, this one reads 4" in caplog.text and "rebuilding it" in caplog.text
    q = clustered(1, seed=4)[0]
    assert top_ids(reader, q, 5) == exact_ids(rows, q, 5) and reader.count() == 400
    reader.close()

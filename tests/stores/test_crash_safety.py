"""LanceStore survives kills: reads never write, ann/ saves are atomic, a killed writer's rows are replayed."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from mmrag.stores.base import Row
from mmrag.stores.lance import LanceStore

from .test_lance import CFG, DIM, clustered, exact_ids, rows_for, top_ids

SAVE_OFTEN = CFG.with_overrides({"store.ann_save_rows": 50})


def _texts(rows: list[Row]) -> list[Row]:
    words = ["zebra crossing", "budget meeting", "river delta", "violin lesson"]
    return [Row(**{**r.__dict__, "text": f"{words[i % 4]} note {i}"}) for i, r in enumerate(rows)]


def _listing(path: Path) -> dict[str, float]:
    return {str(p.relative_to(path)): p.stat().st_mtime_ns for p in sorted(path.rglob("*")) if p.is_file()}


def test_read_only_use_changes_nothing_on_disk(tmp_path: Path) -> None:
    rows = _texts(rows_for(clustered(300)))
    writer = LanceStore(str(tmp_path / "idx"), DIM, CFG)
    writer.upsert(rows[:200])
    writer.close()
    writer = LanceStore(str(tmp_path / "idx"), DIM, CFG)
    writer.upsert(rows[200:])  # rows the text index has not folded in yet
    writer.close()
    before, version = _listing(tmp_path / "idx"), writer._table.version
    reader = LanceStore(str(tmp_path / "idx"), None, CFG)
    assert reader.text_search("zebra", 300) and any(s.row.id == rows[280].id for s in reader.text_search("zebra", 300))
    assert top_ids(reader, rows[5].vector, 1) == [rows[5].id]
    reader.count("page = 2"), reader.sources(), reader.sample_vectors("image", 10), reader.source_hash("file1.png")
    reader.close()
    assert reader._table.version == version
    assert _listing(tmp_path / "idx") == before


def test_killed_writer_is_replayed_not_rebuilt(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rows = rows_for(clustered(400))
    store = LanceStore(str(tmp_path / "idx"), DIM, CFG)
    store.upsert(rows)
    store.close()  # saved: ann/ reflects 400 rows
    writer = LanceStore(str(tmp_path / "idx"), DIM, CFG)
    extra = rows_for(clustered(30, seed=8), prefix="new")
    writer.upsert(extra)
    moved = Row(**{**rows[20].__dict__, "vector": rows[10].vector})  # same id, new vector
    writer.replace_source(rows[20].source, [moved])
    gone = [r for r in rows + extra if r.source == rows[20].source and r.id != moved.id]
    del writer  # killed: no close(), ann/ still holds the 400-row save
    monkeypatch.setattr(LanceStore, "_rebuild_indexes", lambda self: pytest.fail("rebuilt instead of replaying"))
    again = LanceStore(str(tmp_path / "idx"), None, CFG)
    live = [r for r in rows + extra if r.source != rows[20].source] + [moved]
    assert again.count() == len(live) == sum(len(i) for i in again._indexes.values())
    kept = next(r for r in extra if r.source != rows[20].source)
    assert top_ids(again, kept.vector, 1) == [kept.id]
    assert set(top_ids(again, rows[10].vector, 2)) == {rows[10].id, moved.id}
    assert not set(top_ids(again, gone[0].vector, 5)) & {r.id for r in gone}
    for q in clustered(10, seed=3):
        assert len(set(top_ids(again, q, 10)) & set(exact_ids(live, q, 10))) >= 9
    again.close()  # a reader: the journal stays, so does the save


def test_a_save_killed_halfway_leaves_the_previous_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rows = rows_for(clustered(300))
    store = LanceStore(str(tmp_path / "idx"), DIM, SAVE_OFTEN)
    store.upsert(rows[:230])
    store.close()
    state = json.loads((tmp_path / "idx" / "ann" / "state.json").read_text())
    writer = LanceStore(str(tmp_path / "idx"), DIM, SAVE_OFTEN)
    import mmrag.stores.lance_sidecar as lt

    def dies(*_a: object, **_k: object) -> None:
        os.makedirs(tmp_path / "idx" / "ann" / "v99-partial", exist_ok=True)  # what a kill mid-save leaves
        raise KeyboardInterrupt

    monkeypatch.setattr(lt, "write_json_atomic", dies)
    with pytest.raises(KeyboardInterrupt):
        writer.upsert(rows[230:])  # 70 changed rows: this write saves ann/, and is "killed" doing so
    monkeypatch.undo()
    assert json.loads((tmp_path / "idx" / "ann" / "state.json").read_text()) == state
    again = LanceStore(str(tmp_path / "idx"), None, SAVE_OFTEN)
    assert again.count() == 300 and top_ids(again, rows[299].vector, 1) == [rows[299].id]
    again.close()

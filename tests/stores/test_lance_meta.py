"""RowMeta: the snapshot is saved by a streaming merge (in key order, live rows only, in many batches)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

import mmrag.stores.lance_meta as lm
from mmrag.stores.ann import key_of
from mmrag.stores.lance_meta import RowMeta, meta_schema


def _table(ids: list[str], text: str = "t") -> pa.Table:
    values = {
        "key": [key_of(i) for i in ids], "id": ids, "segment_id": [i.split(":")[0] for i in ids],
        "source": [f"doc{n % 7}.txt" for n in range(len(ids))], "source_hash": ["h"] * len(ids),
        "modality": ["text"] * len(ids), "channel": ["text"] * len(ids),
        "text": [f"{text} {i}" for i in ids], "has_thumb": [False] * len(ids), "fields": ["{}"] * len(ids),
    }
    columns = {f.name: values.get(f.name, [None] * len(ids)) for f in meta_schema()}
    table = pa.Table.from_pydict(columns, schema=meta_schema())
    return table.take(pa.compute.sort_indices(table, [("key", "ascending")]))


def _read(folder: Path) -> tuple[pa.Table, int]:
    with pa.OSFile(str(folder / lm.FILE), "rb") as src:
        reader = pa.ipc.open_file(src)
        batches = reader.num_record_batches
        return reader.read_all(), batches


def test_a_saved_snapshot_merges_base_rows_and_new_writes_in_key_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lm, "BATCH_ROWS", 16)  # many batches: the merge crosses batch boundaries
    base_ids = [f"s{i}:text" for i in range(200)]
    first = RowMeta(_table(base_ids))
    (tmp_path / "a").mkdir()
    first.save(tmp_path / "a")
    meta = RowMeta.load(tmp_path / "a")
    assert len(meta) == 200

    replaced = base_ids[10:30]  # rewritten with new text
    new_ids = [f"n{i}:text" for i in range(90)]  # keys interleave with the base's
    gone = base_ids[100:150] + new_ids[:5]
    meta.put(_table(replaced, "new"))
    meta.put(_table(new_ids, "new"))
    meta.drop(key_of(i) for i in gone)
    (tmp_path / "b").mkdir()
    meta.save(tmp_path / "b")

    table, batches = _read(tmp_path / "b")
    live = sorted(set(base_ids + new_ids) - set(gone), key=key_of)
    assert batches > 5
    keys = table.column("key").to_numpy()
    assert np.all(np.diff(keys.astype(np.float64)) > 0)  # strictly sorted, no duplicates
    assert keys.tolist() == [key_of(i) for i in live]
    texts = dict(zip(table.column("id").to_pylist(), table.column("text").to_pylist()))
    assert texts[replaced[0]] == f"new {replaced[0]}" and texts[base_ids[0]] == f"t {base_ids[0]}"
    assert texts[new_ids[50]] == f"new {new_ids[50]}"

    again = RowMeta.load(tmp_path / "b")  # the saved file reads back as a snapshot
    assert len(again) == len(live) == len(meta)
    rows = again.rows(np.array([key_of(replaced[3]), key_of(gone[0]), key_of(new_ids[40])], dtype=np.uint64))
    assert rows[0] is not None and rows[0].text == f"new {replaced[3]}"
    assert rows[1] is None
    assert rows[2] is not None and rows[2].id == new_ids[40]
    assert json.loads(rows[2].fields) == {}


def test_saving_with_nothing_written_since_or_an_empty_snapshot(tmp_path: Path) -> None:
    empty = RowMeta()
    empty.put(_table(["x:text", "y:text"]))
    empty.save(tmp_path)
    table, _ = _read(tmp_path)
    assert sorted(table.column("id").to_pylist()) == ["x:text", "y:text"]
    loaded = RowMeta.load(tmp_path)
    (tmp_path / "c").mkdir()
    loaded.save(tmp_path / "c")  # unchanged: the same rows
    assert _read(tmp_path / "c")[0].equals(table)
    loaded.drop([key_of("x:text"), key_of("y:text")])
    (tmp_path / "d").mkdir()
    loaded.save(tmp_path / "d")
    assert _read(tmp_path / "d")[0].num_rows == 0 and len(loaded) == 0

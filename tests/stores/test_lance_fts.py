"""The one-round-trip full-text query (``stores/lance_fts.py``) returns what LanceDB's sync API
returns: the same rows with the same BM25 scores in the same order (up to the order of equal scores,
which LanceDB itself varies from call to call), with and without filters,
through ``LanceStore.text_search`` on a real LanceDB folder (rows indexed and rows added after)."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest

import mmrag.stores.lance_reads as lance_mod  # where text_search calls fts_query
from mmrag.config import Config
from mmrag.stores.base import Row
from mmrag.stores.lance import LanceStore

WORDS = ["harbour", "lighthouse", "keeper", "boat", "summer", "winter", "budget", "report", "engine", "valve", "cat", "dog", "garden", "bread", "oven", "river", "mountain", "forest", "rabbit", "film", "camera", "station", "train", "ticket", "market", "spice", "cloves", "vanilla"]
QUERIES = ["lighthouse keeper", "boat", "bread oven garden", "spice market with cloves and vanilla",
           "nothing-matches-this", "the", "rabbit forest river mountain film camera"]
FILTERS = [None, "source = 'doc3.txt'", "page > 2", "source LIKE 'doc1%' AND page <= 3"]


def text_rows(n: int, seed: int, prefix: str) -> list[Row]:
    rng = random.Random(seed)
    vecs = np.random.default_rng(seed).standard_normal((n, 8)).astype(np.float32)
    return [
        Row(id=f"{prefix}{i}:text", segment_id=f"{prefix}{i}", source=f"doc{i % 13}.txt", source_hash="h",
            modality="text", channel="text", vector=v / np.linalg.norm(v),
            text=" ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 12))), page=i % 6)
        for i, v in enumerate(vecs)
    ]


def sync_api(store: LanceStore, q: str, k: int, where: str | None, column: str = "text") -> list[tuple[str, float]]:
    from lancedb.query import MatchQuery

    from mmrag.stores.filter_parse import parse_optional
    from mmrag.stores.filters import to_lance

    builder = store._table.search(MatchQuery(q, column), query_type="fts")
    node = parse_optional(where)
    if node is not None:
        builder = builder.where(to_lance(node), prefilter=True)
    res = builder.limit(k).select(["id", "_score"]).to_arrow()
    return list(zip(res.column("id").to_pylist(), res.column("_score").to_pylist()))


def ties_unordered(found: list[tuple[str, float]]) -> tuple[list[float], list[frozenset[str]]]:
    """The scores in order, and the ids of each run of equal scores as a set except the last run
    (LanceDB itself returns rows of equal BM25 score in varying order from call to call, and which
    of them make the cut at ``k``)."""
    runs: list[list[str]] = []
    for i, (rid, score) in enumerate(found):
        if i and score == found[i - 1][1]:
            runs[-1].append(rid)
        else:
            runs.append([rid])
    return [score for _, score in found], [frozenset(r) for r in runs[:-1]]


@pytest.mark.parametrize("where", FILTERS)
def test_one_round_trip_equals_the_sync_api(tmp_path: Path, where: str | None) -> None:
    store = LanceStore(str(tmp_path / "idx"), 8, Config())
    store.upsert(text_rows(600, 0, "a"))
    store.refresh_text_index()
    store.upsert(text_rows(50, 1, "b"))  # not folded into the full-text index yet: searched too
    store.read_only = True
    for q in QUERIES:
        for k in (1, 10, 50):
            got = [(s.row.id, s.score) for s in store.text_search(q, k, where)]
            assert ties_unordered(got) == ties_unordered(sync_api(store, q, k, where)), (q, k, where)
    assert any(s.row.id.startswith("b") for s in store.text_search("lighthouse keeper boat", 50))


def test_both_indexes_in_one_round_trip_equal_the_sync_api(tmp_path: Path) -> None:
    """With rows holding words a recogniser may also have heard (``Row.heard``), one hand-off runs the
    ``text`` and the ``heard`` query; each equals its own sync-API query."""
    from mmrag.stores.filter_parse import parse_optional
    from mmrag.stores.filters import to_lance
    from mmrag.stores.lance_fts import fts_query

    rows = text_rows(300, 3, "h")
    rows = [Row(**{**r.__dict__, "heard": " ".join(random.Random(i).sample(WORDS, 3)) if i % 4 == 0 else ""})
            for i, r in enumerate(rows)]
    store = LanceStore(str(tmp_path / "idx"), 8, Config())
    store.upsert(rows)
    assert store._has_heard_fts
    for q in QUERIES:
        for where in FILTERS[:2]:
            node = parse_optional(where)
            got = fts_query(store._table, q, 20, None if node is None else to_lance(node), ("text", "heard"))
            assert got is not None and len(got) == 2
            for column, res in zip(("text", "heard"), got):
                pairs = list(zip(res.column("id").to_pylist(), res.column("_score").to_pylist()))
                assert ties_unordered(pairs) == ties_unordered(sync_api(store, q, 20, where, column)), (q, column)


def test_falls_back_to_the_sync_api_when_the_async_handle_is_missing(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    store = LanceStore(str(tmp_path / "idx"), 8, Config())
    store.upsert(text_rows(200, 2, "c"))
    store.refresh_text_index()
    want = [(s.row.id, s.score) for s in store.text_search("keeper boat", 20)]
    assert want and lance_mod.fts_query(store._table, "keeper boat", 20, None) is not None
    monkeypatch.setattr(lance_mod, "fts_query", lambda *a: None)  # as with a lancedb lacking the handle
    assert ties_unordered([(s.row.id, s.score) for s in store.text_search("keeper boat", 20)]) == ties_unordered(want)


def test_a_writer_folds_new_rows_once_there_are_enough(tmp_path: Path) -> None:
    """Rows the full-text index lacks are scanned on every text query: a writer folds them in at 256 rows
    or 1 % of the table (``lance_table.fold_threshold``), so a small index is not left mostly unindexed."""
    from mmrag.stores.lance_table import fold_threshold

    assert [fold_threshold(n) for n in (0, 10_000, 200_000, 1_000_000)] == [256, 256, 2_000, 10_000]

    def unindexed(store: LanceStore) -> int:
        return store._table.index_stats("text_idx").num_unindexed_rows

    store = LanceStore(str(tmp_path / "idx"), 8, Config())
    store.upsert(text_rows(100, 3, "a"))
    store.refresh_text_index()  # the first write makes the index
    store.upsert(text_rows(200, 4, "b"))
    store.refresh_text_index()
    assert unindexed(store) == 200  # below 256: left for the next fold (searched all the same)
    assert any(s.row.id.startswith("b") for s in store.text_search("lighthouse keeper boat", 300))
    store.upsert(text_rows(100, 5, "c"))
    store.close()  # 300 unindexed >= 256: folded
    reopened = LanceStore(str(tmp_path / "idx"), 8, Config())
    assert unindexed(reopened) == 0 and reopened.count() == 400

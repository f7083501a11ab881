"""``VectorStore.vectors``: stored vectors by row id, the same in every store (LanceDB, Milvus Lite, a
real Milvus server). Classify (``--label-index``) and Rocchio feedback read them."""

from __future__ import annotations

import dataclasses

import numpy as np
from tests.stores.test_conformance import make_rows, milvus_location, opener, server_location, store  # noqa: F401

from mmrag.stores.base import VectorStore


def test_vectors_returns_stored_vectors_by_id_and_skips_unknown_ids(store: VectorStore) -> None:  # noqa: F811
    rows = make_rows(12)
    store.upsert(rows)
    wanted = [rows[0].id, rows[5].id, rows[11].id]
    got = store.vectors([*wanted, "nope:image", "it's:text"])  # unknown ids (one with a quote) are left out
    assert set(got) == set(wanted)
    for r in (rows[0], rows[5], rows[11]):
        assert got[r.id].dtype == np.float32 and np.allclose(got[r.id], r.vector, atol=1e-6)
    assert store.vectors([]) == {}
    moved = -rows[5].vector
    store.upsert([dataclasses.replace(rows[5], vector=moved)])
    assert np.allclose(store.vectors([rows[5].id])[rows[5].id], moved, atol=1e-6)  # the rewritten vector, not the old one


def test_lance_index_vectors_come_from_memory_and_follow_writes(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The LanceDB store answers near-duplicate checks from its ANN index (float16), per channel."""
    from mmrag.config import Config
    from mmrag.stores.lance import LanceStore

    rows = make_rows(12)
    s = LanceStore(str(tmp_path / "idx"), len(rows[0].vector), Config())
    try:
        s.upsert(rows)
        by_channel: dict[str, list] = {}
        for r in rows:
            by_channel.setdefault(r.channel, []).append(r)
        channel, members = next(iter(by_channel.items()))
        other = next(r for r in rows if r.channel != channel) if len(by_channel) > 1 else None
        asked = [m.id for m in members] + ["nope:image"] + ([other.id] if other else [])
        got = s.index_vectors(asked, channel)
        assert set(got) == {m.id for m in members}  # unknown ids and other channels' rows are left out
        exact = s.vectors([m.id for m in members])
        for m in members:
            assert np.allclose(got[m.id], exact[m.id], atol=2e-3)
        moved = -members[0].vector
        s.upsert([dataclasses.replace(members[0], vector=moved)])
        assert np.allclose(s.index_vectors([members[0].id], channel)[members[0].id], moved, atol=2e-3)
        assert s.index_vectors([members[0].id], "no-such-channel") == {} and s.index_vectors([], channel) == {}
    finally:
        s.close()


def test_similarity_vectors_are_one_channel_s_stored_vectors_in_every_store(store: VectorStore) -> None:  # noqa: F811
    """The one call ``retrieve.search`` folds near-duplicates with (LanceDB: float16 from memory)."""
    rows = make_rows(12)
    store.upsert(rows)
    images = [r for r in rows if r.channel == "image"]
    texts = [r for r in rows if r.channel == "text"]
    got = store.similarity_vectors([r.id for r in images] + [texts[0].id, "nope:image"], "image")
    assert set(got) == {r.id for r in images}  # other channels' rows and unknown ids are left out
    for r in images:
        assert np.allclose(got[r.id], r.vector, atol=2e-3)
    assert store.similarity_vectors([], "image") == {} and store.similarity_vectors([images[0].id], "text") == {}
    moved = -images[0].vector
    store.upsert([dataclasses.replace(images[0], vector=moved)])
    assert np.allclose(store.similarity_vectors([images[0].id], "image")[images[0].id], moved, atol=2e-3)


def test_an_empty_store_has_no_vectors(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from mmrag.stores import open_store

    empty = open_store(str(tmp_path / "none-yet"), None)
    assert empty.vectors(["a:image"]) == {} and empty.similarity_vectors(["a:image"], "image") == {}
    assert isinstance(empty, VectorStore) and not (tmp_path / "none-yet").exists()


def test_search_folds_near_duplicate_pictures_in_every_store(store: VectorStore) -> None:  # noqa: F811
    """``retrieve.search._diversify`` asks ``similarity_vectors`` of whatever store it has."""
    from mmrag.config import SearchConfig
    from mmrag.retrieve.search import _diversify

    rows = [r for r in make_rows(12) if r.channel == "image"][:3]
    a, b, c = rows
    twin = a.vector + 0.05 * c.vector  # a resized copy of a: cosine ~0.999 with a
    b = dataclasses.replace(b, vector=(twin / np.linalg.norm(twin)).astype(np.float32), modality="image")
    a, c = (dataclasses.replace(r, modality="image") for r in (a, c))
    store.upsert([a, b, c])
    by_key = {r.segment_id: r for r in (a, b, c)}
    fused = [(r.segment_id, 1.0 - i / 10, {}) for i, r in enumerate((a, b, c))]
    cfg = SearchConfig()
    assert float(a.vector @ c.vector) < cfg.duplicate_threshold  # c is a different picture
    assert _diversify(store, by_key, fused, 3, cfg) == [(0, [1]), (2, [])]  # b folds under a
    off = dataclasses.replace(cfg, diversify=False)
    assert _diversify(store, by_key, fused, 3, off) == [(0, []), (1, []), (2, [])]

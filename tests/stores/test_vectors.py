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

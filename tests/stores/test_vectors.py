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

"""VectorIndex: exact scan / HNSW modes, label reuse, persistence."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mmrag.errors import StoreError
from mmrag.stores.hnsw import HnswParams, VectorIndex

DIM = 12
PARAMS = HnswParams(threshold=60, m=8, ef_construction=60, ef_search=60)


def unit(n: int, seed: int = 0) -> np.ndarray:
    v = np.random.default_rng(seed).standard_normal((n, DIM)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def names(n: int, start: int = 0) -> list[str]:
    return [f"r{i}" for i in range(start, start + n)]


@pytest.mark.parametrize("n", [40, 150])  # exact scan, then HNSW
def test_query_returns_exact_scores_best_first(n: int) -> None:
    v = unit(n)
    index = VectorIndex(DIM, PARAMS)
    index.add(names(n), v)
    assert index.mode == ("exact" if n <= 60 else "hnsw")
    q = unit(1, seed=1)[0]
    got, scores = index.query(q, 5)
    want = np.argsort(-(v @ q))[:5]
    assert got == [f"r{i}" for i in want]
    assert np.allclose(scores, (v @ q)[want], atol=1e-5)
    assert index.query(q, 0) == ([], pytest.approx(np.zeros(0)))
    assert len(index.query(q, 10_000)[0]) == n


def test_remove_frees_labels_for_reuse_and_updates_in_place() -> None:
    v = unit(100)
    index = VectorIndex(DIM, PARAMS)
    index.add(names(100), v)
    assert index.remove(["r1", "r2", "nope"]) == 2
    assert "r1" not in index and len(index) == 98
    index.add(["x", "y"], unit(2, seed=3))  # re-uses the two freed labels
    assert len(index._ids) == 100
    index.add(["r5"], v[7:8])  # same id, new vector
    got, scores = index.query(v[7], 2)
    assert set(got) == {"r5", "r7"} and np.allclose(scores, 1.0, atol=1e-5)
    assert "r1" not in index.query(v[1], 100)[0]


def test_filtered_query_reports_completeness() -> None:
    v = unit(200)
    index = VectorIndex(DIM, PARAMS)
    index.add(names(200), v)
    q = v[0]
    got, _, complete = index.query_filtered(q, 5, lambda rid: int(rid[1:]) % 2 == 0, 1000)
    even = [i for i in range(200) if i % 2 == 0]
    assert complete and got[0] == "r0" and all(int(g[1:]) % 2 == 0 for g in got)
    assert got == [f"r{even[i]}" for i in np.argsort(-(v[even] @ q))[:5]]
    got, _, complete = index.query_filtered(q, 5, lambda rid: rid == "r199", 64)
    assert not complete or got == ["r199"]  # too selective for 64 candidates: caller falls back
    got, _, complete = index.query_filtered(q, 5, lambda rid: False, 10_000)
    assert got == [] and complete  # searched everything


@pytest.mark.parametrize("n", [30, 120])
def test_save_and_load_round_trip(tmp_path: Path, n: int) -> None:
    v = unit(n)
    index = VectorIndex(DIM, PARAMS)
    index.add(names(n), v)
    index.remove(["r3"])
    index.save(tmp_path, "image")
    again = VectorIndex.load(tmp_path, "image", DIM, PARAMS)
    assert again.mode == index.mode and len(again) == n - 1 and "r3" not in again
    q = unit(1, seed=2)[0]
    assert again.query(q, 8)[0] == index.query(q, 8)[0]
    again.add(["new"], v[3:4])  # the freed label is re-used after loading too
    assert again.query(v[3], 1)[0] == ["new"] and len(again._ids) == n
    np.testing.assert_allclose(again.vectors(["r4"]), v[4:5], atol=1e-6)


def test_load_rejects_damaged_or_mismatched_sidecars(tmp_path: Path) -> None:
    index = VectorIndex(DIM, PARAMS)
    index.add(names(10), unit(10))
    index.save(tmp_path, "t")
    with pytest.raises(StoreError, match="dim"):
        VectorIndex.load(tmp_path, "t", DIM + 1, PARAMS)
    (tmp_path / "t.npy").write_bytes(b"not numpy")
    with pytest.raises(StoreError, match="unreadable"):
        VectorIndex.load(tmp_path, "t", DIM, PARAMS)
    with pytest.raises(StoreError):
        VectorIndex.load(tmp_path, "missing", DIM, PARAMS)


def test_sample_is_deterministic_and_from_the_stored_vectors() -> None:
    v = unit(50)
    index = VectorIndex(DIM, PARAMS)
    index.add(names(50), v)
    a, b = index.sample(10, seed=4), index.sample(10, seed=4)
    assert a.shape == (10, DIM) and np.array_equal(a, b)
    assert all(np.abs(v - row).max(axis=1).min() < 1e-6 for row in a)
    assert index.sample(500).shape == (50, DIM)

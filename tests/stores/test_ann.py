"""VectorIndex: exact scan / faiss IVF modes, keys, replacement, persistence (memory-mapped)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mmrag.errors import ConfigError, StoreError
from mmrag.stores import sampling
from mmrag.stores.ann import AnnParams, VectorIndex, key_of, keys_of

DIM = 12
PARAMS = AnnParams(threshold=60, nprobe=6)  # 150 rows: 18 lists, a third of them read


def unit(n: int, seed: int = 0) -> np.ndarray:
    v = np.random.default_rng(seed).standard_normal((n, DIM)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def keys(n: int, start: int = 0) -> np.ndarray:
    return np.arange(start, start + n, dtype=np.uint64) + np.uint64(1 << 40)


def test_keys_are_stable_63_bit_hashes() -> None:
    assert key_of("seg1:text") == key_of("seg1:text") != key_of("seg1:image")
    assert key_of("seg1:text") < (1 << 63)
    assert keys_of(["a", "b"]).tolist() == [key_of("a"), key_of("b")]
    assert len(set(keys_of(f"s{i}:text" for i in range(20_000)).tolist())) == 20_000


@pytest.mark.parametrize("n", [40, 150])  # exact scan, then IVF (float16)
def test_query_returns_scores_best_first(n: int) -> None:
    v = unit(n)
    index = VectorIndex(DIM, PARAMS)
    index.add(keys(n), v)
    assert index.mode == ("exact" if n <= 60 else "ivf")
    q = unit(1, seed=1)[0]
    got, scores = index.query(q, 5)
    want = np.argsort(-(v @ q))[:5]
    if n <= 60:
        assert got.tolist() == keys(n)[want].tolist()
        assert np.allclose(scores, (v @ q)[want], atol=1e-5)
    else:  # approximate (6 of 18 lists read), float16 scores: the set is (almost) exact
        assert len(set(got.tolist()) & set(keys(n)[want].tolist())) >= 4 and got[0] == keys(n)[want[0]]
        exact = (v @ q)[(got - keys(1)[0]).astype(np.int64)]
        assert np.allclose(scores, exact, atol=2e-3) and list(scores) == sorted(scores, reverse=True)
    assert len(index.query(q, 0)[0]) == 0
    assert len(index.query(q, 10_000)[0]) == n


@pytest.mark.parametrize("n", [40, 150])
def test_remove_and_replace_in_place(n: int) -> None:
    v = unit(n)
    index = VectorIndex(DIM, PARAMS)
    index.add(keys(n), v)
    k = keys(n)
    assert index.remove(np.array([k[1], k[2], 7], dtype=np.uint64)) == 2
    assert not index.contains(k[1:2])[0] and len(index) == n - 2
    index.add(k[5:6], v[7:8])  # same key, new vector: replaced, not duplicated
    got, scores = index.query(v[7], 2)
    assert set(got.tolist()) == {int(k[5]), int(k[7])} and np.allclose(scores, 1.0, atol=2e-3)
    assert int(k[1]) not in index.query(v[1], n)[0].tolist()
    assert len(index) == n - 2


def test_threshold_crossings_keep_every_vector() -> None:
    v = unit(200)
    index = VectorIndex(DIM, PARAMS)
    index.add(keys(50), v[:50])
    assert index.mode == "exact"
    index.add(keys(150, 50), v[50:])
    assert index.mode == "ivf" and len(index) == 200
    index.remove(keys(180))  # below threshold / 2: back to the exact scan
    assert index.mode == "exact" and sorted(index.keys().tolist()) == keys(20, 180).tolist()
    np.testing.assert_allclose(index.vectors(keys(1, 190)), v[190:191], atol=2e-3)


def test_filtered_query_reports_completeness() -> None:
    v = unit(200)
    index = VectorIndex(DIM, PARAMS)
    index.add(keys(200), v)
    base = int(keys(1)[0])
    q = v[0]
    even = lambda ks: (ks - np.uint64(base)) % np.uint64(2) == 0
    got, _, complete = index.query_filtered(q, 5, even, 1000)
    idx = [i for i in range(200) if i % 2 == 0]
    assert complete and got[0] == base and all((g - base) % 2 == 0 for g in got.tolist())
    want = [idx[i] for i in np.argsort(-(v[idx] @ q))[:5]]
    # approximate (IVF reads 6 of 18 lists): a near neighbour can be missed now and then
    assert len(set((got - np.uint64(base)).tolist()) & set(want)) >= 4
    got, _, complete = index.query_filtered(q, 5, lambda ks: ks == np.uint64(base + 199), 64)
    assert not complete or got.tolist() == [base + 199]  # too selective for 64 candidates: caller falls back
    got, _, complete = index.query_filtered(q, 5, lambda ks: np.zeros(len(ks), bool), 10_000)
    assert len(got) == 0 and complete  # searched everything


@pytest.mark.parametrize("n", [30, 120])
def test_save_and_load_round_trip(tmp_path: Path, n: int) -> None:
    v = unit(n)
    index = VectorIndex(DIM, PARAMS)
    index.add(keys(n), v)
    index.remove(keys(1, 3))
    index.save(tmp_path, "image")
    again = VectorIndex.load(tmp_path, "image", DIM, PARAMS)
    assert again.mode == index.mode and len(again) == n - 1 and not again.contains(keys(1, 3))[0]
    if again.mode == "ivf":
        assert again._view_path is not None  # memory-mapped until the first write
    q = unit(1, seed=2)[0]
    assert again.query(q, 8)[0].tolist() == index.query(q, 8)[0].tolist()
    again.add(keys(1, 10_000), v[3:4])  # a write loads the view into memory first
    assert again._view_path is None
    assert again.query(v[3], 1)[0].tolist() == keys(1, 10_000).tolist() and len(again) == n
    np.testing.assert_allclose(again.vectors(keys(1, 4)), v[4:5], atol=2e-3)


def test_load_rejects_damaged_or_mismatched_sidecars(tmp_path: Path) -> None:
    index = VectorIndex(DIM, PARAMS)
    index.add(keys(10), unit(10))
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
    index.add(keys(50), v)
    a, b = index.sample(10, seed=4), index.sample(10, seed=4)
    assert a.shape == (10, DIM) and np.array_equal(a, b)
    assert all(np.abs(v - row).max(axis=1).min() < 1e-6 for row in a)
    assert index.sample(500).shape == (50, DIM)


def test_sample_is_chosen_by_the_vectors_not_their_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    """The calibration background must not depend on where the files lie: the same vectors under other
    row ids (another folder), added in another order, give the same sample; a channel larger than
    ``CONTENT_ROWS`` is sampled by its keys (reading every vector at each refresh would cost too much)."""
    dim = 64  # real towers have 384+ coordinates: their signs tell rows apart
    v = np.random.default_rng(5).standard_normal((300, dim)).astype(np.float32)
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    here, there = VectorIndex(dim, PARAMS), VectorIndex(dim, PARAMS)
    here.add(keys_of(f"/home/me/docs/{i}:text" for i in range(300)), v)
    order = np.random.default_rng(9).permutation(300)
    there.add(keys_of(f"/tmp/copy/docs/{i}:text" for i in order), v[order])
    assert here.mode == there.mode == "ivf"  # float16 lists: the signs survive the rounding
    sample = here.sample(40, seed=2)
    assert sample.shape == (40, dim) and np.array_equal(sample, there.sample(40, seed=2))
    assert not np.array_equal(sample, here.sample(40, seed=3))
    monkeypatch.setattr(sampling, "CONTENT_ROWS", 100)
    by_keys = here.sample(40, seed=2)
    assert by_keys.shape == (40, dim) and not np.array_equal(by_keys, there.sample(40, seed=2))


def test_content_keys_read_signs_only() -> None:
    v = np.random.default_rng(2).standard_normal((2000, 384)).astype(np.float32)
    k = sampling.content_keys(v)
    assert k.dtype == np.uint64 and len(np.unique(k)) == 2000
    assert np.array_equal(k, sampling.content_keys(v * 3.0 + np.sign(v) * 1e-3))  # same signs, same keys
    assert np.array_equal(k, sampling.content_keys(v.astype(np.float16)))
    assert not np.array_equal(k, sampling.content_keys(v, seed=1))
    flipped = v.copy()
    flipped[:, 0] *= -1
    assert not np.any(k == sampling.content_keys(flipped))
    assert sampling.content_keys(np.zeros((0, 384), np.float32)).shape == (0,)
    # smallest: the n rows with the smallest keys, whatever the order of the rows
    whole = sampling.smallest(v, 50)
    assert np.array_equal(whole, sampling.smallest(np.concatenate([v[1500:], v[:700], v[700:1500]]), 50))
    assert np.array_equal(sampling.content_keys(whole), np.sort(k)[:50])
    # near-copies (every sign the same: one paragraph under two titles) tie on their keys; their rounded
    # values order them, so the one kept does not depend on which came first
    x = v[:1]
    near = np.concatenate([x, x + np.sign(x) * 0.01])
    assert sampling.content_keys(near)[0] == sampling.content_keys(near)[1]
    assert np.array_equal(sampling.smallest(near, 1), sampling.smallest(near[::-1], 1))


def clustered_unit(n: int, dim: int = 64, clusters: int = 40, noise: float = 1.0, seed: int = 0) -> np.ndarray:
    """``n`` unit vectors around ``clusters`` centres (noise of norm ~``noise`` against centres of norm 1)."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((clusters, dim)).astype(np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    v = centres[rng.integers(0, clusters, n)] + rng.standard_normal((n, dim)).astype(np.float32) * (noise / np.sqrt(dim))
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def test_every_row_finds_itself_first_at_a_few_thousand_clustered_rows() -> None:
    # the usearch graph used before once failed this at 3,000 clustered rows (an unreachable node)
    v = clustered_unit(4000)
    index = VectorIndex(64, AnnParams(threshold=1000))  # the shipped search settings, the IVF mode
    index.add(keys(4000), v)
    assert index.mode == "ivf"
    picks = np.random.default_rng(1).choice(4000, 200, replace=False)
    first = [int(index.query(v[i], 1)[0][0]) == int(keys(4000)[i]) for i in picks]
    assert sum(first) == 200


def _recall(index: VectorIndex, data: np.ndarray, queries: np.ndarray) -> float:
    exact = np.argsort(-(queries @ data.T), axis=1)[:, :10]
    got = [(index.query(q, 10)[0] - keys(1)[0]).astype(np.int64) for q in queries]
    return float(np.mean([len(set(g.tolist()) & set(e.tolist())) / 10 for g, e in zip(got, exact)]))


@pytest.mark.parametrize("noise", [1.0, 2.0])  # clustered; less clustered (noise twice the cluster signal)
def test_recall_against_an_exact_scan_on_a_few_thousand_rows(noise: float) -> None:
    v = clustered_unit(6000 + 100, noise=noise, seed=3)
    data, queries = v[:6000], v[6000:]
    index = VectorIndex(64, AnnParams(threshold=1000))  # the shipped search settings
    index.add(keys(6000), data)
    assert index.mode == "ivf" and index._ivf is not None and index._ivf.nlist == 153
    assert _recall(index, data, queries) >= 0.95
    if noise == 2.0:  # why ``min_scan``: a row's neighbours spread over many lists, 32 of 153 lists miss some
        alone = VectorIndex(64, AnnParams(threshold=1000, nprobe=32, min_scan=0))
        alone.add(keys(6000), data)
        assert _recall(alone, data, queries) < 0.95


def test_lists_are_retrained_as_the_index_grows() -> None:
    v = unit(1200)
    index = VectorIndex(DIM, AnnParams(threshold=100, nprobe=1000))  # every list read: exact answers
    index.add(keys(150), v[:150])
    assert index.mode == "ivf" and index._ivf is not None
    first = index._ivf.nlist
    for lo in range(150, 1200, 150):  # batches, as a writer adds them
        index.add(keys(150, lo), v[lo : lo + 150])
    assert index._ivf.trained >= 600 and index._ivf.nlist > first  # retrained at 300 and 600 rows
    assert len(index) == 1200 and sorted(index.keys().tolist()) == keys(1200).tolist()
    q = unit(1, seed=9)[0]
    assert index.query(q, 5)[0].tolist() == keys(1200)[np.argsort(-(v @ q))[:5]].tolist()
    np.testing.assert_allclose(index.vectors(keys(2, 700)), v[700:702], atol=2e-3)


def test_float32_lists_round_trip_and_retrain(tmp_path: Path) -> None:
    v = unit(400)
    params = AnnParams(threshold=100, dtype="f32", nprobe=1000)
    index = VectorIndex(DIM, params)
    index.add(keys(150), v[:150])
    index.add(keys(250, 150), v[150:])  # past twice the 150 trained on: retrained
    assert index._ivf is not None and index._ivf.trained == 400
    np.testing.assert_allclose(index.vectors(keys(3, 10)), v[10:13], atol=1e-6)  # float32: exact
    index.save(tmp_path, "f")
    again = VectorIndex.load(tmp_path, "f", DIM, params)
    q = unit(1, seed=5)[0]
    got, scores = again.query(q, 3)
    assert got.tolist() == keys(400)[np.argsort(-(v @ q))[:3]].tolist()
    np.testing.assert_allclose(scores, np.sort(v @ q)[::-1][:3], atol=1e-5)


def test_bad_settings_are_refused_with_the_key_to_fix() -> None:
    with pytest.raises(ConfigError, match="ann_dtype"):
        AnnParams(dtype="i8")
    with pytest.raises(ConfigError, match="ann_nprobe"):
        AnnParams(nprobe=0)

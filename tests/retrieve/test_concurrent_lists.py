"""A store whose reads are server round trips (``concurrent_reads``) gets a fused search's lists at once."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest

from mmrag.config import Config
from mmrag.retrieve.search import BackgroundSamples, Query, search
from mmrag.stores.base import Row
from mmrag.stores.lance import LanceStore

DIM = 16


@pytest.fixture()
def store(tmp_path: Path) -> LanceStore:
    rng = np.random.default_rng(0)
    vecs = rng.standard_normal((60, DIM)).astype(np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    s = LanceStore(str(tmp_path / "idx"), DIM, Config())
    s.upsert([
        Row(id=f"s{i}:{ch}", segment_id=f"s{i}", source=f"d{i % 6}.txt", source_hash="h", modality="text" if ch == "text" else "image",
            channel=ch, vector=vecs[i], text=f"row {i} zebra" if i % 5 == 0 else f"row {i}")
        for i in range(60) for ch in (("text",) if i % 2 else ("image",))
    ])
    return s


def _fused(store: LanceStore, q: np.ndarray) -> list[tuple[str, float]]:
    cfg = Config().search
    hits = search(store, Query({"text": q}, text="zebra"), channels=["text", "image"], k=8, config=cfg,
                  samples=BackgroundSamples(size=32))
    return [(h.segment_id, round(h.score, 6)) for h in hits]


def test_lists_run_at_once_for_a_concurrent_store_with_the_same_hits(store: LanceStore, monkeypatch: pytest.MonkeyPatch) -> None:
    q = np.ones(DIM, np.float32) / np.sqrt(DIM)
    one_by_one = _fused(store, q)
    barrier = threading.Barrier(3, timeout=60)  # two dense lists + the text list must be in flight together
    search_, text_ = store.search, store.text_search

    def meet_then(fn):  # type: ignore[no-untyped-def]
        def call(*args, **kwargs):  # type: ignore[no-untyped-def]
            barrier.wait()  # sequential calls would never all arrive: BrokenBarrierError
            return fn(*args, **kwargs)
        return call

    monkeypatch.setattr(store, "search", meet_then(search_))
    monkeypatch.setattr(store, "text_search", meet_then(text_))
    monkeypatch.setattr(store, "concurrent_reads", True, raising=False)
    assert any(int(sid[1:]) % 5 for sid, _ in one_by_one)  # the dense lists count, not only the text list
    assert _fused(store, q) == one_by_one


def test_an_in_process_store_runs_its_lists_one_after_another(store: LanceStore, monkeypatch: pytest.MonkeyPatch) -> None:
    active, most = [0], [0]
    search_ = store.search

    def count(*args, **kwargs):  # type: ignore[no-untyped-def]
        active[0] += 1
        most[0] = max(most[0], active[0])
        try:
            return search_(*args, **kwargs)
        finally:
            active[0] -= 1

    monkeypatch.setattr(store, "search", count)
    assert _fused(store, np.ones(DIM, np.float32) / np.sqrt(DIM))
    assert most[0] == 1

"""Warming a reopened store's memory-mapped IVF lists (``store.ann_warm``, ``stores/mapped.py``)."""

from __future__ import annotations

import gc
import logging
import mmap
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

from mmrag.config import Config
from mmrag.errors import ConfigError
from mmrag.stores.lance import LanceStore
from mmrag.stores.mapped import mappings_of, populate, random_advised

from .test_lance import CFG, DIM, clustered, rows_for, top_ids

linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="MADV_POPULATE_READ is Linux's")


def test_mappings_of_reads_only_that_file(tmp_path: Path) -> None:
    target = tmp_path / "dir with space" / "ch.faiss"
    target.parent.mkdir()
    target.write_bytes(b"x")
    real = str(target.resolve())
    maps = "\n".join([
        f"7f00000000-7f00002000 r--s 00000000 fe:00 1234                    {real}",
        "7f00002000-7f00003000 rw-p 00000000 00:00 0 ",
        f"7f00004000-7f00009000 r--s 00002000 fe:00 1234                    {real}",
        f"7f0000a000-7f0000b000 r--s 00000000 fe:00 1234                    {real}.tmp",
        f"7f0000c000-7f0000d000 r--s 00000000 fe:00 99                      {real} (deleted)",
    ])
    found = mappings_of(target, maps)
    assert [(m.start, m.end) for m in found] == [(0x7F00000000, 0x7F00002000), (0x7F00004000, 0x7F00009000)]
    assert mappings_of(tmp_path / "other.faiss", maps) == []


@linux_only
def test_populate_keeps_a_random_advice(tmp_path: Path) -> None:
    """faiss advises its mapping MADV_RANDOM (no readahead); populate reads with readahead, then sets the
    advice back, so later page-ins (after the kernel reclaims pages) stay list-sized."""
    path = tmp_path / "lists.bin"
    path.write_bytes(np.random.default_rng(0).integers(0, 255, 4 << 20, dtype=np.uint8).tobytes())
    with open(path, "rb") as fh, mmap.mmap(fh.fileno(), 0, prot=mmap.PROT_READ) as m:
        m.madvise(mmap.MADV_RANDOM)
        (found,) = mappings_of(path)
        assert random_advised(found.start)
        assert populate(path) == 4 << 20
        assert _resident_fraction(path) == pytest.approx(1.0, abs=0.01)
        assert random_advised(found.start)
    assert populate(path) == 0  # no longer mapped


def _ivf_index(path: Path, n: int = 20_000) -> tuple[np.ndarray, list[list[str]]]:
    """An index whose lists file (~1.1 MB) is far larger than what opening it touches; the writer's own
    top 10 of a few queries (its in-memory lists are the ones saved)."""
    queries = clustered(5, seed=9)
    store = LanceStore(str(path), DIM, CFG)
    store.upsert(rows_for(clustered(n, seed=4)))
    found = [top_ids(store, q, 10) for q in queries]
    store.close()  # saves ann/: the next open maps the lists
    return queries, found


def _resident_fraction(path: Path) -> float:
    """Rss / Size of this process's mappings of ``path`` (from /proc/self/smaps)."""
    want, size, rss, inside = str(path.resolve()), 0, 0, False
    for line in Path("/proc/self/smaps").read_text().splitlines():
        head = line.split()
        if head and "-" in head[0] and len(head) >= 5 and all(c in "0123456789abcdef-" for c in head[0]):
            inside = len(head) >= 6 and " ".join(head[5:]) == want
        elif inside and head[0] == "Size:":
            size += int(head[1])
        elif inside and head[0] == "Rss:":
            rss += int(head[1])
    assert size, f"{path} is not mapped"
    return rss / size


def _lists_file(store: LanceStore) -> Path:
    index = next(iter(store._indexes.values()))
    assert index.mode == "ivf" and index._view_path is not None, "the reopened index should be a mapped view"
    return index._view_path


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, np.ndarray, list[list[str]]]:
    path = tmp_path_factory.mktemp("warm") / "idx"
    return (path, *_ivf_index(path))


@linux_only
def test_warm_makes_the_mapped_lists_resident_and_changes_no_result(saved) -> None:
    path, queries, written = saved
    store = LanceStore(str(path), DIM, CFG)  # store.ann_warm "serve": not here
    lists = _lists_file(store)
    cold = _resident_fraction(lists)
    brought = store.warm(background=False)
    assert brought >= lists.stat().st_size  # the whole mapping (page-rounded)
    assert cold < 0.5 and _resident_fraction(lists) == pytest.approx(1.0, abs=0.01)
    assert [top_ids(store, q, 10) for q in queries] == written
    del store
    gc.collect()  # faiss unmaps the lists: the next test sees only its own mapping
    assert mappings_of(lists) == []


@linux_only
def test_ann_warm_on_warms_in_the_background_at_open(saved, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="mmrag.stores.ann")
    store = LanceStore(str(saved[0]), DIM, CFG.with_overrides({"store.ann_warm": "on"}))
    for t in [t for t in threading.enumerate() if t.name == "mmrag-ann-warm"]:
        t.join(timeout=30)
    assert _resident_fraction(_lists_file(store)) == pytest.approx(1.0, abs=0.01)
    assert any("MB of vector lists" in r.getMessage() and r.threadName == "mmrag-ann-warm" for r in caplog.records)


def test_warm_of_an_exact_or_unsaved_index_reads_nothing(tmp_path: Path) -> None:
    store = LanceStore(str(tmp_path / "idx"), DIM, CFG)
    store.upsert(rows_for(clustered(50)))  # below the threshold: exact, in memory
    assert store.warm(background=False) == 0


def test_ann_warm_rejects_unknown_values(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="store.ann_warm must be 'serve', 'on' or 'off'"):
        LanceStore(str(tmp_path / "idx"), DIM, Config().with_overrides({"store.ann_warm": "yes"}))

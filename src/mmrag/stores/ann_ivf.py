"""A faiss inverted-file index of one channel (``ann.VectorIndex``'s large mode).

``IndexIVFScalarQuantizer`` (float16 codes, or ``IndexIVFFlat`` for float32),
inner product, coarse quantizer = k-means centroids (``IndexFlatIP``), a hash
table from key to (list, offset) for removal and reconstruction. Codes are
stored without residuals, so a list entry IS the float16 vector: scores are
float16 cosines (error ~1e-3) and reconstruction is exact to float16.

Why faiss IVF (bench/README.md, "Scale, issue 11 again"): at 1M clustered
384-d rows the previous usearch HNSW graph (connectivity 16) topped out at
recall@10 0.93 (even at ef 2048) and its 917 MB file was all resident after
300 queries; an IVF search scans ``nprobe`` whole lists, so its recall is set
by how many lists it reads, not by a graph's reach, a saved index opens
memory-mapped (``IO_FLAG_MMAP_IFC``: a search touches only its lists), and it
builds ~10x faster (k-means + one assignment per row, multi-threaded BLAS; at
200k rows 4,647 rows per CPU-second, usearch 477 at connectivity 16, 339 at 32).
Its weak side: data with little cluster structure, where a row's neighbours
spread over many lists (docs/scale.md).
faiss is maintained by Meta, used by most vector databases, and supports
removal by id (the store replaces rows in place).
"""

from __future__ import annotations

import logging
import math
import os
from pathlib import Path
from typing import Any

import numpy as np

from mmrag.errors import StoreError

log = logging.getLogger(__name__)

TRAIN_PER_LIST = 64  # k-means training sample: at most this many rows per list
MIN_PER_LIST = 39  # and at least this many (faiss's minimum; it warns below)
ADD_CHUNK = 65_536  # rows converted to float32 and added at a time


def _faiss() -> Any:
    import faiss

    return faiss


def n_lists(rows: int, lists: int = 0) -> int:
    """Inverted lists for ``rows`` vectors: ``lists`` if set, else 4 * sqrt(rows) (faiss's rule of thumb),
    at most one per ``MIN_PER_LIST`` rows (k-means needs that many points a centroid)."""
    want = lists or int(4 * math.sqrt(max(rows, 1)))
    return int(max(1, min(want, rows // MIN_PER_LIST)))


class Ivf:
    """One trained faiss IVF index; ``view`` = memory-mapped, read-only (never written)."""

    def __init__(self, index: Any, trained: int, view: bool, threads: int = 0) -> None:
        self.index = index
        self.threads = threads  # for adding (0: every core); a search uses one
        self.trained = int(trained)  # rows the centroids were trained on (retrained when the index outgrows them)
        self.view = view
        self._sorted: np.ndarray | None = None  # every key, sorted (membership), rebuilt after a write

    @classmethod
    def build(cls, dim: int, keys: np.ndarray, vecs: np.ndarray, lists: int, dtype: str, threads: int) -> Ivf:
        """Train the lists on (a sample of) ``vecs`` and add them all; ``vecs`` may be float16 (added in chunks
        as float32, so a retraining holds one float16 copy of the vectors, not a float32 one)."""
        faiss = _faiss()
        _threads(threads)
        nlist = n_lists(len(keys), lists)
        quantizer = faiss.IndexFlatIP(dim)
        if dtype == "f32":
            index = faiss.IndexIVFFlat(quantizer, dim, nlist, faiss.METRIC_INNER_PRODUCT)
        else:
            index = faiss.IndexIVFScalarQuantizer(quantizer, dim, nlist, faiss.ScalarQuantizer.QT_fp16,
                                                  faiss.METRIC_INNER_PRODUCT, False)
        n = len(keys)
        take = min(n, TRAIN_PER_LIST * nlist)
        sample = vecs if take == n else vecs[np.sort(np.random.default_rng(0).choice(n, take, replace=False))]
        index.cp.max_points_per_centroid = TRAIN_PER_LIST
        index.cp.min_points_per_centroid = 1  # n_lists keeps MIN_PER_LIST where it can; tiny indexes: no stderr warning
        index.train(np.ascontiguousarray(sample, dtype=np.float32))
        del sample
        index.set_direct_map_type(faiss.DirectMap.Hashtable)
        out = cls(index, n, view=False, threads=threads)
        for lo in range(0, n, ADD_CHUNK):
            out.add(keys[lo : lo + ADD_CHUNK], vecs[lo : lo + ADD_CHUNK])
        return out

    # -- state ----------------------------------------------------------------
    def __len__(self) -> int:
        return int(self.index.ntotal)

    @property
    def nlist(self) -> int:
        return int(self.index.nlist)

    def keys(self) -> np.ndarray:
        if self._sorted is None:
            faiss, inv = _faiss(), self.index.invlists
            parts = [np.zeros(0, dtype=np.int64)]
            for lst in range(self.nlist):
                size = inv.list_size(lst)
                if size:
                    parts.append(faiss.rev_swig_ptr(inv.get_ids(lst), size).copy())
            self._sorted = np.sort(np.concatenate(parts)).astype(np.uint64)
        return self._sorted

    def contains(self, keys: np.ndarray) -> np.ndarray:
        if self._sorted is None and len(keys) <= 64:  # a few keys after a write: the hash table, not a key list
            return np.fromiter((self._has(int(k)) for k in keys), dtype=bool, count=len(keys))
        have = self.keys()
        if not len(have):
            return np.zeros(len(keys), dtype=bool)
        pos = np.minimum(np.searchsorted(have, keys), len(have) - 1)
        return have[pos] == keys

    def _has(self, key: int) -> bool:
        try:
            self.index.direct_map.get(key)
        except RuntimeError:  # faiss: "key not found"
            return False
        return True

    def everything(self) -> tuple[np.ndarray, np.ndarray]:
        """Every key and its stored vector (float16 or float32, as stored), list by list (for retraining
        and shrinking)."""
        faiss, inv = _faiss(), self.index.invlists
        size_code = int(self.index.code_size)
        kind = np.float32 if size_code == 4 * self.index.d else np.float16
        keys, vecs = [np.zeros(0, dtype=np.int64)], [np.zeros((0, self.index.d), dtype=kind)]
        for lst in range(self.nlist):
            size = inv.list_size(lst)
            if size:
                keys.append(faiss.rev_swig_ptr(inv.get_ids(lst), size).copy())
                codes = faiss.rev_swig_ptr(inv.get_codes(lst), size * size_code)
                vecs.append(np.frombuffer(codes, dtype=kind).reshape(size, self.index.d).copy())
        return np.concatenate(keys).astype(np.uint64), np.concatenate(vecs)

    # -- writes ---------------------------------------------------------------
    def add(self, keys: np.ndarray, vecs: np.ndarray) -> None:
        """Add new keys (the caller removed any present ones first)."""
        assert not self.view, "a memory-mapped faiss index must not be written"
        if len(keys):
            _threads(self.threads)
            self.index.add_with_ids(np.ascontiguousarray(vecs, dtype=np.float32), keys.astype(np.int64))
            self._sorted = None

    def remove(self, keys: np.ndarray) -> int:
        assert not self.view, "a memory-mapped faiss index must not be written"
        ids = np.unique(keys).astype(np.int64)  # keys not present are skipped by the hash table
        if not len(ids):
            return 0
        faiss = _faiss()
        gone = int(self.index.remove_ids(faiss.IDSelectorArray(len(ids), faiss.swig_ptr(ids))))
        if gone:
            self._sorted = None
        return gone

    # -- reads ----------------------------------------------------------------
    def search(self, q: np.ndarray, k: int, nprobe: int) -> tuple[np.ndarray, np.ndarray]:
        """Top ``k`` (fewer if the ``nprobe`` lists hold fewer) keys and inner products, best first."""
        faiss = _faiss()
        # one query, one thread: OpenMP's second thread only waits (measured at 1M rows, nprobe 16, on 2
        # busy cores: 0.67 ms on one thread, 6.4 ms on two); the setting is per calling thread
        faiss.omp_set_num_threads(1)
        params = faiss.SearchParametersIVF(nprobe=int(min(max(nprobe, 1), self.nlist)))
        scores, ids = self.index.search(q.reshape(1, -1), int(k), params=params)
        ok = ids[0] >= 0
        return ids[0][ok].astype(np.uint64), scores[0][ok].astype(np.float32)

    def vectors(self, keys: np.ndarray) -> np.ndarray:
        return np.asarray(self.index.reconstruct_batch(keys.astype(np.int64)), dtype=np.float32).reshape(len(keys), -1)

    # -- persistence ------------------------------------------------------------
    def save(self, path: Path) -> None:
        tmp = path.with_name(path.name + ".tmp")
        _faiss().write_index(self.index, str(tmp))
        os.replace(tmp, path)

    @classmethod
    def load(cls, path: Path, trained: int, view: bool, threads: int = 0) -> Ivf:
        """Open a saved index: ``view`` maps it (pages are read as searches touch them), else reads it in."""
        faiss = _faiss()
        flags = faiss.IO_FLAG_MMAP_IFC | faiss.IO_FLAG_READ_ONLY if view else 0
        index = faiss.read_index(str(path), flags)
        if not isinstance(index, faiss.IndexIVF):
            raise StoreError(f"{path.name} is not a faiss IVF index; the store rebuilds it from the table")
        return cls(index, trained, view, threads)


def _threads(threads: int) -> None:
    """faiss's OpenMP threads for training and adding (0: every core)."""
    _faiss().omp_set_num_threads(int(threads) if threads > 0 else max(1, os.cpu_count() or 1))


__all__ = ["Ivf", "n_lists"]

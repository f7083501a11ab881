"""In-process vector index of one channel: exact numpy scan while small, faiss IVF above.

Rows are addressed by a 63-bit key, ``key_of(row_id)`` (BLAKE2b of the id):
no id strings live beside the vectors. Below ``threshold`` live vectors the
index keeps a float32 matrix and scans it exactly (a BLAS mat-vec). Above,
it moves the vectors into a faiss inverted-file index (``ann_ivf``: k-means
lists of float16 vectors, inner product) and a query reads the ``nprobe``
lists nearest to it (more on a small index: at least ``min_scan`` rows). When the index grows to ``regrow`` times the rows its
lists were trained on, it retrains them (4 * sqrt(rows) lists), so a list
stays a few hundred rows long and a query's cost stays ~nprobe * sqrt(rows).
Why IVF and not the usearch HNSW graph used before: bench/README.md ("Scale,
issue 11 again") and ``ann_ivf``. Scores above the threshold are float16
cosines (error ~1e-3).

A loaded index is a read-only memory-mapped view until the first write,
which reads it into memory (a view must never be written). Sidecars of
format 3 (usearch) are not read: the store rebuilds them (``lance_sidecar``).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mmrag.errors import ConfigError, StoreError
from mmrag.stores import sampling
from mmrag.stores.ann_ivf import Ivf
from mmrag.stores.mapped import populate

log = logging.getLogger(__name__)

FORMAT = 4
KEY_MASK = (1 << 63) - 1


def key_of(row_id: str) -> int:
    """The 63-bit key of a row id (stable across processes and versions)."""
    digest = hashlib.blake2b(row_id.encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "little") & KEY_MASK


def keys_of(row_ids: Iterable[str]) -> np.ndarray:
    return np.fromiter((key_of(i) for i in row_ids), dtype=np.uint64)


@dataclass(frozen=True)
class AnnParams:
    threshold: int = 5_000  # live vectors above which the IVF index replaces the exact scan
    nprobe: int = 16  # lists a query reads (of 4 * sqrt(rows)) ...
    min_scan: int = 4096  # ... or more, until they hold about this many rows (cheap, and robust on small indexes)
    lists: int = 0  # inverted lists at each (re)training; 0: 4 * sqrt(rows)
    dtype: str = "f16"  # f16 | f32: how the lists store vectors
    threads: int = 0  # faiss threads for training and adding (0: all cores)
    regrow: float = 2.0  # retrain the lists when the rows reach this multiple of the rows trained on

    def __post_init__(self) -> None:
        if self.dtype not in ("f16", "f32"):
            raise ConfigError(f"store.ann_dtype must be 'f16' or 'f32', got {self.dtype!r}. Set one in mmrag.toml.")
        if self.nprobe < 1 or self.min_scan < 0 or self.lists < 0:
            raise ConfigError(
                f"store.ann_nprobe must be >= 1 and store.ann_min_scan, store.ann_lists >= 0 (got {self.nprobe}, "
                f"{self.min_scan}, {self.lists}). Fix them in mmrag.toml or MMRAG_STORE_*."
            )


def _top(scores: np.ndarray, k: int) -> np.ndarray:
    """Indices of the ``k`` largest scores, best first."""
    if k >= len(scores):
        return np.argsort(-scores, kind="stable")
    part = np.argpartition(-scores, k - 1)[:k]
    return part[np.argsort(-scores[part], kind="stable")]


def _as_keys(keys: Iterable[int] | np.ndarray) -> np.ndarray:
    return np.asarray(list(keys) if not isinstance(keys, np.ndarray) else keys, dtype=np.uint64).reshape(-1)


class VectorIndex:
    """Vectors of one channel keyed by uint64 keys; see the module docstring."""

    def __init__(self, dim: int, params: AnnParams | None = None) -> None:
        self.dim = int(dim)
        self.params = params or AnnParams()
        self._slot: dict[int, int] = {}  # exact mode: key -> row of _matrix
        self._keys = np.zeros(0, dtype=np.uint64)  # exact mode: row -> key
        self._free: list[int] = []
        self._matrix: np.ndarray | None = np.zeros((0, self.dim), dtype=np.float32)
        self._ivf: Ivf | None = None  # IVF mode
        self._view_path: Path | None = None  # set while _ivf is a memory-mapped, read-only view

    # -- state ----------------------------------------------------------------
    def __len__(self) -> int:
        return len(self._ivf) if self._ivf is not None else len(self._slot)

    @property
    def mode(self) -> str:
        return "ivf" if self._ivf is not None else "exact"

    def keys(self) -> np.ndarray:
        if self._ivf is not None:
            return self._ivf.keys().copy()
        return np.fromiter(self._slot, dtype=np.uint64, count=len(self._slot))

    def contains(self, keys: np.ndarray) -> np.ndarray:
        keys = _as_keys(keys)
        if self._ivf is not None:
            return self._ivf.contains(keys)
        return np.fromiter((int(k) in self._slot for k in keys), dtype=bool, count=len(keys))

    # -- writes ---------------------------------------------------------------
    def add(self, keys: np.ndarray, vectors: np.ndarray) -> None:
        """Insert or replace vectors (``keys`` unique within the call)."""
        keys = _as_keys(keys)
        vecs = np.ascontiguousarray(vectors, dtype=np.float32).reshape(len(keys), self.dim)
        if not len(keys):
            return
        if self._ivf is not None:
            ivf = self._writable()
            ivf.remove(keys)  # replace = remove + add
            ivf.add(keys, vecs)
            if len(ivf) >= self.params.regrow * max(ivf.trained, 1):
                self._retrain()
            return
        assert self._matrix is not None
        rows = np.empty(len(keys), dtype=np.int64)
        for i, key in enumerate(keys.tolist()):
            row = self._slot.get(key)
            if row is None:
                row = self._free.pop() if self._free else len(self._keys)
                if row == len(self._keys):
                    self._grow(row + 1)
                self._slot[key] = row
            rows[i] = row
        self._keys[rows] = keys
        self._matrix[rows] = vecs
        if len(self._slot) > self.params.threshold:
            self._to_ivf()

    def remove(self, keys: np.ndarray) -> int:
        keys = _as_keys(keys)
        if not len(keys):
            return 0
        if self._ivf is not None:
            gone = self._writable().remove(keys)
            if len(self) < self.params.threshold // 2:
                self._to_exact()
            return gone
        assert self._matrix is not None
        gone = 0
        for key in keys.tolist():
            row = self._slot.pop(key, None)
            if row is not None:
                gone += 1
                self._free.append(row)
                self._matrix[row] = 0.0
        return gone

    def _grow(self, n: int) -> None:
        assert self._matrix is not None
        cap = max(n, int(len(self._keys) * 1.5) + 64)
        matrix = np.zeros((cap, self.dim), dtype=np.float32)
        matrix[: len(self._matrix)] = self._matrix
        keys = np.zeros(cap, dtype=np.uint64)
        keys[: len(self._keys)] = self._keys
        self._free.extend(range(cap - 1, n - 1, -1))
        self._matrix, self._keys = matrix, keys

    def _build(self, keys: np.ndarray, vecs: np.ndarray) -> None:
        p = self.params
        self._ivf = Ivf.build(self.dim, keys, vecs, p.lists, p.dtype, p.threads)
        self._view_path = None

    def _to_ivf(self) -> None:
        assert self._matrix is not None
        keys = np.fromiter(self._slot, dtype=np.uint64, count=len(self._slot))
        rows = np.fromiter(self._slot.values(), dtype=np.int64, count=len(self._slot))
        self._build(keys, self._matrix[rows])
        self._matrix, self._slot, self._free, self._keys = None, {}, [], np.zeros(0, dtype=np.uint64)

    def _retrain(self) -> None:
        """New lists for the grown index (k-means on its vectors; every vector reassigned)."""
        assert self._ivf is not None
        started = time.perf_counter()
        keys, vecs = self._ivf.everything()
        self._ivf = None  # the old lists go before the new ones fill up
        self._build(keys, vecs)
        log.info("vector index retrained: %d rows in %d lists (%.1f s)", len(keys), getattr(self._ivf, "nlist", 0),
                 time.perf_counter() - started)

    def _to_exact(self) -> None:
        assert self._ivf is not None
        keys, vecs = self._ivf.everything()
        self._ivf, self._view_path = None, None
        self._matrix, self._keys, self._slot, self._free = np.zeros((0, self.dim), np.float32), keys[:0], {}, []
        self.add(keys, vecs.astype(np.float32))

    def _writable(self) -> Ivf:
        """A memory-mapped view becomes an in-memory index before its first write."""
        assert self._ivf is not None
        if self._view_path is not None:
            self._ivf = Ivf.load(self._view_path, self._ivf.trained, view=False, threads=self.params.threads)
            self._view_path = None
        return self._ivf

    def warm(self) -> int:
        """Fault in a memory-mapped index's pages ahead of the searches (``mapped.populate``): the bytes
        brought in; 0 for an in-memory or exact index, or where the platform cannot."""
        path = self._view_path
        return populate(path) if path is not None else 0

    # -- reads ----------------------------------------------------------------
    def query(self, vector: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Top-``k`` keys and cosine scores, best first."""
        k = min(int(k), len(self))
        if k <= 0:
            return np.zeros(0, dtype=np.uint64), np.zeros(0, dtype=np.float32)
        q = np.ascontiguousarray(vector, dtype=np.float32).reshape(self.dim)
        if self._ivf is None:
            scores = self._exact_scores(q)
            order = _top(scores, k)
            return self._keys[order], scores[order]
        nlist = self._ivf.nlist
        nprobe = max(self.params.nprobe, -(-self.params.min_scan * nlist // max(len(self), 1)))
        while True:  # the nearest lists can hold fewer than k rows: read more of them
            keys, scores = self._ivf.search(q, k, nprobe)
            if len(keys) >= k or nprobe >= nlist:
                return keys, scores
            nprobe *= 4

    def query_filtered(
        self, vector: np.ndarray, k: int, keep: Callable[[np.ndarray], np.ndarray], max_candidates: int
    ) -> tuple[np.ndarray, np.ndarray, bool]:
        """Top-``k`` keys passing ``keep`` (a mask over candidate keys); third value: complete.

        Exact mode scans everything (always complete). IVF mode oversamples
        (4x, 16x ... up to ``max_candidates``) and reports incomplete when
        fewer than ``k`` survive, so the caller can fall back to an exact
        filtered search.
        """
        live = len(self)
        q = np.ascontiguousarray(vector, dtype=np.float32).reshape(self.dim)
        depth = live if self._ivf is None else min(live, max(4 * k, 64))
        while True:
            keys, scores = self.query(q, depth)
            ok = keep(keys) if len(keys) else np.zeros(0, dtype=bool)
            keys, scores = keys[ok][:k], scores[ok][:k]
            if len(keys) == k or depth >= live:
                return keys, scores, True
            if depth >= max_candidates:
                return keys, scores, False
            depth = min(live, depth * 4, max(max_candidates, 1))

    def _exact_scores(self, q: np.ndarray) -> np.ndarray:
        assert self._matrix is not None
        scores = self._matrix[: len(self._keys)] @ q
        if self._free:
            free = np.asarray(self._free, dtype=np.int64)
            scores[free[free < len(scores)]] = -np.inf
        return scores

    def vectors(self, keys: np.ndarray) -> np.ndarray:
        keys = _as_keys(keys)
        if not len(keys):
            return np.zeros((0, self.dim), dtype=np.float32)
        if self._ivf is not None:
            return self._ivf.vectors(keys)
        assert self._matrix is not None
        return self._matrix[[self._slot[int(k)] for k in keys]].copy()

    def sample(self, n: int, seed: int = 0) -> np.ndarray:
        """Up to ``n`` vectors: while the index holds at most ``CONTENT_ROWS``, those with the smallest
        content keys (``sampling.smallest``), so the sample does not depend on the rows' keys, which come
        from their ids, which come from the files' paths; above, a seeded choice of keys (reading every
        vector at each refresh would cost too much)."""
        if len(self) > sampling.CONTENT_ROWS:
            keys = np.sort(self.keys())
            n = max(0, min(int(n), len(keys)))
            return self.vectors(keys[np.sort(np.random.default_rng(seed).choice(len(keys), size=n, replace=False))])
        return sampling.smallest(self._live(), n, seed)

    def _live(self) -> np.ndarray:
        """Every stored vector, in no particular order (as stored: float16 in IVF lists)."""
        if self._ivf is not None:
            return self._ivf.everything()[1]
        assert self._matrix is not None
        live = np.ones(len(self._keys), dtype=bool)
        live[[r for r in self._free if r < len(live)]] = False
        return self._matrix[: len(self._keys)][live]

    # -- persistence ------------------------------------------------------------
    def save(self, folder: Path, name: str) -> None:
        """Write ``name.faiss`` or ``name.npy`` + ``name.keys.npy``, then ``name.json`` (atomic per file)."""
        folder.mkdir(parents=True, exist_ok=True)
        state = {"format": FORMAT, "dim": self.dim, "mode": self.mode, "size": len(self)}
        if self._ivf is not None:
            self._ivf.save(folder / f"{name}.faiss")
            state["trained"] = self._ivf.trained
        else:
            keys = self.keys()
            for suffix, value in (("npy", self.vectors(keys)), ("keys.npy", keys)):
                tmp = folder / f"{name}.{suffix}.tmp"
                with open(tmp, "wb") as fh:
                    np.save(fh, value)
                os.replace(tmp, folder / f"{name}.{suffix}")
        write_json_atomic(folder / f"{name}.json", state)

    @classmethod
    def load(cls, folder: Path, name: str, dim: int, params: AnnParams) -> VectorIndex:
        """Load a saved index (IVF memory-mapped); ``StoreError`` if missing or inconsistent."""
        try:
            state = json.loads((folder / f"{name}.json").read_text(encoding="utf-8"))
            if state.get("format") != FORMAT or int(state["dim"]) != dim:
                raise StoreError(f"index sidecar {name} has another format or dim")
            index = cls(dim, params)
            if state["mode"] == "ivf":
                path = folder / f"{name}.faiss"
                ivf = Ivf.load(path, int(state["trained"]), view=True)
                if ivf.index.d != dim or len(ivf) != int(state["size"]):
                    raise StoreError(f"index sidecar {name} does not match its description")
                index._ivf, index._matrix, index._view_path = ivf, None, path
            else:
                vecs = np.load(folder / f"{name}.npy")
                keys = np.load(folder / f"{name}.keys.npy")
                if vecs.shape != (len(keys), dim) or len(keys) != int(state["size"]):
                    raise StoreError(f"index sidecar {name} has shape {vecs.shape}")
                index.add(keys, vecs)
            return index
        except StoreError:
            raise
        except (OSError, ValueError, KeyError, TypeError, RuntimeError) as exc:
            raise StoreError(f"index sidecar {name} is unreadable ({exc}); it will be rebuilt") from None


def warm_indexes(indexes: Iterable[VectorIndex], label: str, background: bool = True) -> int:
    """``VectorIndex.warm`` each index: in a daemon thread (returns 0 at once; searches go on meanwhile, as
    the populate call releases the GIL) or in this one (returns the bytes brought in)."""
    todo = list(indexes)

    def run() -> int:
        started = time.perf_counter()
        done = sum(index.warm() for index in todo)
        if done:
            log.info("read %d MB of vector lists of %s into memory in %.1fs", done >> 20, label, time.perf_counter() - started)
        return done

    if not background:
        return run()
    threading.Thread(target=run, name="mmrag-ann-warm", daemon=True).start()
    return 0


def write_json_atomic(path: Path, value: object) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(value, fh)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


__all__ = ["AnnParams", "VectorIndex", "key_of", "keys_of", "warm_indexes", "write_json_atomic"]

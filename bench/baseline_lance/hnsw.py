"""In-process vector index of one channel: exact numpy scan while small, HNSW above.

``VectorIndex`` maps string ids to integer labels (slots). Below ``threshold``
live vectors it keeps a float32 matrix and scans it exactly (a BLAS
mat-vec: ~1 ms for 20k x 512). Above, it moves the vectors into an hnswlib
HNSW graph in inner-product space; hnswlib returns exact inner products for
the neighbours it finds, so scores stay exact cosines for unit vectors; only
*which* neighbours are found is approximate (recall is measured in
``bench/bench_search.py``).

Deletes mark the slot deleted (``mark_deleted``) and free its label; a later
add re-uses freed labels (hnswlib un-marks and updates the element in place),
so the graph does not grow with churn. ``save``/``load`` persist the index
next to the LanceDB table; the caller decides whether a saved index is still
current (``stores/lance.py`` compares table versions).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from mmrag.errors import StoreError

FORMAT = 1


@dataclass(frozen=True)
class HnswParams:
    threshold: int = 20_000  # live vectors above which HNSW replaces the exact scan
    m: int = 32
    ef_construction: int = 200
    ef_search: int = 128
    threads: int = -1  # hnswlib threads for building (-1: all cores)


def _top(scores: np.ndarray, k: int) -> np.ndarray:
    """Indices of the ``k`` largest scores, best first."""
    if k >= len(scores):
        return np.argsort(-scores, kind="stable")
    part = np.argpartition(-scores, k - 1)[:k]
    return part[np.argsort(-scores[part], kind="stable")]


class VectorIndex:
    """Vectors of one channel keyed by row id; see the module docstring."""

    def __init__(self, dim: int, params: HnswParams | None = None) -> None:
        self.dim = int(dim)
        self.params = params or HnswParams()
        self._label: dict[str, int] = {}
        self._ids: list[str | None] = []  # label -> id (None: free slot)
        self._free: list[int] = []
        self._matrix: np.ndarray | None = np.zeros((0, self.dim), dtype=np.float32)
        self._hnsw: Any = None  # hnswlib.Index when in HNSW mode

    # -- state --------------------------------------------------------------
    def __len__(self) -> int:
        return len(self._label)

    def __contains__(self, row_id: object) -> bool:
        return row_id in self._label

    @property
    def mode(self) -> str:
        return "hnsw" if self._hnsw is not None else "exact"

    def ids(self) -> list[str]:
        return list(self._label)

    # -- writes -------------------------------------------------------------
    def add(self, ids: Sequence[str], vectors: np.ndarray) -> None:
        """Insert or replace vectors (``ids`` must be unique within the call)."""
        vecs = np.ascontiguousarray(vectors, dtype=np.float32).reshape(len(ids), self.dim)
        if not len(ids):
            return
        labels = np.empty(len(ids), dtype=np.int64)
        for i, row_id in enumerate(ids):
            label = self._label.get(row_id)
            if label is None:
                label = self._free.pop() if self._free else len(self._ids)
                if label == len(self._ids):
                    self._ids.append(None)
                self._ids[label] = row_id
                self._label[row_id] = label
            labels[i] = label
        if self._hnsw is not None:
            self._hnsw_reserve(len(self._ids))
            self._hnsw.add_items(vecs, labels, num_threads=self.params.threads)
        else:
            self._matrix_reserve(len(self._ids))
            assert self._matrix is not None
            self._matrix[labels] = vecs
            if len(self._label) > self.params.threshold:
                self._to_hnsw()

    def remove(self, ids: Sequence[str]) -> int:
        gone = 0
        for row_id in ids:
            label = self._label.pop(row_id, None)
            if label is None:
                continue
            gone += 1
            self._ids[label] = None
            self._free.append(label)
            if self._hnsw is not None:
                self._hnsw.mark_deleted(label)
            else:
                assert self._matrix is not None
                self._matrix[label] = 0.0
        if self._hnsw is not None and len(self._label) < self.params.threshold // 2:
            self._to_exact()
        return gone

    def _matrix_reserve(self, n: int) -> None:
        assert self._matrix is not None
        if n > len(self._matrix):
            grown = np.zeros((max(n, int(len(self._matrix) * 1.5) + 64), self.dim), dtype=np.float32)
            grown[: len(self._matrix)] = self._matrix
            self._matrix = grown

    def _hnsw_reserve(self, n: int) -> None:
        if n > self._hnsw.get_max_elements():
            self._hnsw.resize_index(max(n, int(self._hnsw.get_max_elements() * 1.5) + 64))

    def _new_hnsw(self, capacity: int):
        import hnswlib

        index = hnswlib.Index(space="ip", dim=self.dim)
        index.init_index(
            max_elements=max(capacity, 16), M=self.params.m, ef_construction=self.params.ef_construction
        )
        index.set_ef(self.params.ef_search)
        return index

    def _to_hnsw(self) -> None:
        assert self._matrix is not None
        labels = np.fromiter(self._label.values(), dtype=np.int64, count=len(self._label))
        index = self._new_hnsw(int(len(self._ids) * 1.25) + 64)
        index.add_items(self._matrix[labels], labels, num_threads=self.params.threads)
        self._hnsw, self._matrix = index, None

    def _to_exact(self) -> None:
        labels = np.fromiter(self._label.values(), dtype=np.int64, count=len(self._label))
        matrix = np.zeros((len(self._ids) + 64, self.dim), dtype=np.float32)
        if len(labels):
            matrix[labels] = self._hnsw.get_items(labels, return_type="numpy")
        self._matrix, self._hnsw = matrix, None

    # -- reads --------------------------------------------------------------
    def query(self, vector: np.ndarray, k: int) -> tuple[list[str], np.ndarray]:
        """Top-``k`` ids and cosine scores, best first."""
        k = min(int(k), len(self._label))
        if k <= 0:
            return [], np.zeros(0, dtype=np.float32)
        q = np.ascontiguousarray(vector, dtype=np.float32).reshape(self.dim)
        if self._hnsw is None:
            scores = self._exact_scores(q)
            order = _top(scores, k)
            return [self._ids[i] for i in order], scores[order]  # type: ignore[misc]
        labels, dist = self._knn(q, k)
        return [self._ids[int(i)] for i in labels], (1.0 - dist).astype(np.float32)  # type: ignore[misc]

    def query_filtered(
        self, vector: np.ndarray, k: int, keep: Callable[[str], bool], max_candidates: int
    ) -> tuple[list[str], np.ndarray, bool]:
        """Top-``k`` ids passing ``keep``; third value ``True`` when the result is complete.

        Exact mode scans everything, so it is always complete. HNSW mode
        oversamples (4x, 16x ... up to ``max_candidates``) and reports
        incomplete when fewer than ``k`` survive, so the caller can fall back
        to an exact filtered search.
        """
        live = len(self._label)
        q = np.ascontiguousarray(vector, dtype=np.float32).reshape(self.dim)
        if self._hnsw is None:
            scores = self._exact_scores(q)
            order = np.argsort(-scores, kind="stable")[:live]
            ids: list[str] = []
            kept: list[float] = []
            for i in order:
                row_id = self._ids[int(i)]
                if row_id is not None and keep(row_id):
                    ids.append(row_id)
                    kept.append(float(scores[i]))
                    if len(ids) == k:
                        break
            return ids, np.asarray(kept, dtype=np.float32), True
        depth = min(live, max(4 * k, 64))
        while True:
            labels, dist = self._knn(q, depth)
            ids, kept = [], []
            for label, d in zip(labels, dist):
                row_id = self._ids[int(label)]
                if row_id is not None and keep(row_id):
                    ids.append(row_id)
                    kept.append(1.0 - float(d))
                    if len(ids) == k:
                        return ids, np.asarray(kept, dtype=np.float32), True
            if depth >= live:
                return ids, np.asarray(kept, dtype=np.float32), True
            if depth >= max_candidates:
                return ids, np.asarray(kept, dtype=np.float32), False
            depth = min(live, depth * 4, max(max_candidates, 1))

    def _exact_scores(self, q: np.ndarray) -> np.ndarray:
        assert self._matrix is not None
        n = len(self._ids)
        scores = self._matrix[:n] @ q
        if self._free:
            scores[np.asarray(self._free, dtype=np.int64)] = -np.inf
        return scores

    def _knn(self, q: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        ef = max(self.params.ef_search, k)
        for attempt in range(3):
            self._hnsw.set_ef(ef)
            try:
                labels, dist = self._hnsw.knn_query(q, k=k, num_threads=1)
                return labels[0], dist[0]
            except RuntimeError:  # too few reachable live nodes for k: widen the search
                ef *= 4
        # last resort: exact scores over the stored vectors (slow but correct)
        labels = np.fromiter(self._label.values(), dtype=np.int64, count=len(self._label))
        scores = self._hnsw.get_items(labels, return_type="numpy") @ q
        order = _top(scores, k)
        return labels[order], 1.0 - scores[order]

    def vectors(self, ids: Sequence[str]) -> np.ndarray:
        labels = np.asarray([self._label[i] for i in ids], dtype=np.int64)
        if not len(labels):
            return np.zeros((0, self.dim), dtype=np.float32)
        if self._hnsw is not None:
            return np.asarray(self._hnsw.get_items(labels, return_type="numpy"), dtype=np.float32)
        assert self._matrix is not None
        return self._matrix[labels].copy()

    def sample(self, n: int, seed: int = 0) -> np.ndarray:
        ids = self.ids()
        if n < len(ids):
            pick = np.random.default_rng(seed).choice(len(ids), size=n, replace=False)
            ids = [ids[i] for i in sorted(pick)]
        return self.vectors(ids)

    # -- persistence ----------------------------------------------------------
    def save(self, folder: Path, name: str) -> None:
        """Write ``name.ids.json`` and ``name.hnsw`` or ``name.npy`` (atomic per file)."""
        folder.mkdir(parents=True, exist_ok=True)
        data_path = folder / f"{name}.{'hnsw' if self._hnsw is not None else 'npy'}"
        tmp = data_path.with_name(data_path.name + ".tmp")
        if self._hnsw is not None:
            self._hnsw.save_index(str(tmp))
        else:
            assert self._matrix is not None
            with open(tmp, "wb") as fh:
                np.save(fh, self._matrix[: len(self._ids)])
        os.replace(tmp, data_path)
        state = {"format": FORMAT, "dim": self.dim, "mode": self.mode, "ids": self._ids}
        write_json_atomic(folder / f"{name}.ids.json", state)

    @classmethod
    def load(cls, folder: Path, name: str, dim: int, params: HnswParams) -> VectorIndex:
        """Load a saved index; ``StoreError`` if missing or inconsistent (then rebuild)."""
        try:
            state = json.loads((folder / f"{name}.ids.json").read_text(encoding="utf-8"))
            if state.get("format") != FORMAT or int(state["dim"]) != dim:
                raise StoreError(f"index sidecar {name} has another format or dim")
            index = cls(dim, params)
            ids: list[str | None] = list(state["ids"])
            index._ids = ids
            index._label = {row_id: i for i, row_id in enumerate(ids) if row_id is not None}
            index._free = [i for i, row_id in enumerate(ids) if row_id is None]
            if state["mode"] == "hnsw":
                import hnswlib

                hnsw = hnswlib.Index(space="ip", dim=dim)
                hnsw.load_index(str(folder / f"{name}.hnsw"), max_elements=max(len(ids), 16))
                hnsw.set_ef(params.ef_search)
                if not set(index._label.values()) <= set(hnsw.get_ids_list()):
                    raise StoreError(f"index sidecar {name} lacks vectors of its id list")
                index._hnsw, index._matrix = hnsw, None
            else:
                matrix = np.load(folder / f"{name}.npy")
                if matrix.shape != (len(ids), dim):
                    raise StoreError(f"index sidecar {name} has shape {matrix.shape}")
                index._matrix = np.ascontiguousarray(matrix, dtype=np.float32)
            return index
        except StoreError:
            raise
        except (OSError, ValueError, KeyError, TypeError, RuntimeError) as exc:
            raise StoreError(f"index sidecar {name} is unreadable ({exc}); it will be rebuilt") from None


def write_json_atomic(path: Path, value: object) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(value, fh)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


__all__ = ["HnswParams", "VectorIndex", "write_json_atomic"]

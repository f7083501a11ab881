"""The modality gap of an index: how far apart its channels' vectors sit.

For every pair of channels (``text``-``image``, ``text``-``audio``, ...) it
measures, over segments that have a vector in both channels (a picture's
pixels and its words; a video shot's keyframe and transcript):

- ``matched``: mean cosine between a segment's two vectors;
- ``random``: mean cosine between one segment's vector in channel a and
  another segment's in channel b;
- ``gap`` = matched - random: how much a right cross-modal match stands out;
- ``centroid_distance``: distance between the two channels' mean vectors
  (Liang et al. 2022's "modality gap": the cones the towers write into);

and per channel the mean cosine of two random vectors (``within``): how
crowded its cone is. High ``within`` with a small ``gap`` is why raw cosines
must not be compared across channels (``docs/modality-gap.md``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from mmrag.stores.base import quote
from mmrag.types import Channel


@dataclass(frozen=True)
class PairGap:
    a: str
    b: str
    n: int
    matched: float
    random: float
    centroid_distance: float

    @property
    def gap(self) -> float:
        return self.matched - self.random

    def to_dict(self) -> dict[str, Any]:
        return {"a": self.a, "b": self.b, "n": self.n, "matched": round(self.matched, 4), "random": round(self.random, 4),
                "gap": round(self.gap, 4), "centroid_distance": round(self.centroid_distance, 4)}


def pair_gap(a: np.ndarray, b: np.ndarray, name_a: str = "a", name_b: str = "b", seed: int = 0) -> PairGap:
    """``a[i]`` and ``b[i]`` are one segment's two vectors (unit length) (pure)."""
    n = a.shape[0]
    matched = float(np.mean(np.sum(a * b, axis=1))) if n else 0.0
    if n > 1:
        perm = np.random.default_rng(seed).permutation(n)
        perm = np.where(perm == np.arange(n), (perm + 1) % n, perm)  # never a segment with itself
        rand = float(np.mean(np.sum(a * b[perm], axis=1)))
    else:
        rand = 0.0
    centroid = float(np.linalg.norm(a.mean(axis=0) - b.mean(axis=0))) if n else 0.0
    return PairGap(name_a, name_b, n, matched, rand, centroid)


def within(x: np.ndarray) -> float:
    """Mean cosine between distinct rows (pure)."""
    n = x.shape[0]
    if n < 2:
        return 0.0
    s = x @ x.T
    return float((s.sum() - np.trace(s)) / (n * (n - 1)))


def modality_gap(store: Any, channels: Sequence[str], *, sample: int = 2000, seed: int = 0) -> dict[str, Any]:
    """Gap figures of an index (see module doc); needs a store with ``vectors`` (LanceDB, Milvus)."""
    fetch = getattr(store, "vectors", None)
    dim = store.dim
    probe = np.random.default_rng(seed).standard_normal(dim).astype(np.float32)
    probe /= np.linalg.norm(probe)
    ids: dict[str, set[str]] = {}
    for ch in channels:  # a search with a random vector is the portable way to list some rows of a channel
        found = store.search(probe, sample, f"channel = {quote(ch)}")
        ids[ch] = {s.row.segment_id for s in found}
    out: dict[str, Any] = {"within": {}, "pairs": []}
    for ch in channels:
        out["within"][ch] = round(within(np.asarray(store.sample_vectors(ch, 500, seed=seed), dtype=np.float32)), 4)
    if not callable(fetch):
        return out
    shared = [c for c in channels if c != Channel.VISUAL.value]  # a backbone's own features are another space: no gap to it
    for i, a in enumerate(shared):
        for b in shared[i + 1 :]:
            both = sorted(ids[a] & ids[b])
            if len(both) < 2:
                continue
            va, vb = fetch([f"{s}:{a}" for s in both]), fetch([f"{s}:{b}" for s in both])
            keep = [s for s in both if f"{s}:{a}" in va and f"{s}:{b}" in vb]
            if len(keep) < 2:
                continue
            xa = np.vstack([va[f"{s}:{a}"] for s in keep])
            xb = np.vstack([vb[f"{s}:{b}"] for s in keep])
            out["pairs"].append(pair_gap(xa, xb, a, b, seed).to_dict())
    return out


__all__ = ["PairGap", "modality_gap", "pair_gap", "within"]

"""Near-duplicate folding and a per-source cap (pure functions over a ranked list).

A result page full of one thing is useless: consecutive shots of one scene,
the same picture at two sizes, overlapping chunks of one text. ``fold`` walks
the fused list best first and keeps a hit only if it is not a near-duplicate
of a hit already kept; a folded hit is listed in its keeper's
``duplicates``. Two hits are near-duplicates when

- they come from the same source and their spans overlap (text chunks that
  share characters, time ranges that share seconds), or
- their stored *image* vectors are nearly identical: cosine >= ``threshold``
  (what a shot or a photo looks like). Sounds and texts are not folded by
  vector: different recordings of one instrument, or two notes on one topic,
  sit that close too and are distinct results; or
- one is a picture and the other its caption file (``X.jpg`` and the
  ``X.txt`` whose words it carries, ``ingest/captions.py``): the picture is
  the one kept, even when its caption ranked first, so a captioned folder
  does not show every caption twice.

``per_source`` then keeps at most N hits per file (0: no cap). The
alternative, MMR (``mmr``), trades relevance against similarity to hits
already picked; ``bench/bench_diversity.py`` compares both.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from mmrag.types import Span

# cosine at which two stored vectors count as the same content: measured by bench/bench_diversity.py
# (one picture resized or recompressed: >= 0.97 with the offline towers; two different photos of
# the fixtures: <= 0.90). Set with search.duplicate_threshold.
DEFAULT_THRESHOLD = 0.95
CHANNEL_ORDER = ("image",)  # channels whose vectors decide near-duplicates


@dataclass(frozen=True)
class Item:
    """What folding needs to know of one ranked hit."""

    key: str
    source: str
    span: Span
    vectors: Mapping[str, np.ndarray]  # channel -> unit vector (may be empty)
    caption: str = ""  # a picture's caption file (its source path), if its words came from one


def spans_overlap(a: Span, b: Span) -> bool:
    """Same page (or no page) and overlapping time or character ranges (pure)."""
    if a.page is not None and b.page is not None and a.page != b.page:
        return False
    if a.t0 is not None and b.t0 is not None:
        a1 = a.t1 if a.t1 is not None else a.t0
        b1 = b.t1 if b.t1 is not None else b.t0
        return a.t0 < b1 and b.t0 < a1 or a.t0 == b.t0
    if a.start is not None and b.start is not None and a.end is not None and b.end is not None:
        return a.start < b.end and b.start < a.end
    return False


def similarity(a: Item, b: Item) -> float | None:
    """Cosine of the two image vectors; None unless both have one."""
    for ch in CHANNEL_ORDER:
        va, vb = a.vectors.get(ch), b.vectors.get(ch)
        if va is not None and vb is not None and va.size and va.size == vb.size:
            return float(np.dot(va, vb))
    return None


def captions(a: Item, b: Item) -> bool:
    """Whether ``b`` is the caption file of picture ``a``."""
    return bool(a.caption) and a.caption == b.source


def is_duplicate(a: Item, b: Item, threshold: float) -> bool:
    if a.source == b.source and spans_overlap(a.span, b.span):
        return True
    if captions(a, b) or captions(b, a):
        return True
    sim = similarity(a, b)
    return sim is not None and sim >= threshold


def fold(items: Sequence[Item], k: int, *, threshold: float = DEFAULT_THRESHOLD, per_source: int = 0) -> list[tuple[int, list[int]]]:
    """Indices of the kept items (best first, at most ``k``) with the indices folded under each."""
    kept: list[tuple[int, list[int]]] = []
    per: dict[str, int] = {}
    for i, item in enumerate(items):
        owner = next((n for n, (j, _) in enumerate(kept) if is_duplicate(items[j], item, threshold)), None)
        if owner is not None:
            keeper, folded = kept[owner]
            if captions(item, items[keeper]):  # the picture takes its caption file's place (and its count)
                kept[owner] = (i, [keeper, *folded])
                per[items[keeper].source] -= 1
                per[item.source] = per.get(item.source, 0) + 1
            else:
                folded.append(i)
            continue
        if per_source and per.get(item.source, 0) >= per_source:
            continue
        if len(kept) < k:
            kept.append((i, []))
            per[item.source] = per.get(item.source, 0) + 1
    return kept


def mmr(items: Sequence[Item], scores: Sequence[float], k: int, *, lam: float = 0.7) -> list[int]:
    """Maximal marginal relevance: pick ``argmax lam*score - (1-lam)*max_sim(picked)``; scores are
    min-max scaled to [0, 1] first so they and cosines share a scale."""
    s = np.asarray(scores, dtype=np.float64)
    if s.size == 0:
        return []
    s = (s - s.min()) / (np.ptp(s) or 1.0)
    picked: list[int] = []
    left = list(range(len(items)))
    while left and len(picked) < k:
        best, best_val = left[0], -np.inf
        for i in left:
            sims = [similarity(items[i], items[j]) for j in picked]
            penalty = max((x for x in sims if x is not None), default=0.0)
            val = lam * s[i] - (1 - lam) * penalty
            if val > best_val:
                best, best_val = i, val
        picked.append(best)
        left.remove(best)
    return picked


__all__ = ["DEFAULT_THRESHOLD", "Item", "captions", "fold", "is_duplicate", "mmr", "similarity", "spans_overlap"]

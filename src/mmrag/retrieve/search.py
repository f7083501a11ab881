"""Cross-modal search: one list per (query vector, target channel), calibrated, fused.

The engine turns a query (text, image or audio) into one or more vectors in
the shared space (``Query.vectors``: query channel -> vector) and, for text
queries, keeps the text for the lexical list. ``search`` then:

1. for every query vector and every channel the index has, asks the store for
   the top ``candidates`` rows of that channel (``channel = 'image' AND
   <modality filter> AND (<user filter>)``);
2. calibrates each list against the query's background in that channel
   (``fusion.background``), or ranks it for RRF;
3. adds the BM25 list when the query has text and ``hybrid`` is on;
4. fuses per segment and returns the top ``k`` ``Hit``s.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from mmrag.config import SearchConfig
from mmrag.retrieve.fusion import Background, Candidate, background, calibrate, fuse_calibrated, fuse_rrf
from mmrag.stores.base import Row, ScoredRow, VectorStore, quote
from mmrag.types import Hit


@dataclass(frozen=True)
class Query:
    """A query after embedding. ``vectors``: query channel -> unit vector."""

    vectors: Mapping[str, np.ndarray]
    text: str | None = None
    modality: str = "text"
    notes: tuple[str, ...] = ()  # e.g. "image query embedded through its OCR text"
    # query channel -> the only index channels it is searched in (absent: all of them)
    targets: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


@dataclass
class BackgroundSamples:
    """Per-channel background vectors, refreshed when the store changes."""

    size: int = 512
    _cache: dict[str, tuple[int, np.ndarray]] = field(default_factory=dict)

    def get(self, store: VectorStore, channel: str) -> np.ndarray:
        version = store.count(f"channel = {quote(channel)}")
        cached = self._cache.get(channel)
        if cached is None or cached[0] != version:
            sample = store.sample_vectors(channel, self.size, seed=0)
            self._cache[channel] = (version, np.asarray(sample, dtype=np.float32))
        return self._cache[channel][1]

    def invalidate(self) -> None:
        self._cache.clear()


def build_where(channel: str | None, modalities: Sequence[str] | None, where: str | None) -> str | None:
    """AND together the channel, the modality restriction and the user's filter."""
    parts: list[str] = []
    if channel is not None:
        parts.append(f"channel = {quote(channel)}")
    if modalities:
        parts.append("modality IN (" + ", ".join(quote(m) for m in modalities) + ")")
    if where and where.strip():
        parts.append(f"({where})")
    return " AND ".join(parts) if parts else None


def search(
    store: VectorStore,
    query: Query,
    *,
    channels: Sequence[str],
    k: int,
    config: SearchConfig,
    modalities: Sequence[str] | None = None,
    where: str | None = None,
    samples: BackgroundSamples | None = None,
    channel_weights: Mapping[str, float] | None = None,
) -> list[Hit]:
    """Run the per-channel searches, fuse them, return the top ``k`` hits.

    ``channel_weights`` scales a channel's calibrated scores (default 1.0) in
    cross-modal lists: a space declares a weaker tower (mmrag's small starter
    image tower) so that its best-of-N noise cannot outrank a real match in
    another channel. A query vector searched in its own channel (image->image)
    keeps weight 1.0: same-tower similarity is what finds a product's picture.
    """
    if k <= 0:
        return []
    depth = max(config.candidates, k)
    samples = samples or BackgroundSamples(size=config.calibration_sample)
    rows: dict[str, Row] = {}
    dense: dict[str, list[Candidate]] = {}

    for q_channel, vector in query.vectors.items():
        allowed = query.targets.get(q_channel)
        for channel in channels:
            if allowed is not None and channel not in allowed:
                continue
            found: list[ScoredRow] = store.search(vector, depth, build_where(channel, modalities, where))
            if not found:
                continue
            bg: Background = background(vector, samples.get(store, channel))
            # a weak tower's weight scales its cross-modal lists (text->image); the same tower on both
            # sides (image->image: near-duplicate pictures, a catalogue's product shots) is not down-weighted
            weight = 1.0 if q_channel == channel else (channel_weights or {}).get(channel, 1.0)
            z = calibrate([s.score for s in found], bg) * weight
            name = f"{q_channel}->{channel}"
            dense[name] = [Candidate(s.row.segment_id, s.score, float(zi)) for s, zi in zip(found, z)]
            for s in found:
                rows.setdefault(s.row.segment_id, s.row)

    lexical: list[Candidate] = []
    if config.hybrid and query.text and query.text.strip():
        found = store.text_search(query.text, depth, build_where(None, modalities, where))
        seen: set[str] = set()
        for s in found:
            if s.row.segment_id in seen:
                continue
            seen.add(s.row.segment_id)
            lexical.append(Candidate(s.row.segment_id, s.score, s.score))
            rows.setdefault(s.row.segment_id, s.row)

    if config.fusion == "rrf":
        lists: dict[str, Sequence[Candidate]] = dict(dense)
        if lexical:
            lists["lexical"] = lexical
        fused = fuse_rrf(lists, rrf_k=config.rrf_k)
    else:
        fused = fuse_calibrated(_per_channel_best(dense), lexical)

    hits: list[Hit] = []
    for key, score, raw in fused[:k]:
        hits.append(rows[key].to_hit(score, raw))
    return hits


def _per_channel_best(dense: Mapping[str, Sequence[Candidate]]) -> dict[str, list[Candidate]]:
    """Key lists by target channel name for display (``text->image`` -> ``image``),
    keeping, per segment, the best calibrated score among query vectors."""
    out: dict[str, dict[str, Candidate]] = {}
    for name, cands in dense.items():
        channel = name.split("->", 1)[1]
        bucket = out.setdefault(channel, {})
        for c in cands:
            if c.key not in bucket or c.calibrated > bucket[c.key].calibrated:
                bucket[c.key] = c
    return {ch: list(b.values()) for ch, b in out.items()}


__all__ = ["BackgroundSamples", "Query", "build_where", "search"]

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
4. scores the candidate speech transcripts by how much of the query text can
   be *heard* in them (``retrieve.heard``: normalised words, Metaphone keys,
   the recogniser's alternative words), so a misheard word ("to Ken" for
   "toucan") still finds its recording (``heard_weight``, 0 = off);
5. fuses per segment and returns the top ``k`` ``Hit``s.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from mmrag.config import SearchConfig
from mmrag.retrieve.fusion import Background, Candidate, background, calibrate, fuse_calibrated, fuse_rrf
from mmrag.retrieve.heard import POWER, heard_score
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

    ``channel_weights`` scales a channel's calibrated scores (default 1.0): a
    space declares a weaker tower (mmrag's small starter image tower) so that
    its best-of-N noise cannot outrank a real match in another channel.
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
            z = calibrate([s.score for s in found], bg) * (channel_weights or {}).get(channel, 1.0)
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

    heard: list[Candidate] = []
    if config.heard_weight > 0 and query.text and query.text.strip():
        heard = heard_candidates(query.text, rows.values())

    if config.fusion == "rrf":
        lists: dict[str, Sequence[Candidate]] = dict(dense)
        if lexical:
            lists["lexical"] = lexical
        if heard:
            lists["heard"] = sorted(heard, key=lambda c: -c.raw)
        fused = fuse_rrf(lists, rrf_k=config.rrf_k)
    else:
        fused = fuse_calibrated(
            _per_channel_best(dense), lexical, heard=heard, heard_weight=config.heard_weight
        )

    hits: list[Hit] = []
    for key, score, raw in fused[:k]:
        hits.append(rows[key].to_hit(score, raw))
    return hits


def heard_candidates(text: str, rows: Iterable[Row]) -> list[Candidate]:
    """Sound-alike scores of the speech transcripts among ``rows`` (``meta kind = speech``).

    The recogniser's alternative hypotheses (``meta['heard_also']``, kept at
    ingest, separated by `` / ``) count as heard too. A segment with several rows is scored once.
    """
    out: list[Candidate] = []
    seen: set[str] = set()
    for row in rows:
        if row.segment_id in seen or not row.text or '"speech"' not in row.meta:
            continue
        seen.add(row.segment_id)
        meta = row.meta_dict()
        if meta.get("kind") != "speech":
            continue
        alts = meta["heard_also"].split(" / ") if meta.get("heard_also") else []
        score = heard_score(text, row.text, alts)
        if score > 0:
            out.append(Candidate(row.segment_id, score, score**POWER))
    return out


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


__all__ = ["BackgroundSamples", "Query", "build_where", "heard_candidates", "search"]

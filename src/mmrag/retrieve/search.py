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
4. fuses per segment (plus a feedback prior per segment, when given);
5. folds near-duplicates under the best of them and caps hits per source
   (``retrieve/diversity.py``);
6. attaches ``relevance`` (``retrieve/relevance.py``) and the list that found
   each hit, and drops hits below ``min_relevance``; returns the top ``k``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from mmrag.config import SearchConfig
from mmrag.retrieve.diversity import Item, fold
from mmrag.retrieve.fusion import Background, Candidate, background, calibrate, fuse_calibrated, fuse_rrf
from mmrag.retrieve.relevance import RelevanceModel, hit_features
from mmrag.stores.base import Row, ScoredRow, VectorStore, quote
from mmrag.types import Hit, Span


@dataclass(frozen=True)
class Query:
    """A query after embedding. ``vectors``: query channel -> unit vector."""

    vectors: Mapping[str, np.ndarray]
    text: str | None = None
    modality: str = "text"
    notes: tuple[str, ...] = ()  # e.g. "image query embedded through its OCR text"
    # query channel -> the only index channels it is searched in (absent: all of them)
    targets: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    negatives: tuple[str, ...] = ()  # words whose hits are dropped ("-stripes")


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
    relevance: RelevanceModel | None = None,
    min_relevance: float = 0.0,
    prior: Mapping[str, float] | None = None,
) -> list[Hit]:
    """Run the per-channel searches, fuse them, return the top ``k`` hits.

    ``channel_weights`` scales a channel's calibrated scores (default 1.0): a
    space declares a weaker tower (mmrag's small starter image tower) so that
    its best-of-N noise cannot outrank a real match in another channel.
    ``prior`` adds a per-segment bonus (recorded feedback) before ranking.
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

    calibrated = fuse_calibrated(_per_channel_best(dense), lexical)
    if config.fusion == "rrf":
        lists: dict[str, Sequence[Candidate]] = dict(dense)
        if lexical:
            lists["lexical"] = lexical
        fused = fuse_rrf(lists, rrf_k=config.rrf_k)
    else:
        fused = calibrated
    if prior:
        scale = 1.0 if config.fusion != "rrf" else 1.0 / (config.rrf_k + 1)
        fused = sorted(
            ((key, score + scale * prior.get(key, 0.0), raw) for key, score, raw in fused), key=lambda t: (-t[1], t[0])
        )

    if query.negatives:
        fused = [f for f in fused if not _mentions(rows[f[0]].text, query.negatives)]
    probs = _relevance(calibrated, dense, relevance)
    found_by = _found_by(dense, lexical)
    picked = _diversify(store, rows, fused, k, config)
    hits: list[Hit] = []
    for i, folded in picked:
        key, score, raw = fused[i]
        hit = rows[key].to_hit(score, raw)
        p = probs.get(key)
        if p is not None and p < min_relevance:
            continue
        hits.append(
            dataclasses.replace(
                hit, relevance=p, found_by=found_by.get(key, ""), duplicates=tuple(fused[j][0] for j in folded)
            )
        )
    return hits


def _mentions(text: str, words: Sequence[str]) -> bool:
    low = f" {' '.join(''.join(c if c.isalnum() else ' ' for c in (text or '').lower()).split())} "
    return any(f" {w.lower()} " in low for w in words)


def _found_by(dense: Mapping[str, Sequence[Candidate]], lexical: Sequence[Candidate]) -> dict[str, str]:
    """Per segment, the list (``query channel->target channel``) where its calibrated score is highest."""
    best: dict[str, tuple[float, str]] = {}
    for name, cands in dense.items():
        pair = name.replace("image_text->", "text->")  # the words of a query picture are a text query
        for c in cands:
            if c.key not in best or c.calibrated > best[c.key][0]:
                best[c.key] = (c.calibrated, pair)
    out = {key: pair for key, (_, pair) in best.items()}
    for c in lexical:
        out.setdefault(c.key, "lexical")
    return out


def _relevance(
    calibrated: Sequence[tuple[str, float, Mapping[str, float]]],
    dense: Mapping[str, Sequence[Candidate]],
    model: RelevanceModel | None,
) -> dict[str, float]:
    """Relevance per segment from its calibrated score and margin, by the model of the pair that found it."""
    if model is None or not calibrated:
        return {}
    feats = hit_features([score for _, score, _ in calibrated])
    found = _found_by(dense, ())
    pairs: dict[str, list[int]] = {}
    for i, (key, _, _) in enumerate(calibrated):
        pairs.setdefault(found.get(key, "lexical"), []).append(i)
    out: dict[str, float] = {}
    for pair, idx in pairs.items():
        p = model.predict(pair, feats[idx])
        if p is None:
            continue
        for i, pi in zip(idx, p):
            out[calibrated[i][0]] = float(pi)
    return out


def _diversify(
    store: VectorStore, rows: Mapping[str, Row], fused: Sequence[tuple[str, float, Mapping[str, float]]], k: int, config: SearchConfig
) -> list[tuple[int, list[int]]]:
    """Fold near-duplicates and cap per source (``config.diversify``, ``config.per_source``)."""
    if not config.diversify and not config.per_source:
        return [(i, []) for i in range(min(k, len(fused)))]
    window = list(fused[: max(3 * k, k + 20)])
    vectors: dict[str, np.ndarray] = {}
    fetch = getattr(store, "vectors", None)
    if config.diversify and callable(fetch):
        ids = [f"{key}:image" for key, _, _ in window if rows[key].modality in ("image", "video")]
        vectors = fetch(ids)
    items = [
        Item(
            key=key,
            source=rows[key].source,
            span=rows[key].span(),
            vectors={"image": vectors[f"{key}:image"]} if f"{key}:image" in vectors else {},
        )
        for key, _, _ in window
    ]
    threshold = config.duplicate_threshold if config.diversify else 2.0
    if not config.diversify:  # cap only: nothing is a duplicate
        items = [dataclasses.replace(it, span=Span()) for it in items]
    return fold(items, k, threshold=threshold, per_source=config.per_source)


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

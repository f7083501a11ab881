"""Cross-modal search: one list per (query vector, target channel), calibrated, fused.

The engine turns a query (text, image or audio) into one or more vectors in
the shared space (``Query.vectors``: query channel -> vector) and, for text
queries, keeps the text for the lexical list. ``search`` then:

1. for every query vector and every channel the index has, asks the store for
   the top ``candidates`` rows of that channel (``channel = 'image' AND
   <modality filter> AND (<user filter>)``); a modality-native channel
   (``visual``: a backbone's own features) is searched only by a query
   vector whose ``targets`` name it, so text never searches it;
2. calibrates each list against the query's background in that channel
   (``fusion.background``), or ranks it for RRF;
3. adds the BM25 list when the query has text and ``hybrid`` is on, and
   scores the candidate speech transcripts by how much of the query text can
   be *heard* in them (``retrieve.heard``: normalised words, Metaphone keys,
   the recogniser's alternative words), so a misheard word ("to Ken" for
   "toucan") still finds its recording (``heard_weight``, 0 = off);
4. fuses per segment (plus a feedback prior per segment, when given; a
   Rocchio-moved query vector, ``steer``, replaces a list's query in step 1);
5. folds near-duplicates under the best of them and caps hits per source
   (``retrieve/diversity.py``);
6. attaches ``relevance`` (``retrieve/relevance.py``) and the list that found
   each hit, and drops hits below ``min_relevance``; returns the top ``k``.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import PurePath

import numpy as np

from mmrag.config import SearchConfig
from mmrag.operators import with_operator_terms
from mmrag.option_terms import defines, option_key, options, with_option_terms
from mmrag.retrieve.diversity import Item, fold
from mmrag.retrieve.fusion import (
    MIN_BACKGROUND,
    Background,
    Candidate,
    background,
    calibrate,
    calibrate_labels,
    fuse_calibrated,
    fuse_rrf,
    label_like,
    top_up,
)
from mmrag.retrieve.heard import POWER, heard_score
from mmrag.retrieve.relevance import RelevanceModel, hit_features
from mmrag.stores.base import Row, ScoredRow, VectorStore, quote
from mmrag.types import Channel, Hit, Span, heard_alternatives

NATIVE_CHANNELS = frozenset(c.value for c in Channel if c.native)


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
    """Per-channel background vectors, refreshed when the store changes.

    ``references``: per channel, the encoder's reference sample (``Space.references``); a channel
    with fewer than ``min_size`` stored vectors is topped up from it (``fusion.top_up``).
    ``labels``: per channel, its encoder's vectors of short labels (``Space.label_references``),
    the second background of rows whose text is a label (``fusion.calibrate_labels``)."""

    size: int = 512
    references: Mapping[str, np.ndarray] = field(default_factory=dict)
    labels: Mapping[str, np.ndarray] = field(default_factory=dict)
    min_size: int = MIN_BACKGROUND
    _cache: dict[str, tuple[int, np.ndarray]] = field(default_factory=dict)
    _vectors: dict[str, np.ndarray] = field(default_factory=dict)  # row id -> stored vector (``stored``)
    _absent: set[str] = field(default_factory=set)  # row ids the store does not hold

    def get(self, store: VectorStore, channel: str) -> np.ndarray:
        version = store.count(f"channel = {quote(channel)}")
        cached = self._cache.get(channel)
        if cached is None or cached[0] != version:
            sample = np.asarray(store.sample_vectors(channel, self.size, seed=0), dtype=np.float32)
            self._cache[channel] = (version, top_up(sample, self.references.get(channel), min(self.min_size, self.size)))
        return self._cache[channel][1]

    def stored(self, store: VectorStore, ids: Sequence[str]) -> dict[str, np.ndarray]:
        """Stored vectors by row id (``store.vectors``), memoised until ``invalidate`` (every write and
        refresh calls it): feedback's Rocchio reads the same few judged rows for every similar query."""
        missing = [i for i in dict.fromkeys(ids) if i not in self._vectors and i not in self._absent]
        fetch = getattr(store, "vectors", None)
        if missing and callable(fetch):
            got = fetch(missing)
            self._vectors.update(got)
            self._absent.update(i for i in missing if i not in got)
        return {i: self._vectors[i] for i in ids if i in self._vectors}

    def invalidate(self) -> None:
        self._cache.clear()
        self._vectors.clear()
        self._absent.clear()


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


def _run_lists(
    store: VectorStore,
    pairs: Sequence[tuple[str, str, np.ndarray]],
    text: str | None,
    depth: int,
    modalities: Sequence[str] | None,
    where: str | None,
) -> tuple[list[list[ScoredRow]], list[ScoredRow]]:
    """Every (query vector, channel) list and the text list. A store whose reads are round trips to a
    server (``concurrent_reads``, Milvus) gets them all at once, so a fused search waits about one
    round trip instead of one per list; an in-process store (LanceDB) runs them one after another."""
    calls: list[Callable[[], list[ScoredRow]]] = [
        functools.partial(store.search, vec, depth, build_where(channel, modalities, where)) for _, channel, vec in pairs
    ]
    if text is not None:
        calls.append(functools.partial(store.text_search, text, depth, build_where(None, modalities, where)))
    if len(calls) > 1 and getattr(store, "concurrent_reads", False):
        # the text list is sent first: on a server without BM25 (Milvus < 2.5) it is the longest (a scan of
        # every row's terms; 200k rows: ~100 ms against ~25 ms for a dense list), so it starts before the rest
        order = [len(calls) - 1, *range(len(calls) - 1)] if text is not None else list(range(len(calls)))
        with ThreadPoolExecutor(max_workers=len(calls)) as pool:
            futures = {i: pool.submit(calls[i]) for i in order}
            results = [futures[i].result() for i in range(len(calls))]
    else:
        results = [call() for call in calls]
    return results[: len(pairs)], (results[-1] if text is not None else [])


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
    steer: Mapping[tuple[str, str], np.ndarray] | None = None,
) -> list[Hit]:
    """Run the per-channel searches, fuse them, return the top ``k`` hits.

    ``channel_weights`` scales a channel's calibrated scores (default 1.0) in
    cross-modal lists: a space declares a weaker tower (mmrag's small starter
    image tower) so that its best-of-N noise cannot outrank a real match in
    another channel. A query vector searched in its own channel (image->image)
    keeps weight 1.0: same-tower similarity is what finds a product's picture.
    ``prior`` adds a per-segment bonus (recorded feedback) before ranking;
    ``steer`` replaces the query vector of a (query channel, index channel)
    search (recorded feedback, Rocchio: ``feedback.feedback_steer``).
    """
    if k <= 0:
        return []
    depth = max(config.candidates, k)
    samples = samples or BackgroundSamples(size=config.calibration_sample)
    rows: dict[str, Row] = {}
    dense: dict[str, list[Candidate]] = {}

    pairs: list[tuple[str, str, np.ndarray]] = []  # (query channel, index channel, query vector)
    for q_channel, vector in query.vectors.items():
        allowed = query.targets.get(q_channel)
        for channel in channels:
            if allowed is not None and channel not in allowed:
                continue
            if channel in NATIVE_CHANNELS and (allowed is None or channel not in allowed):
                continue  # a modality-native channel (visual features) answers only queries aimed at it
            pairs.append((q_channel, channel, steer.get((q_channel, channel), vector) if steer else vector))
    # the text list also looks for the options and operators the query names, as rows' ``heard`` holds them
    # (option_terms, operators)
    text = with_operator_terms(with_option_terms(query.text)) if config.hybrid and query.text and query.text.strip() else None
    dense_found, text_found = _run_lists(store, pairs, text, depth, modalities, where)

    for (q_channel, channel, vec), found in zip(pairs, dense_found):
        if not found:
            continue
        bg: Background = background(vec, samples.get(store, channel))
        # a weak tower's weight scales its cross-modal lists (text->image); the same tower on both
        # sides (image->image: near-duplicate pictures, a catalogue's product shots) is not down-weighted
        weight = 1.0 if q_channel == channel else (channel_weights or {}).get(channel, 1.0)
        scores = [s.score for s in found]
        z = calibrate(scores, bg)
        label_bg = samples.labels.get(channel)
        if label_bg is not None:
            is_label = [label_like(s.row.text, s.row.modality, _kind(s.row)) for s in found]
            if any(is_label):
                z = calibrate_labels(z, calibrate(scores, background(vec, label_bg)), is_label)
        z = z * weight
        name = f"{q_channel}->{channel}"
        dense[name] = [Candidate(s.row.segment_id, s.score, float(zi)) for s, zi in zip(found, z)]
        for s in found:
            rows.setdefault(s.row.segment_id, s.row)

    lexical: list[Candidate] = []
    if text is not None:
        seen: set[str] = set()
        for s in text_found:
            if s.row.segment_id in seen:
                continue
            seen.add(s.row.segment_id)
            lexical.append(Candidate(s.row.segment_id, s.score, s.score))
            rows.setdefault(s.row.segment_id, s.row)

    heard: list[Candidate] = []
    if config.heard_weight > 0 and query.text and query.text.strip():
        heard = heard_candidates(query.text, rows.values())

    # the entry of an option the query names ("What does ls -S do?": ``-S: sort by file size``), among the found
    asked = {option_key(o) for o in options(query.text or "")} if config.option_weight > 0 else set()
    entries = [key for key, row in rows.items() if row.modality == "text" and defines(row.text, asked)] if asked else []
    calibrated = fuse_calibrated(_per_channel_best(dense), lexical, heard=heard, heard_weight=config.heard_weight,
                                 entries=entries, entry_weight=config.option_weight)
    if config.fusion == "rrf":
        lists: dict[str, Sequence[Candidate]] = dict(dense)
        if lexical:
            lists["lexical"] = lexical
        if entries:
            lists["entry"] = [Candidate(key, 1.0, 1.0) for key in entries]
        if heard:
            lists["heard"] = sorted(heard, key=lambda c: -c.raw)
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
    found_by = _found_by(dense, lexical, rrf=config.fusion == "rrf")
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


def _kind(row: Row) -> str:
    """``meta["kind"]`` of a recording's row where it can make a label ("sound"); the JSON is read only for
    rows that mention it (speech rows, the many short ones, are left to ``heard_candidates``)."""
    if row.modality not in ("audio", "video") or '"sound"' not in (row.meta or ""):
        return ""
    return row.meta_dict().get("kind", "")


def _mentions(text: str, words: Sequence[str]) -> bool:
    low = f" {' '.join(''.join(c if c.isalnum() else ' ' for c in (text or '').lower()).split())} "
    return any(f" {w.lower()} " in low for w in words)


def _found_by(dense: Mapping[str, Sequence[Candidate]], lexical: Sequence[Candidate], *, rrf: bool) -> dict[str, str]:
    """Per segment, the list that gave it its score: the best calibrated dense list
    (``query channel->target channel``; the words of a query picture count as a text query),
    or ``lexical`` when only a keyword match found it. Under RRF, the list where it ranked highest."""
    best: dict[str, tuple[float, str]] = {}
    for name, cands in dense.items():
        pair = name.replace("image_text->", "text->")
        for rank, c in enumerate(cands):
            value = -float(rank) if rrf else c.calibrated
            if c.key not in best or value > best[c.key][0]:
                best[c.key] = (value, pair)
    out = {key: pair for key, (_, pair) in best.items()}
    for rank, c in enumerate(lexical):
        if c.key not in out or (rrf and -float(rank) > best[c.key][0]):
            out[c.key] = "lexical"
    return out


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
        alts = heard_alternatives(meta.get("heard_also"))
        score = heard_score(text, row.text, alts)
        if score > 0:
            out.append(Candidate(row.segment_id, score, score**POWER))
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
    found = _found_by(dense, (), rrf=False)
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
    if config.diversify:  # LanceDB answers from its in-memory index, Milvus with one query
        ids = [f"{key}:image" for key, _, _ in window if rows[key].modality in ("image", "video")]
        vectors = store.similarity_vectors(ids, "image")
    items = [
        Item(
            key=key,
            source=rows[key].source,
            span=rows[key].span(),
            vectors={"image": vectors[f"{key}:image"]} if f"{key}:image" in vectors else {},
            caption=_caption_source(rows[key]) if config.diversify else "",
        )
        for key, _, _ in window
    ]
    threshold = config.duplicate_threshold if config.diversify else 2.0
    if not config.diversify:  # cap only: nothing is a duplicate
        items = [dataclasses.replace(it, span=Span()) for it in items]
    return fold(items, k, threshold=threshold, per_source=config.per_source)


def _caption_source(row: Row) -> str:
    """The caption file a picture's words came from (``meta.caption_file``, beside it), or the subtitles a
    video shot's words came from, else ``""``."""
    if row.modality not in ("image", "video", "audio") or "caption_file" not in row.meta:
        return ""
    name = row.meta_dict().get("caption_file", "")
    try:
        return str(PurePath(row.source).with_name(name)) if name else ""
    except ValueError:  # not a file name (a path with a separator, or a source without a name)
        return ""


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

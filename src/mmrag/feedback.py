"""Feedback: "this hit was right / wrong for this query", recorded and used.

``FeedbackLog`` appends judgements to ``mmrag-feedback.jsonl`` beside the
index: the query (text, and its vectors so later queries can be compared
with it), the segment, its source and a label (+1 right, -1 wrong).

Recorded feedback is used two ways:

1. **Re-ranking**, by one of two methods or both (``search.feedback``:
   ``rocchio`` (the default: it measured better than the prior on every
   query set of ``bench/bench_feedback.py``, held-out queries included),
   ``prior``, ``both`` or ``off``):

   a. **Rocchio** (``feedback_steer`` / ``rocchio``): the query vector is
   moved, per searched channel, towards the stored vectors of the segments
   judged right for similar past queries and away from those judged wrong:
   ``q' = normalise(ALPHA q + BETA Σ w⁺v⁺ / max(1, Σ w⁺) − GAMMA Σ w⁻v⁻ /
   max(1, Σ w⁻))``, each vote ``w`` being its query's fade (below). Unlike
   the prior it can reach segments the plain query did not find, and it
   lifts their look-alikes too.

   b. A **per-segment prior** (``feedback_prior``). For a new query
   ``q``, every recorded query ``f`` similar to it (cosine of their text
   vectors above ``SIMILAR``) adds ``PRIOR_WEIGHT * label * sim'`` to the
   calibrated score of the judged segment, where ``sim' = clip((cos -
   SIMILAR) / (SAME - SIMILAR), 0, 1)`` fades the vote out for less similar
   queries (MiniLM: paraphrases score 0.64-0.83, unrelated queries ~0.3). The prior
   applies to segments the search already found (the prior cannot conjure a
   segment absent from the candidates).
2. **Retraining** (``export_pairs``): positive pairs ``{a: image or sound
   file, b: query text}`` in the pairs format ``mmrag train`` reads, each
   with the query's wrong hits as ``hard_negatives``.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

ROCCHIO_ALPHA = 1.0  # weight of the query itself
ROCCHIO_BETA = 0.75  # ... of the judged-right segments' vectors (Rocchio's classic 1 / 0.75 / 0.15)
ROCCHIO_GAMMA = 0.15  # ... of the judged-wrong ones
MODES = ("prior", "rocchio", "both", "off")
SIMILAR = 0.5  # cosine between two queries' text vectors from which a judgement starts to carry over
SAME = 0.8  # ... and from which it counts fully
PRIOR_WEIGHT = 3.0  # calibrated-score units (background standard deviations) a full vote is worth


@dataclass(frozen=True)
class Judgement:
    query: str
    segment_id: str
    source: str
    label: int  # +1 right, -1 wrong
    vector: tuple[float, ...] = ()  # the query's main vector
    modality: str = ""  # the judged segment's modality
    at: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "query": self.query, "segment_id": self.segment_id, "source": self.source, "label": self.label,
            "modality": self.modality, "at": self.at, "vector": [round(v, 6) for v in self.vector],
        }


class FeedbackLog:
    """Append-only judgements (JSON lines) with an in-memory copy; see module doc."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._items: list[Judgement] = []
        self._matrix: np.ndarray | None = None
        self._changes = 0  # bumped by every record, clear and re-read (``version``)
        self._seen = self._stat()
        self._items = self._read()

    def _stat(self) -> tuple[int, int] | None:
        try:
            st = self.path.stat() if self.path is not None else None
        except OSError:
            return None
        return None if st is None else (st.st_size, st.st_mtime_ns)

    def _read(self) -> list[Judgement]:
        items: list[Judgement] = []
        if self.path is not None and self.path.is_file():
            for line in self.path.read_text(encoding="utf-8").splitlines():
                try:
                    d = json.loads(line)
                    items.append(Judgement(
                        str(d["query"]), str(d["segment_id"]), str(d.get("source", "")), 1 if int(d["label"]) > 0 else -1,
                        tuple(float(v) for v in d.get("vector", ())), str(d.get("modality", "")), float(d.get("at", 0.0)),
                    ))
                except (ValueError, KeyError, TypeError):
                    continue  # a torn last line after a crash: skip it
        return items

    def version(self) -> tuple[int, int]:
        """Changes with every judgement recorded through this log and whenever another process
        (``mmrag feedback`` beside a running server) changed the file; that file is then read
        again, so the judgements in use are the ones on disk. One ``stat``."""
        with self._lock:
            self._sync_locked()
            return (self._changes, len(self._items))

    def _sync_locked(self) -> None:
        """Re-read the file if another process changed it since (call with the lock held)."""
        seen = self._stat()
        if seen != self._seen:
            self._items = self._read()
            self._seen = seen
            self._matrix = None
            self._changes += 1

    def __len__(self) -> int:
        return len(self._items)

    @property
    def items(self) -> tuple[Judgement, ...]:
        return tuple(self._items)

    def record(self, judgements: Iterable[Judgement]) -> int:
        new = [j if j.at else Judgement(j.query, j.segment_id, j.source, j.label, j.vector, j.modality, time.time()) for j in judgements]
        with self._lock:
            if self.path is not None:
                self._sync_locked()  # another process wrote since: start from the file's judgements
                self.path.parent.mkdir(parents=True, exist_ok=True)
                with self.path.open("a", encoding="utf-8") as fh:
                    for j in new:
                        fh.write(json.dumps(j.to_dict()) + "\n")
                self._seen = self._stat()
            self._items.extend(new)
            self._matrix = None
            self._changes += 1
        return len(new)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._matrix = None
            if self.path is not None and self.path.exists():
                self.path.unlink()
            self._seen = self._stat()
            self._changes += 1

    def matrix(self) -> np.ndarray:
        with self._lock:
            if self._matrix is None:
                vecs = [j.vector for j in self._items if j.vector]
                dim = len(vecs[0]) if vecs else 0
                self._matrix = np.asarray(
                    [j.vector if len(j.vector) == dim else (0.0,) * dim for j in self._items], dtype=np.float32
                ).reshape(len(self._items), dim)
            return self._matrix


def query_vector(query: Any) -> np.ndarray | None:
    """The vector that stands for a query when comparing queries: its text, else its first vector."""
    vectors: Mapping[str, np.ndarray] = query.vectors
    for name in ("text", "composed", "image_text", "image", "audio"):
        if name in vectors:
            return np.asarray(vectors[name], dtype=np.float32)
    return None


def similar_judgements(log: FeedbackLog, query: Any, *, similar: float = SIMILAR, same: float = SAME) -> list[tuple[Judgement, float]]:
    """The judgements of past queries similar to ``query``, each with its fade in (0, 1]."""
    if not len(log):
        return []
    q = query_vector(query)
    m = log.matrix()
    if q is None or m.shape[1] != q.size:
        return []
    sims = m @ q
    return [(j, min(1.0, float((s - similar) / (same - similar)))) for j, s in zip(log.items, sims) if s > similar]


def feedback_prior(
    log: FeedbackLog, query: Any, *, similar: float = SIMILAR, same: float = SAME, weight: float = PRIOR_WEIGHT
) -> dict[str, float] | None:
    """Per-segment score bonus from judgements of similar past queries (``None`` if none applies)."""
    prior: dict[str, float] = {}
    for j, fade in similar_judgements(log, query, similar=similar, same=same):
        prior[j.segment_id] = prior.get(j.segment_id, 0.0) + weight * j.label * fade
    return prior or None


def rocchio(
    query: np.ndarray,
    positives: np.ndarray,
    pos_weights: np.ndarray,
    negatives: np.ndarray,
    neg_weights: np.ndarray,
    *,
    alpha: float = ROCCHIO_ALPHA,
    beta: float = ROCCHIO_BETA,
    gamma: float = ROCCHIO_GAMMA,
) -> np.ndarray:
    """Rocchio's update of a query vector, unit length (pure): ``alpha q + beta Σ w⁺v⁺ / max(1, Σ w⁺)
    − gamma Σ w⁻v⁻ / max(1, Σ w⁻)``. ``positives``/``negatives`` are ``(n, d)`` (``n`` may be 0); a
    weight below 1 (a less similar past query) pulls proportionally less."""
    q = alpha * np.asarray(query, np.float64)
    for vecs, w, sign in ((positives, pos_weights, beta), (negatives, neg_weights, -gamma)):
        v, wt = np.asarray(vecs, np.float64).reshape(-1, q.size), np.asarray(w, np.float64).reshape(-1)
        if len(v):
            q = q + sign * (wt @ v) / max(1.0, float(wt.sum()))
    n = float(np.linalg.norm(q))
    return (q / n if n > 1e-12 else np.asarray(query, np.float64)).astype(np.float32)


def feedback_steer(
    log: FeedbackLog,
    query: Any,
    fetch: Callable[[list[str]], Mapping[str, np.ndarray]],
    channels: Sequence[str],
    *,
    similar: float = SIMILAR,
    same: float = SAME,
) -> dict[tuple[str, str], np.ndarray] | None:
    """Rocchio-moved query vectors, ``(query channel, index channel) -> vector``, for the channels where
    judged segments of similar past queries have stored vectors (``fetch``: row ids -> vectors, the
    store's ``vectors``); ``None`` when no judgement applies."""
    votes = similar_judgements(log, query, similar=similar, same=same)
    if not votes:
        return None
    stored = fetch([f"{j.segment_id}:{c}" for j, _ in votes for c in channels])
    out: dict[tuple[str, str], np.ndarray] = {}
    for channel in channels:
        pos = [(stored[f"{j.segment_id}:{channel}"], w) for j, w in votes if j.label > 0 and f"{j.segment_id}:{channel}" in stored]
        neg = [(stored[f"{j.segment_id}:{channel}"], w) for j, w in votes if j.label < 0 and f"{j.segment_id}:{channel}" in stored]
        if not pos and not neg:
            continue
        for q_channel, vec in query.vectors.items():
            v = np.asarray(vec, np.float32)
            if any(p.size != v.size for p, _ in pos + neg):
                continue
            out[(q_channel, channel)] = rocchio(
                v, np.array([p for p, _ in pos]), np.array([w for _, w in pos]),
                np.array([p for p, _ in neg]), np.array([w for _, w in neg]),
            )
    return out or None


def export_pairs(log: FeedbackLog, out: Path, *, media_only: bool = True) -> tuple[int, int]:
    """Write positive pairs (+ hard negatives) as JSONL for ``mmrag train``; returns (pairs, negatives).

    ``a`` is the judged file (an image or a sound: what a bound tower learns from), ``b`` the query
    text; text segments are skipped when ``media_only`` (the text tower is frozen)."""
    from mmrag.train.data import MEDIA_SUFFIXES

    wrong: dict[str, list[str]] = {}
    for j in log.items:
        if j.label < 0:
            wrong.setdefault(j.query, []).append(j.source)
    seen: set[tuple[str, str]] = set()
    lines: list[str] = []
    negatives = 0
    for j in log.items:
        if j.label <= 0 or not j.query.strip():
            continue
        if media_only and Path(j.source).suffix.lower() not in MEDIA_SUFFIXES:
            continue
        if (j.source, j.query) in seen:
            continue
        seen.add((j.source, j.query))
        negs = sorted(set(wrong.get(j.query, [])) - {j.source})
        negatives += len(negs)
        lines.append(json.dumps({"a": j.source, "b": j.query, "hard_negatives": negs}))
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return len(lines), negatives




def record(engine: Any, query: str | Any, *, right: Iterable[Any] = (), wrong: Iterable[Any] = ()) -> int:
    """Record judgements for ``query`` (a text or an embedded ``Query``). Each item of ``right`` /
    ``wrong`` is a ``Hit``, a segment id, or a file: a file stands for its best segment for this query."""
    from mmrag.errors import QueryError
    from mmrag.stores.base import quote

    q = engine.embed_query(query) if isinstance(query, str) else query
    text = query if isinstance(query, str) else (q.text or "")
    vec = query_vector(q)
    out: list[Judgement] = []
    for label, items in ((1, right), (-1, wrong)):
        for item in items:
            hit = item if hasattr(item, "segment_id") else None
            if hit is None:
                ref = str(item)
                path = Path(ref).expanduser()
                where = f"source = {quote(str(path.resolve()))}" if path.exists() else f"segment_id = {quote(ref)}"
                found = engine.search(query=q, k=1, where=where, diversify=False, feedback=False)
                if not found:
                    raise QueryError(f"{ref!r} is neither an indexed file nor a segment id of this index. Use a path from mmrag sources or an id from search --json.")
                hit = found[0]
            out.append(Judgement(text, hit.segment_id, hit.source, label, tuple(float(v) for v in vec) if vec is not None else (), hit.modality.value))
    return engine.feedback_log().record(out)


__all__ = [
    "MODES", "PRIOR_WEIGHT", "ROCCHIO_ALPHA", "ROCCHIO_BETA", "ROCCHIO_GAMMA", "SAME", "SIMILAR", "FeedbackLog", "Judgement",
    "export_pairs", "feedback_prior", "feedback_steer", "query_vector", "record", "rocchio", "similar_judgements",
]

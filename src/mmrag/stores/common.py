"""Pieces shared by the store backends: row checks, query checks, summaries, BM25."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from mmrag.errors import IndexError_, QueryError, StoreError
from mmrag.stores.base import Row, ScoredRow, SourceInfo

MAX_ID_CHARS = 512


class NoIndex(IndexError_):
    """Opened with ``dim=None`` where no index exists yet."""


class EmptyStore:
    """What ``open_store(location, None)`` returns where no index exists yet.

    It reads as empty and creates nothing on disk; writing needs the space's
    dim, so writes raise ``StoreError`` (open the store with a dim instead).
    """

    def __init__(self, location: str) -> None:
        self.location = location
        self.dim = 0

    def _no(self) -> StoreError:
        return StoreError(
            f"the index at {self.location} does not exist yet, and was opened without a vector dim. "
            "Open it with the space's dim to create it."
        )

    def read_meta(self) -> dict[str, Any] | None:
        return None

    def write_meta(self, meta: Mapping[str, Any]) -> None:
        raise self._no()

    def upsert(self, rows: Sequence[Row]) -> None:
        raise self._no()

    def replace_source(self, source: str, rows: Sequence[Row]) -> None:
        raise self._no()

    def replace_sources(self, items: Sequence[tuple[str, Sequence[Row]]]) -> None:
        raise self._no()

    def delete(self, where: str) -> int:
        from mmrag.stores.filters import parse

        parse(where)
        return 0

    def search(self, vector: np.ndarray, k: int, where: str | None = None) -> list[ScoredRow]:
        from mmrag.stores.filters import parse_optional

        parse_optional(where)
        return []

    def text_search(self, query: str, k: int, where: str | None = None) -> list[ScoredRow]:
        return self.search(np.zeros(0), k, where)

    def count(self, where: str | None = None) -> int:
        self.search(np.zeros(0), 0, where)
        return 0

    def source_hash(self, source: str) -> str | None:
        return None

    def sources(self) -> list[SourceInfo]:
        return []

    def row_hashes(self, source: str) -> dict[str, str]:
        return {}

    def thumbnail(self, segment_id: str) -> bytes | None:
        return None

    def sample_vectors(self, channel: str, n: int, seed: int = 0) -> np.ndarray:
        return np.zeros((0, 0), dtype=np.float32)

    def vectors(self, ids: Sequence[str]) -> dict[str, np.ndarray]:
        return {}

    def similarity_vectors(self, ids: Sequence[str], channel: str) -> dict[str, np.ndarray]:
        return self.vectors(ids)

    def close(self) -> None:
        return None


def check_rows(rows: Sequence[Row], dim: int, source: str | None = None) -> list[Row]:
    """Validate rows for writing; the last row wins when an id repeats.

    With ``source`` (``replace_source``), every row must belong to that source.

    Raises ``StoreError`` naming the first bad row (wrong type, wrong vector
    size, non-finite values, bad meta JSON); nothing is written in that case.
    """
    if isinstance(rows, Row):
        rows = [rows]
    out: dict[str, Row] = {}
    for pos, row in enumerate(rows):
        if not isinstance(row, Row):
            raise StoreError(
                f"row {pos} is a {type(row).__name__}, not a Row. Build rows with mmrag.stores.base.Row."
            )
        if source is not None and row.source != source:
            raise StoreError(
                f"replace_source({source!r}) got a row of source {row.source!r}. Pass only that source's rows."
            )
        if not isinstance(row.id, str) or not row.id or len(row.id) > MAX_ID_CHARS:
            raise StoreError(
                f"row {pos} has an empty or over-long id ({str(row.id)[:40]!r}). Use segment_id:channel."
            )
        vec = np.asarray(row.vector)
        if vec.ndim != 1 or vec.shape[0] != dim:
            raise StoreError(
                f"row {row.id!r}: vector has shape {vec.shape}, but this index stores {dim}-d vectors. "
                "Embed with the index's space, or create a new index for the other space."
            )
        if not np.issubdtype(vec.dtype, np.number) or not np.all(np.isfinite(vec)):
            raise StoreError(
                f"row {row.id!r}: vector has non-finite or non-numeric values. Check the encoder output."
            )
        for name in ("segment_id", "source", "source_hash", "modality", "channel", "text", "meta"):
            if not isinstance(getattr(row, name), str):
                raise StoreError(
                    f"row {row.id!r}: '{name}' must be a string, got {type(getattr(row, name)).__name__}."
                )
        if not isinstance(row.thumbnail, (bytes, bytearray)):
            raise StoreError(f"row {row.id!r}: thumbnail must be bytes (b'' for none).")
        try:
            meta = json.loads(row.meta or "{}")
        except json.JSONDecodeError:
            meta = None
        if not isinstance(meta, dict):
            raise StoreError(f"row {row.id!r}: meta must be a JSON object string, got {row.meta[:40]!r}.")
        for name in ("page", "start", "end"):
            value = getattr(row, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
                raise StoreError(f"row {row.id!r}: '{name}' must be an int (-1 when unused).")
        for name in ("t0", "t1", "added_at"):
            value = getattr(row, name)
            if (
                isinstance(value, bool)
                or not isinstance(value, (int, float, np.number))
                or not math.isfinite(value)
            ):
                raise StoreError(f"row {row.id!r}: '{name}' must be a finite number (-1 when unused).")
        out[row.id] = row
    return list(out.values())


def check_query(vector: Any, dim: int) -> np.ndarray:
    """A float32 unit vector of ``dim``, or ``QueryError``."""
    try:
        q = np.asarray(vector, dtype=np.float32).reshape(-1)
    except (TypeError, ValueError):
        raise QueryError(
            f"query vector is not numeric ({type(vector).__name__}). Pass a {dim}-d array."
        ) from None
    if q.shape[0] != dim:
        raise QueryError(
            f"query vector has {q.shape[0]} values; this index is {dim}-d. Embed with the index's space."
        )
    norm = float(np.linalg.norm(q))
    if not math.isfinite(norm) or norm == 0.0:
        raise QueryError("query vector is zero or not finite. Check the encoder output.")
    return q / norm


def check_k(k: Any) -> int:
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)):
        raise QueryError(f"k must be an int, got {k!r}.")
    return max(0, int(k))


def summarize_sources(rows: Iterable[Any]) -> list[SourceInfo]:
    """``SourceInfo`` per source from (metadata of) rows, sorted by source."""
    acc: dict[str, dict[str, Any]] = {}
    for row in rows:
        item = acc.setdefault(
            row.source, {"hash": row.source_hash, "segments": set(), "rows": 0, "mods": set(), "at": 0.0}
        )
        item["segments"].add(row.segment_id)
        item["rows"] += 1
        item["mods"].add(row.modality)
        item["at"] = max(item["at"], float(row.added_at))
    return [
        SourceInfo(
            source=src,
            source_hash=v["hash"],
            segments=len(v["segments"]),
            rows=v["rows"],
            modalities=tuple(sorted(v["mods"])),
            added_at=v["at"],
        )
        for src, v in sorted(acc.items())
    ]


def check_meta(meta: Mapping[str, Any]) -> str:
    if not isinstance(meta, Mapping):
        raise StoreError(f"index metadata must be a mapping, got {type(meta).__name__}.")
    try:
        return json.dumps(dict(meta), sort_keys=True)
    except (TypeError, ValueError) as exc:
        raise StoreError(
            f"index metadata is not JSON-serialisable ({exc}). Use plain str/int/float/list/dict."
        ) from None


# -- BM25 (fallback full-text ranking for backends without a text index) ----
_WORD = re.compile(r"\w+", re.UNICODE)


def tokenize(text: str) -> list[str]:
    """Words of the lowercased text: one C call (a per-word lower() made BM25 over 2,000
    candidates ~0.4 s, most of a Milvus 2.3 text search)."""
    return _WORD.findall(text.lower())


def bm25_scores(query: str, docs: Sequence[str], k1: float = 1.2, b: float = 0.75) -> np.ndarray:
    """Okapi BM25 of ``query`` against ``docs`` (statistics from ``docs`` themselves).

    IDF is ``ln(1 + (N - n + 0.5) / (n + 0.5))`` (always positive).
    """
    terms = list(dict.fromkeys(tokenize(query)))
    n_docs = len(docs)
    if not terms or not n_docs:
        return np.zeros(n_docs, dtype=np.float64)
    tokenized = [tokenize(d) for d in docs]
    lengths = np.array([len(t) for t in tokenized], dtype=np.float64)
    avg = float(lengths.mean()) or 1.0
    scores = np.zeros(n_docs, dtype=np.float64)
    for term in terms:
        tf = np.array([t.count(term) for t in tokenized], dtype=np.float64)
        df = int(np.count_nonzero(tf))
        if not df:
            continue
        idf = math.log(1.0 + (n_docs - df + 0.5) / (df + 0.5))
        scores += idf * tf * (k1 + 1.0) / (tf + k1 * (1.0 - b + b * lengths / avg))
    return scores


def most_fields(lists: Iterable[Iterable[tuple[str, float]]], k: int) -> list[tuple[str, float]]:
    """Rows found by several full-text indexes (``text``, and ``heard``: the words a recogniser may
    also have heard, which its transcript lacks): each row once, the sum of its scores (Elasticsearch's
    ``most_fields``; BM25 adds over query words, and the two columns hold different words, so the sum
    is about the BM25 of one document holding both), best first (first-seen order among equals), at most ``k``."""
    total: dict[str, float] = {}
    for found in lists:
        for key, score in found:
            total[key] = total.get(key, 0.0) + score
    return sorted(total.items(), key=lambda kv: -kv[1])[:k]


__all__ = [
    "EmptyStore",
    "NoIndex",
    "bm25_scores",
    "check_k",
    "check_meta",
    "check_query",
    "check_rows",
    "most_fields",
    "summarize_sources",
    "tokenize",
]

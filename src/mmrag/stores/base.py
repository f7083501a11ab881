"""The ``VectorStore`` protocol every store backend implements.

A store holds *rows*: one vector of one segment through one channel, plus the
segment's metadata. It also keeps the index's metadata document (the space
spec) so that an index is self-describing.

Filters (``where``) use mmrag's small SQL-like dialect, parsed by
``stores/filters.py`` and translated per backend::

    source LIKE '%2024%' AND modality = 'image'
    page >= 3 OR (t0 > 60 AND channel IN ('text', 'image'))

Only the columns in ``FILTER_COLUMNS`` may appear, plus record fields (any
other name, or ``fields.name``: a key of the row's ``fields`` JSON object,
e.g. ``price < 50 AND brand = 'Acme'``). Bad syntax raises ``FilterError``
(a user typo never reaches the backend as raw SQL); ``Engine`` checks field
names and literal types against the fields the index holds.

Sentinels: numeric span fields that do not apply are stored as ``-1`` (no
nulls: Milvus Lite has none), and ``row_span`` maps them back to ``None``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from functools import lru_cache
from types import MappingProxyType
from typing import Any, Protocol, runtime_checkable

import numpy as np

from mmrag.types import Hit, Modality, Span

# column -> kind ("str" | "int" | "float"), the columns a filter may use
FILTER_COLUMNS: Mapping[str, str] = {
    "id": "str",
    "segment_id": "str",
    "source": "str",
    "source_hash": "str",
    "modality": "str",
    "channel": "str",
    "text": "str",
    "page": "int",
    "t0": "float",
    "t1": "float",
    "start": "int",
    "end": "int",
    "added_at": "float",
    "meta": "str",  # the segment's metadata as a JSON string: meta LIKE '%label:cat%'
}


@dataclass(frozen=True, eq=False)
class Row:
    """One vector of one segment through one channel.

    ``id`` is ``f"{segment_id}:{channel}"``. ``meta`` is a JSON object string.
    ``thumbnail`` is encoded image bytes or ``b""``. ``has_thumbnail`` is
    ``None`` when ``thumbnail`` holds the bytes; a store that returns rows
    without the bytes (to keep searches fast) sets it to say whether a
    thumbnail exists (fetch it with ``VectorStore.thumbnail``). ``fields`` is
    a JSON object string of a record's typed values (``"{}"`` for others).
    ``heard`` holds the words a speech recogniser may also have heard in the
    segment (those of its alternative hypotheses that ``text`` lacks:
    ``ingest/heard_words.py``): the full-text index finds the row by them too,
    so a misheard word ("10 of close") does not hide what was said ("ten of
    clubs"); and the tokens of the command-line options ``text`` names
    (``option_terms.py``: ``-C`` apart from ``-c`` and from the letter C).
    It is written, never read back (``""`` on reads).
    """

    id: str
    segment_id: str
    source: str
    source_hash: str
    modality: str
    channel: str
    vector: np.ndarray
    text: str = ""
    page: int = -1
    t0: float = -1.0
    t1: float = -1.0
    start: int = -1
    end: int = -1
    meta: str = "{}"
    thumbnail: bytes = b""
    added_at: float = 0.0
    has_thumbnail: bool | None = None
    fields: str = "{}"
    heard: str = ""

    def span(self) -> Span:
        return Span(
            page=None if self.page < 0 else self.page,
            t0=None if self.t0 < 0 else self.t0,
            t1=None if self.t1 < 0 else self.t1,
            start=None if self.start < 0 else self.start,
            end=None if self.end < 0 else self.end,
        )

    def meta_dict(self) -> dict[str, str]:
        try:
            value = json.loads(self.meta or "{}")
        except json.JSONDecodeError:
            return {}
        return {str(k): str(v) for k, v in value.items()} if isinstance(value, dict) else {}

    def to_hit(self, score: float, channel_scores: Mapping[str, float] | None = None) -> Hit:
        return Hit(
            segment_id=self.segment_id,
            source=self.source,
            modality=Modality(self.modality),
            span=self.span(),
            score=float(score),
            text=self.text or None,
            channel_scores=dict(channel_scores or {self.channel: float(score)}),
            has_thumbnail=bool(self.thumbnail) if self.has_thumbnail is None else self.has_thumbnail,
            meta=self.meta_dict(),
            fields=self.fields_dict(),
        )

    def fields_dict(self) -> dict[str, Any]:
        """The record's fields, in the order the loader gave (``meta["field_order"]``)."""
        values = parse_fields(self.fields)
        order = [k for k in self.meta_dict().get("field_order", "").split(",") if k in values]
        return {**{k: values[k] for k in order}, **values} if order else values


# every Row field a store keeps as a plain column and reads back (not the vector, not the thumbnail
# bytes, not ``heard``: a column only the full-text index reads)
ROW_SCALARS: tuple[str, ...] = tuple(
    f.name for f in fields(Row) if f.name not in ("vector", "thumbnail", "has_thumbnail", "heard")
)


@dataclass(frozen=True)
class ScoredRow:
    """A row returned by a search. ``row.vector`` may be empty (not fetched),
    and so may ``row.thumbnail`` (then ``row.has_thumbnail`` says if one exists).

    ``score``: cosine similarity for ``search`` (vectors are unit length),
    BM25-style relevance for ``text_search``. Higher is better.
    """

    row: Row
    score: float


@dataclass(frozen=True)
class SourceInfo:
    source: str
    source_hash: str
    segments: int
    rows: int
    modalities: tuple[str, ...] = field(default_factory=tuple)
    added_at: float = 0.0


@runtime_checkable
class VectorStore(Protocol):
    """What the engine needs from a store. See module docstring."""

    dim: int

    # -- index metadata (the space spec and friends) --------------------
    def read_meta(self) -> dict[str, Any] | None: ...
    def write_meta(self, meta: Mapping[str, Any]) -> None: ...

    # -- writes ---------------------------------------------------------
    def upsert(self, rows: Sequence[Row]) -> None: ...
    def replace_source(self, source: str, rows: Sequence[Row]) -> None:
        """Make ``rows`` the complete set of rows of ``source``.

        Readers never see the source with none of its rows: old rows that
        are not in ``rows`` are removed only after the new ones landed (or in
        the same atomic commit where the backend has one).
        """
        ...

    def replace_sources(self, items: Sequence[tuple[str, Sequence[Row]]]) -> None:
        """``replace_source`` for many sources in as few commits as the backend allows
        (ingest batches files this way). Each source stays atomic for readers:
        they never see part of its new rows, nor the source empty."""
        ...

    def delete(self, where: str) -> int:
        """Delete matching rows; return how many were deleted."""
        ...

    # -- reads ----------------------------------------------------------
    def search(self, vector: np.ndarray, k: int, where: str | None = None) -> list[ScoredRow]:
        """Top-``k`` rows by cosine (inner product of unit vectors), best first."""
        ...

    def text_search(self, query: str, k: int, where: str | None = None) -> list[ScoredRow]:
        """Top-``k`` rows by full-text relevance on ``text``, best first."""
        ...

    def count(self, where: str | None = None) -> int: ...
    def source_hash(self, source: str) -> str | None:
        """The stored content hash of ``source``, or ``None`` if absent."""
        ...

    def sources(self) -> list[SourceInfo]: ...
    def thumbnail(self, segment_id: str) -> bytes | None: ...
    def sample_vectors(self, channel: str, n: int, seed: int = 0) -> np.ndarray:
        """Up to ``n`` stored vectors of ``channel`` (for score calibration)."""
        ...

    def row_hashes(self, source: str) -> dict[str, str]:
        """``{row id: source_hash}`` of every row of ``source`` (records keep one hash per row)."""
        ...

    def vectors(self, ids: Sequence[str]) -> dict[str, np.ndarray]:
        """Stored vectors (float32, exact) of these row ids; unknown ids are left out."""
        ...

    def similarity_vectors(self, ids: Sequence[str], channel: str) -> dict[str, np.ndarray]:
        """Vectors of these row ids of ``channel`` for similarity checks (folding near-duplicate
        hits): the cheapest copy the store has, which may be approximate (LanceDB: float16 from
        its in-memory ANN index, no table read; Milvus: ``vectors``). Unknown ids and rows of
        other channels are left out."""
        ...

    def close(self) -> None: ...


@lru_cache(maxsize=65_536)
def _parse_fields(text: str) -> Mapping[str, Any]:
    try:
        value = json.loads(text)
    except (TypeError, ValueError):
        return MappingProxyType({})
    return MappingProxyType(value if isinstance(value, dict) else {})


def fields_view(text: str | None) -> Mapping[str, Any]:
    """Read-only parsed ``fields`` (cached; for filters in hot loops)."""
    return _parse_fields(text) if text and text != "{}" else _NO_FIELDS


_NO_FIELDS: Mapping[str, Any] = MappingProxyType({})


def parse_fields(text: str | None) -> dict[str, Any]:
    """A row's ``fields`` JSON as a dict (parsed once per distinct text; ``{}`` if bad)."""
    return dict(_parse_fields(text)) if text and text != "{}" else {}


def quote(value: str) -> str:
    """Quote a string literal for mmrag's filter dialect."""
    return "'" + value.replace("'", "''") + "'"


__all__ = [
    "FILTER_COLUMNS",
    "ROW_SCALARS",
    "Row",
    "ScoredRow",
    "SourceInfo",
    "VectorStore",
    "fields_view",
    "parse_fields",
    "quote",
]

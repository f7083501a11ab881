"""Milvus pieces behind ``MilvusStore``: locations, the collection schemas, rows <-> entities."""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from mmrag.config import StoreConfig
from mmrag.errors import SpaceMismatch, StoreError
from mmrag.index_paths import parse_location
from mmrag.stores.base import ROW_SCALARS, Row, parse_fields
from mmrag.stores.common import NoIndex, tokenize

log = logging.getLogger(__name__)
VARCHAR_MAX = 65_535
SCALARS = ROW_SCALARS
OUT_FIELDS = [*SCALARS, "thumbnail"]
# servers without BM25 (< 2.5): each row's distinct lowercased words in an array column, so a text
# search selects candidate rows inside the server (array_contains_all/any) instead of reading every text.
# Collections made now keep the words' 64-bit hashes (TERM_IDS_FIELD, INT64 array): Milvus 2.3.5 scans an
# INT64 array 2-3x faster than a VARCHAR one (200k rows: contains_all 36-66 ms vs 101-112 ms, contains
# 20 vs 57 ms). Collections made before keep their words (TERMS_FIELD) and are still read.
TERMS_FIELD = "terms"
TERM_IDS_FIELD = "term_ids"
TERMS_MAX = 1024  # distinct words kept per row (first occurrence order)
TERM_BYTES = 64  # words array only: longer words are left out (the text itself is unchanged)


def milvus_address(location: str) -> tuple[str, str]:
    """``(uri, collection prefix)`` of a Milvus location (read by ``index_paths.parse_location``)."""
    where = parse_location(location)
    if where.kind == "lance":
        raise StoreError(f"{location!r} is a LanceDB folder, not a Milvus location. Open it with open_store.")
    loc, name = where.target, "mmrag" if where.collection is None else where.collection
    if not name.replace("_", "").isalnum() or not name[0].isalpha() or len(name) > 200:
        raise StoreError(
            f"bad Milvus collection name {name!r}: use letters, digits and '_', starting with a letter."
        )
    if not loc:
        raise StoreError("empty Milvus location. Use milvus:./index.db or http://host:19530.")
    return loc, name


def _cut(text: str, limit: int = VARCHAR_MAX) -> str:
    data = text.encode("utf-8")
    return text if len(data) <= limit else data[:limit].decode("utf-8", errors="ignore")


HEARD_FUNCTION, HEARD_SPARSE = "bm25_heard", "heard_sparse"


@dataclass(frozen=True)
class RowsLayout:
    """What the rows collection offers, read from the one schema ``ensure_collections`` has."""

    dim: int
    bm25: bool  # Milvus' BM25 function on ``text``
    terms: str  # collections made without BM25: TERM_IDS_FIELD, TERMS_FIELD (older ones), or "" (older still)
    heard: bool = False  # a ``heard`` column (Row.heard: its own BM25 function, or words in the terms array)


def ensure_collections(
    client: Any, uri: str, rows_name: str, meta_name: str, dim: int, cfg: StoreConfig, try_bm25: bool = True
) -> RowsLayout:
    """Create missing collections; return their layout. ``dim=0``: only open an existing index.

    ``try_bm25=False`` (a server known to predate BM25) creates the rows without it at once.
    """
    from pymilvus import DataType

    c = client
    if not c.has_collection(rows_name) and not dim:
        raise NoIndex(
            f"no mmrag index in Milvus at {uri} (collection {rows_name}). Create it by adding files to it."
        )
    if not c.has_collection(meta_name):
        schema = c.create_schema(auto_id=False, enable_dynamic_field=False)
        schema.add_field("key", DataType.VARCHAR, is_primary=True, max_length=64)
        schema.add_field("value", DataType.VARCHAR, max_length=VARCHAR_MAX)
        schema.add_field("vector", DataType.FLOAT_VECTOR, dim=2)  # Milvus needs one vector field
        params = c.prepare_index_params()
        params.add_index(field_name="vector", index_type="FLAT", metric_type="L2")
        c.create_collection(meta_name, schema=schema, index_params=params, consistency_level="Strong")
    if c.has_collection(rows_name):
        info = c.describe_collection(rows_name)
        stored = int(next(f for f in info["fields"] if f["name"] == "vector")["params"]["dim"])
        if dim and stored != dim:
            raise SpaceMismatch(
                f"Milvus collection {rows_name} at {uri} stores {stored}-d vectors, not {dim}-d. "
                "Use the space it was built with, or another collection name (location#name)."
            )
        if not any(f.get("name") == "fields" for f in info["fields"]):
            add_fields_column(c, uri, rows_name)
        bm25 = any(f.get("name") == "bm25" for f in info.get("functions", []))
        names = {f.get("name") for f in info["fields"]}
        terms = "" if bm25 else next((t for t in (TERM_IDS_FIELD, TERMS_FIELD) if t in names), "")
        heard = "heard" in names and (not bm25 or any(f.get("name") == HEARD_FUNCTION for f in info.get("functions", [])))
        return RowsLayout(stored, bm25, terms, heard)
    if not try_bm25:
        create_rows(c, rows_name, dim, cfg, with_bm25=False)
        return RowsLayout(dim, False, TERM_IDS_FIELD, heard=True)
    try:
        create_rows(c, rows_name, dim, cfg, with_bm25=True)
        return RowsLayout(dim, True, "", heard=True)
    except Exception as exc:  # noqa: BLE001 - older servers: no BM25 function
        log.warning("Milvus at %s has no BM25 function (%s); using the Python text-search fallback", uri, exc)
        if c.has_collection(rows_name):
            c.drop_collection(rows_name)
        create_rows(c, rows_name, dim, cfg, with_bm25=False)
        return RowsLayout(dim, False, TERM_IDS_FIELD, heard=True)


def add_fields_column(c: Any, uri: str, rows_name: str) -> None:
    """An index from before record fields gets a nullable JSON ``fields`` column (Milvus >= 2.6)."""
    from pymilvus import DataType

    try:
        c.add_collection_field(rows_name, field_name="fields", data_type=DataType.JSON, nullable=True)
    except Exception as exc:  # noqa: BLE001 - older servers cannot add fields
        raise StoreError(
            f"Milvus collection {rows_name} at {uri} has no 'fields' column and this server cannot add one "
            f"({exc}). Rebuild the index into a new collection (location#newname) to store record fields."
        ) from None


def create_rows(
    c: Any, rows_name: str, dim: int, cfg: StoreConfig, with_bm25: bool, terms: str = TERM_IDS_FIELD
) -> None:
    """The rows collection: explicit schema, vector index from ``cfg.milvus_index`` (IP), BM25 if asked,
    else the ``terms`` array (``TERMS_FIELD``: the words array of collections made before word ids)."""
    from pymilvus import DataType, Function, FunctionType

    s = c.create_schema(auto_id=False, enable_dynamic_field=False)
    s.add_field("id", DataType.VARCHAR, is_primary=True, max_length=512)
    for name in ("segment_id", "source_hash"):
        s.add_field(name, DataType.VARCHAR, max_length=256)
    s.add_field("source", DataType.VARCHAR, max_length=4096)
    s.add_field("modality", DataType.VARCHAR, max_length=32)
    s.add_field("channel", DataType.VARCHAR, max_length=64)
    text_opts: dict[str, Any] = {}
    if with_bm25:
        text_opts = {
            "enable_analyzer": True,
            "analyzer_params": {"tokenizer": "standard", "filter": ["lowercase"]},
        }
    s.add_field("text", DataType.VARCHAR, max_length=VARCHAR_MAX, **text_opts)
    # what else a recogniser may have heard (Row.heard): full-text searched (its own BM25 function, or its
    # words in the terms array), never read back
    s.add_field("heard", DataType.VARCHAR, max_length=VARCHAR_MAX, **text_opts)
    for name in ("page", "start", "end"):
        s.add_field(name, DataType.INT64)
    for name in ("t0", "t1", "added_at"):
        s.add_field(name, DataType.DOUBLE)
    s.add_field("meta", DataType.VARCHAR, max_length=VARCHAR_MAX)
    s.add_field("thumbnail", DataType.VARCHAR, max_length=VARCHAR_MAX)
    s.add_field("fields", DataType.JSON)  # a record's typed fields, filtered as fields["price"] < 50
    if not with_bm25 and terms == TERMS_FIELD:
        s.add_field(TERMS_FIELD, DataType.ARRAY, element_type=DataType.VARCHAR, max_capacity=TERMS_MAX,
                    max_length=TERM_BYTES)
    elif not with_bm25:
        s.add_field(TERM_IDS_FIELD, DataType.ARRAY, element_type=DataType.INT64, max_capacity=TERMS_MAX)
    s.add_field("vector", DataType.FLOAT_VECTOR, dim=dim)
    params = c.prepare_index_params()
    kind = (cfg.milvus_index or "HNSW").upper()
    index_params: dict[str, Any] = {}
    if kind.startswith("HNSW"):
        index_params = {"M": cfg.hnsw_m, "efConstruction": cfg.hnsw_ef_construction}
    elif kind.startswith("IVF"):
        index_params = {"nlist": 128}
    params.add_index(field_name="vector", index_type=kind, metric_type="IP", params=index_params)
    if with_bm25:
        s.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
        s.add_function(
            Function(
                name="bm25",
                function_type=FunctionType.BM25,
                input_field_names=["text"],
                output_field_names=["sparse"],
            )
        )
        params.add_index(field_name="sparse", index_type="SPARSE_INVERTED_INDEX", metric_type="BM25")
        s.add_field(HEARD_SPARSE, DataType.SPARSE_FLOAT_VECTOR)
        s.add_function(
            Function(
                name=HEARD_FUNCTION,
                function_type=FunctionType.BM25,
                input_field_names=["heard"],
                output_field_names=[HEARD_SPARSE],
            )
        )
        params.add_index(field_name=HEARD_SPARSE, index_type="SPARSE_INVERTED_INDEX", metric_type="BM25")
    c.create_collection(rows_name, schema=s, index_params=params, consistency_level="Strong")


def cut(text: str, limit: int = VARCHAR_MAX) -> str:
    """``text`` cut to at most ``limit`` UTF-8 bytes, at a character boundary."""
    data = text.encode("utf-8")
    return text if len(data) <= limit else data[:limit].decode("utf-8", errors="ignore")


def row_terms(text: str) -> list[str]:
    """Distinct lowercased words of ``text`` (``tokenize``), at most ``TERMS_MAX``, each under ``TERM_BYTES``."""
    words = (w for w in dict.fromkeys(tokenize(text)) if len(w.encode("utf-8")) <= TERM_BYTES)
    return list(itertools.islice(words, TERMS_MAX))


def term_id(word: str) -> int:
    """A word's signed 64-bit id: the first 8 bytes of its BLAKE2b digest (stable across processes,
    unlike ``hash``). A collision only adds a candidate, which BM25 over the text then scores 0."""
    return int.from_bytes(hashlib.blake2b(word.encode("utf-8"), digest_size=8).digest(), "little", signed=True)


def row_term_ids(text: str) -> list[int]:
    """``term_id`` of each distinct lowercased word of ``text`` (``tokenize``), at most ``TERMS_MAX``."""
    return [term_id(w) for w in itertools.islice(dict.fromkeys(tokenize(text)), TERMS_MAX)]


def terms_of(text: str, field: str) -> dict[str, Any]:
    """The terms column of a row for a collection whose layout says ``field`` ("" for none)."""
    if field == TERM_IDS_FIELD:
        return {field: row_term_ids(text)}
    return {field: row_terms(text)} if field == TERMS_FIELD else {}


def to_entity(row: Row, terms: str = "", heard: bool = False) -> dict[str, Any]:
    thumb = base64.b64encode(bytes(row.thumbnail)).decode("ascii") if row.thumbnail else ""
    if len(thumb) > VARCHAR_MAX:
        log.warning(
            "thumbnail of %s is too large for Milvus (%d bytes); not stored", row.id, len(row.thumbnail)
        )
        thumb = ""
    return {
        "id": row.id,
        "segment_id": row.segment_id,
        "source": cut(row.source, 4096),
        "source_hash": row.source_hash,
        "modality": row.modality,
        "channel": row.channel,
        "text": cut(row.text),
        "page": int(row.page),
        "t0": float(row.t0),
        "t1": float(row.t1),
        "start": int(row.start),
        "end": int(row.end),
        "meta": cut(row.meta),
        "thumbnail": thumb,
        "added_at": float(row.added_at),
        "fields": parse_fields(row.fields),
        "vector": np.asarray(row.vector, dtype=np.float32).tolist(),
        **terms_of(f"{row.text} {row.heard}" if heard and row.heard else row.text, terms),
        **({"heard": cut(row.heard)} if heard else {}),
    }


def to_row(entity: Mapping[str, Any]) -> Row:
    thumb = entity.get("thumbnail") or ""
    return Row(
        id=entity["id"],
        segment_id=entity["segment_id"],
        source=entity["source"],
        source_hash=entity["source_hash"],
        modality=entity["modality"],
        channel=entity["channel"],
        vector=np.zeros(0, np.float32),
        text=entity["text"],
        page=int(entity["page"]),
        t0=float(entity["t0"]),
        t1=float(entity["t1"]),
        start=int(entity["start"]),
        end=int(entity["end"]),
        meta=entity["meta"],
        thumbnail=base64.b64decode(thumb) if thumb else b"",
        added_at=float(entity["added_at"]),
        fields=_fields_text(entity.get("fields")),
    )


def _fields_text(value: Any) -> str:
    if isinstance(value, str):
        return value or "{}"
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")) if isinstance(value, dict) else "{}"


class SourceView:
    """Attribute view of a query result for ``summarize_sources``."""

    __slots__ = ("added_at", "modality", "segment_id", "source", "source_hash")

    def __init__(self, entity: Mapping[str, Any]) -> None:
        for name in self.__slots__:
            setattr(self, name, entity[name])


__all__ = [
    "HEARD_SPARSE",
    "OUT_FIELDS",
    "SCALARS",
    "TERMS_FIELD",
    "TERM_IDS_FIELD",
    "VARCHAR_MAX",
    "RowsLayout",
    "SourceView",
    "create_rows",
    "cut",
    "ensure_collections",
    "milvus_address",
    "row_term_ids",
    "row_terms",
    "term_id",
    "terms_of",
    "to_entity",
    "to_row",
]

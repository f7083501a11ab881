"""Shared store helpers: row and query checks, summaries, BM25."""

from __future__ import annotations

import math

import numpy as np
import pytest

from mmrag.errors import QueryError, StoreError
from mmrag.stores import store_kind
from mmrag.stores.base import Row
from mmrag.stores.common import bm25_scores, check_k, check_query, check_rows, summarize_sources, tokenize


def row(i: int, **kw: object) -> Row:
    base: dict[str, object] = {
        "id": f"s{i}:text",
        "segment_id": f"s{i}",
        "source": "a.txt",
        "source_hash": "h",
        "modality": "text",
        "channel": "text",
        "vector": np.ones(4, np.float32) / 2,
    }
    base.update(kw)
    return Row(**base)  # type: ignore[arg-type]


def test_bm25_matches_hand_computed_values() -> None:
    scores = bm25_scores("c", ["a b", "a c c"])
    idf = math.log(1 + (2 - 1 + 0.5) / (1 + 0.5))  # ln 2
    want = idf * 2 * 2.2 / (2 + 1.2 * (1 - 0.75 + 0.75 * 3 / 2.5))
    assert scores[0] == 0.0 and scores[1] == pytest.approx(want, rel=1e-12) == pytest.approx(
        0.902322, abs=1e-6
    )
    both = bm25_scores("a c", ["a b", "a c c"])
    assert both[1] > both[0] > 0
    assert list(bm25_scores("", ["x"])) == [0.0] and len(bm25_scores("x", [])) == 0
    assert tokenize("Zebra-crossing, it's!") == ["zebra", "crossing", "it", "s"]


def test_check_rows_keeps_the_last_duplicate_and_names_bad_rows() -> None:
    out = check_rows([row(1, text="old"), row(2), row(1, text="new")], 4)
    assert [r.text for r in out] == ["new", ""]
    for bad, msg in [
        (row(1, vector=np.ones(3)), "shape"),
        (row(1, vector=np.array(["a"] * 4)), "non-numeric"),
        (row(1, id=""), "empty or over-long id"),
        (row(1, page=1.5), "'page' must be an int"),
        (row(1, t0=float("nan")), "'t0' must be a finite number"),
        (row(1, thumbnail="x"), "thumbnail must be bytes"),
        (row(1, source=3), "'source' must be a string"),
    ]:
        with pytest.raises(StoreError, match=msg):
            check_rows([bad], 4)


def test_check_query_normalises_and_rejects_bad_vectors() -> None:
    q = check_query([3.0, 4.0], 2)
    assert q.dtype == np.float32 and np.allclose(q, [0.6, 0.8])
    with pytest.raises(QueryError, match="3 values"):
        check_query([1, 2, 3], 2)
    with pytest.raises(QueryError, match="zero or not finite"):
        check_query([np.inf, 0], 2)
    with pytest.raises(QueryError, match="not numeric"):
        check_query(["a", "b"], 2)
    assert check_k(3) == 3 and check_k(-2) == 0
    with pytest.raises(QueryError):
        check_k(2.5)


def test_summarize_sources() -> None:
    rows = [
        row(1, added_at=5.0),
        row(1, id="s1:image", channel="image", added_at=7.0),
        row(2, source="b.mp4", modality="video"),
    ]
    a, b = summarize_sources(rows)
    assert (a.source, a.segments, a.rows, a.added_at, a.modalities) == ("a.txt", 1, 2, 7.0, ("text",))
    assert (b.source, b.rows, b.modalities) == ("b.mp4", 1, ("video",))


@pytest.mark.parametrize(
    ("location", "kind"),
    [
        ("./idx", "lance"),
        ("lance:./idx.db", "lance"),  # an explicit lance: wins over the .db ending
        ("milvus:./idx", "milvus"),
        ("./x.db", "milvus"),
        ("https://host:19530", "milvus"),
        ("http://h:19530#team", "milvus"),
        ("/data/my.index", "lance"),
    ],
)
def test_store_kind(location: str, kind: str) -> None:
    assert store_kind(location) == kind

"""One behaviour, every store: LanceDB (tmp folder), Milvus Lite (tmp file) and a real
Milvus server (standalone, started by ``conftest.milvus_server`` on loopback).

Expected values come from numpy (exact cosine top-k) and from the filter
dialect's Python predicate, so both stores are held to the same reference.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest

from mmrag.config import Config
from mmrag.errors import FilterError, QueryError, SpaceMismatch, StoreError
from mmrag.ingest.heard_words import search_words
from mmrag.operators import with_operator_terms
from mmrag.option_terms import with_option_terms
from mmrag.stores import open_store
from mmrag.stores.base import Row, ScoredRow, VectorStore
from mmrag.stores.filters import parse, predicate

DIM = 16
THUMB = bytes(range(256)) * 3


def unit(rng: np.random.Generator, n: int) -> np.ndarray:
    v = rng.standard_normal((n, DIM)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def make_rows(n: int = 60, seed: int = 0) -> list[Row]:
    rng = np.random.default_rng(seed)
    vecs = unit(rng, n)
    sources = ["a_b.pdf", "axb.pdf", "2024/talk.mp4", "C:\\docs\\it's.txt", "notes.md"]
    rows = []
    for i in range(n):
        src = sources[i % len(sources)]
        channel = "image" if i % 3 == 0 else "text"
        modality = {"a_b.pdf": "text", "axb.pdf": "image", "2024/talk.mp4": "video"}.get(src, "text")
        rows.append(
            Row(
                id=f"seg{i}:{channel}",
                segment_id=f"seg{i}",
                source=src,
                source_hash=f"hash-{src}",
                modality=modality,
                channel=channel,
                vector=vecs[i],
                text=f"chunk {i} " + ("zebra crossing" if i == 7 else "it's 100% plain"),
                page=(i % 4) + 1 if src.endswith(".pdf") else -1,
                t0=float(i) * 2.5 if src.endswith(".mp4") else -1.0,
                t1=float(i) * 2.5 + 2 if src.endswith(".mp4") else -1.0,
                start=i * 10 if src.endswith(".md") else -1,
                end=i * 10 + 9 if src.endswith(".md") else -1,
                meta=json.dumps({"title": f"t{i}"}),
                thumbnail=THUMB if channel == "image" else b"",
                added_at=1000.0 + i,
            )
        )
    return rows


def exact(rows: list[Row], q: np.ndarray, k: int, where: str | None = None) -> list[tuple[str, float]]:
    keep = predicate(parse(where)) if where else (lambda r: True)
    cand = [r for r in rows if keep(r)]
    scores = np.array([float(np.dot(r.vector, q)) for r in cand])
    order = np.argsort(-scores, kind="stable")[:k]
    return [(cand[i].id, float(scores[i])) for i in order]


# -- fixtures -----------------------------------------------------------------------
@pytest.fixture(scope="module")
def milvus_location(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    pytest.importorskip("pymilvus")
    location = f"milvus:{tmp_path_factory.mktemp('milvus') / 'conf.db'}#conf"
    keeper = open_store(location, DIM, Config())  # keeps Milvus Lite up for the module
    yield location
    keeper.close()


@pytest.fixture(scope="module")
def server_location(milvus_server: str) -> str:
    return f"{milvus_server}#conf"


@pytest.fixture(params=["lance", "milvus", "milvus-server"])
def opener(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[..., VectorStore]]:
    """``opener()`` opens the test's store (same location each call), emptied at first open."""
    cfg = Config()
    location = {
        "lance": lambda: str(tmp_path / "index"),
        "milvus": lambda: request.getfixturevalue("milvus_location"),
        "milvus-server": lambda: request.getfixturevalue("server_location"),
    }[request.param]()
    opened: list[VectorStore] = []

    def open_(dim: int | None = DIM, config: Config = cfg) -> VectorStore:
        store = open_store(location, dim, config)
        opened.append(store)
        return store

    if request.param != "lance":  # shared collection: wipe it
        first = open_()
        first.delete("id != ''")
        first._client.delete(first.meta_name, ids=["meta"])  # type: ignore[attr-defined]
    yield open_
    for store in opened:
        store.close()


@pytest.fixture()
def store(opener: Callable[..., VectorStore]) -> VectorStore:
    return opener()


def ids(found: list[ScoredRow]) -> list[str]:
    return [s.row.id for s in found]


# -- tests --------------------------------------------------------------------------
def test_search_orders_by_exact_cosine(store: VectorStore) -> None:
    rows = make_rows()
    store.upsert(rows)
    rng = np.random.default_rng(1)
    for q in unit(rng, 5):
        got = store.search(q, 5)
        want = exact(rows, q, 5)
        assert ids(got) == [w[0] for w in want]
        assert np.allclose([s.score for s in got], [w[1] for w in want], atol=1e-5)
        got = store.search(q, 4, "channel = 'image'")
        assert ids(got) == [w[0] for w in exact(rows, q, 4, "channel = 'image'")]
    assert store.search(rows[5].vector, 1)[0].row.id == rows[5].id
    assert store.search(rows[5].vector, 0) == []
    assert len(store.search(rows[5].vector, 1000)) == len(rows)


FILTERS = [
    "source LIKE 'a_b%'",
    "source LIKE 'a\\_b%'",
    "source LIKE '%\\\\docs%'",
    "source = 'C:\\docs\\it''s.txt'",
    "source NOT LIKE '%.pdf'",
    "text LIKE '%100\\%%'",
    "modality IN ('video', 'image') AND page != 2",
    "id NOT IN ('seg0:image', 'seg1:text')",
    "page >= 3 OR (t0 > 60 AND channel IN ('text'))",
    "NOT (start < 100) AND end > 0",
    "t1 <= 40.5 AND t1 > -1",
    "added_at > 1050.0",
    "segment_id = 'seg7' OR source_hash = 'hash-notes.md'",
    "channel = 'image' AND (source LIKE '2024/%' OR page = 1)",
]


def test_filters_select_the_same_rows_as_the_reference(store: VectorStore) -> None:
    rows = make_rows()
    store.upsert(rows)
    q = unit(np.random.default_rng(2), 1)[0]
    for where in FILTERS:
        want = exact(rows, q, len(rows), where)
        assert store.count(where) == len(want), where
        got = store.search(q, 5, where)
        assert ids(got) == [w[0] for w in want[:5]], where


def test_bad_input_gives_clear_errors(store: VectorStore) -> None:
    rows = make_rows(3)
    with pytest.raises(StoreError, match="16-d"):
        store.upsert([Row(**{**rows[0].__dict__, "vector": np.ones(8, np.float32)})])
    with pytest.raises(StoreError, match="non-finite"):
        store.upsert([Row(**{**rows[0].__dict__, "vector": np.full(DIM, np.nan, np.float32)})])
    with pytest.raises(StoreError, match="not a Row"):
        store.upsert([{"id": "x"}])  # type: ignore[list-item]
    with pytest.raises(StoreError, match="JSON object"):
        store.upsert([Row(**{**rows[0].__dict__, "meta": "[1]"})])
    assert store.count() == 0  # nothing landed
    store.upsert(rows)
    with pytest.raises(FilterError, match="unknown column 'nope'"):
        store.search(rows[0].vector, 3, "nope = 1")
    with pytest.raises(FilterError):
        store.delete("page = 1; DROP TABLE rows")
    with pytest.raises(QueryError, match="8 values"):
        store.search(np.ones(8, np.float32), 3)
    with pytest.raises(QueryError, match="zero"):
        store.search(np.zeros(DIM, np.float32), 3)
    assert store.count() == 3


def test_upsert_updates_in_place(store: VectorStore) -> None:
    rows = make_rows(10)
    store.upsert(rows)
    changed = Row(**{**rows[4].__dict__, "text": "updated text", "vector": rows[9].vector})
    store.upsert([changed])
    assert store.count() == 10
    top = store.search(rows[9].vector, 2)
    assert set(ids(top)) == {rows[4].id, rows[9].id}
    assert next(s for s in top if s.row.id == rows[4].id).row.text == "updated text"


def test_replace_source_swaps_rows(store: VectorStore) -> None:
    rows = make_rows(20)
    store.upsert(rows)
    src = "notes.md"
    old = [r for r in rows if r.source == src]
    kept = Row(**{**old[0].__dict__, "source_hash": "new-hash", "text": "kept but changed"})
    fresh = Row(
        **{
            **old[0].__dict__,
            "id": "fresh:text",
            "segment_id": "fresh",
            "source_hash": "new-hash",
            "vector": rows[0].vector,
        }
    )
    store.replace_source(src, [kept, fresh])
    assert store.count(f"source = '{src}'") == 2
    assert store.source_hash(src) == "new-hash"
    assert store.count() == 20 - len(old) + 2
    assert store.count(f"id = '{old[1].id}'") == 0
    hit = store.search(kept.vector, 1)[0]
    assert hit.row.id == kept.id and hit.row.text == "kept but changed"
    assert store.source_hash("a_b.pdf") == "hash-a_b.pdf"  # other sources untouched
    with pytest.raises(StoreError, match="of source"):
        store.replace_source(src, [rows[0]])
    store.replace_source(src, [])
    assert store.count(f"source = '{src}'") == 0 and store.source_hash(src) is None


def test_replace_sources_swaps_many_sources_at_once(store: VectorStore) -> None:
    rows = make_rows(20)
    store.upsert(rows)
    by_source: dict[str, list[Row]] = {}
    for r in rows:
        by_source.setdefault(r.source, []).append(r)
    a, b, c = "notes.md", "a_b.pdf", "brand-new.txt"
    new_a = [Row(**{**by_source[a][0].__dict__, "source_hash": "a2", "text": "changed"})]
    new_c = [Row(**{**by_source[a][1].__dict__, "id": "c1:text", "segment_id": "c1", "source": c, "source_hash": "c1"})]
    store.replace_sources([(a, new_a), (b, []), (c, new_c)])
    assert store.count(f"source = '{a}'") == 1 and store.source_hash(a) == "a2"
    assert store.count(f"source = '{b}'") == 0 and store.source_hash(b) is None
    assert store.count(f"source = '{c}'") == 1 and store.source_hash(c) == "c1"
    assert store.count() == 20 - len(by_source[a]) - len(by_source[b]) + 2
    assert store.search(new_a[0].vector, 1)[0].row.text == "changed"
    assert store.source_hash("axb.pdf") == "hash-axb.pdf"  # other sources untouched
    with pytest.raises(StoreError, match="of source"):
        store.replace_sources([(a, new_a), (b, [rows[1]])])  # a bad file: nothing of the batch is written
    assert store.source_hash(a) == "a2" and store.count(f"source = '{b}'") == 0


def test_delete_returns_counts(store: VectorStore) -> None:
    rows = make_rows(30)
    store.upsert(rows)
    n = sum(r.source == "axb.pdf" for r in rows)
    assert store.delete("source = 'axb.pdf'") == n
    assert store.delete("source = 'axb.pdf'") == 0
    assert store.count() == 30 - n
    assert all(s.row.source != "axb.pdf" for s in store.search(rows[1].vector, 30))
    assert store.delete("page >= 1 OR t0 >= 0") == sum(r.source in ("a_b.pdf", "2024/talk.mp4") for r in rows)


def test_sources_summary_and_hashes(store: VectorStore) -> None:
    rows = make_rows(15)
    store.upsert(rows)
    infos = {s.source: s for s in store.sources()}
    assert set(infos) == {r.source for r in rows}
    talk = infos["2024/talk.mp4"]
    mine = [r for r in rows if r.source == "2024/talk.mp4"]
    assert talk.rows == len(mine) and talk.segments == len({r.segment_id for r in mine})
    assert talk.modalities == ("video",) and talk.source_hash == "hash-2024/talk.mp4"
    assert talk.added_at == max(r.added_at for r in mine)
    assert store.source_hash("missing.txt") is None
    odd = Row(**{**mine[0].__dict__, "id": "odd:text", "source_hash": "other"})
    store.upsert([odd])  # rows of one source disagreeing on the hash (an interrupted replace)
    assert store.source_hash("2024/talk.mp4") is None


def test_thumbnails_round_trip(store: VectorStore) -> None:
    rows = make_rows(6)
    store.upsert(rows)
    assert store.thumbnail("seg0") == THUMB
    assert store.thumbnail("seg1") is None
    assert store.thumbnail("nope") is None
    by_id = {s.row.id: s.row.to_hit(s.score) for s in store.search(rows[0].vector, 6)}
    assert by_id["seg0:image"].has_thumbnail and not by_id["seg1:text"].has_thumbnail
    assert by_id["seg0:image"].meta == {"title": "t0"}


def test_sample_vectors(store: VectorStore) -> None:
    rows = make_rows(30)
    store.upsert(rows)
    stored = np.stack([r.vector for r in rows if r.channel == "text"])
    assert store.count("channel = 'text'") == len(stored)
    assert (
        store.count("channel IN ('text', 'image', 'audio')") == 30 and store.count("channel = 'audio'") == 0
    )
    sample = store.sample_vectors("text", 5, seed=3)
    assert sample.shape == (5, DIM)
    assert all(np.abs(stored - v).max(axis=1).min() < 1e-6 for v in sample)
    assert np.array_equal(sample, store.sample_vectors("text", 5, seed=3))
    assert store.sample_vectors("text", 1000).shape == (len(stored), DIM)
    assert store.sample_vectors("audio", 5).shape[0] == 0


def test_sample_vectors_do_not_depend_on_row_ids(store: VectorStore) -> None:
    """The same files in another folder (other row ids and sources) give the same calibration sample."""
    rows = make_rows(30)
    store.upsert(rows)
    here = store.sample_vectors("text", 6, seed=1)
    store.delete("id != ''")
    moved = [Row(**{**r.__dict__, "id": f"moved-{r.id}", "segment_id": f"moved-{r.segment_id}",
                    "source": f"elsewhere/{r.source}"}) for r in reversed(rows)]
    store.upsert(moved)
    assert store.count("channel = 'text'") == 20
    there = store.sample_vectors("text", 6, seed=1)
    assert here.shape == (6, DIM) and np.allclose(here, there, atol=1e-6)


def test_meta_round_trip_and_reopen(opener: Callable[..., VectorStore]) -> None:
    store = opener()
    assert store.read_meta() is None
    rows = make_rows(25)
    store.upsert(rows)
    store.write_meta({"space": {"dim": DIM, "name": "x"}, "format": 1})
    store.write_meta({"space": {"dim": DIM, "name": "y"}, "format": 1})
    with pytest.raises(StoreError, match="JSON"):
        store.write_meta({"bad": object()})
    q = rows[3].vector
    before = [(s.row.id, round(s.score, 5)) for s in store.search(q, 5, "channel = 'text'")]
    store.close()
    again = opener(None)  # dim=None: the stored dim
    assert again.dim == DIM
    assert again.read_meta() == {"space": {"dim": DIM, "name": "y"}, "format": 1}
    assert again.count() == 25
    assert [(s.row.id, round(s.score, 5)) for s in again.search(q, 5, "channel = 'text'")] == before
    assert again.thumbnail("seg0") == THUMB
    assert again.text_search("zebra", 1)[0].row.id == rows[7].id


def test_text_search_finds_keywords(store: VectorStore) -> None:
    rows = make_rows(40)
    store.upsert(rows)
    found = store.text_search("zebra", 5)
    assert ids(found)[0] == rows[7].id and found[0].score > 0
    assert store.text_search("ZEBRA crossing", 5)[0].row.id == rows[7].id
    assert store.text_search("zebra", 5, "source != 'a_b.pdf'") == [] or rows[7].source != "a_b.pdf"
    assert store.text_search("zebra", 5, f"id != '{rows[7].id}'") == []
    assert store.text_search("   ", 5) == []
    assert store.text_search("qwertyuiop", 5) == []
    store.upsert([Row(**{**rows[0].__dict__, "id": "late:text", "text": "a late zebra"})])
    assert "late:text" in ids(store.text_search("zebra", 5))  # new rows are searchable at once


def test_text_search_finds_what_else_was_heard(store: VectorStore) -> None:
    """``Row.heard`` (words a recogniser may also have heard) is full-text searchable, filtered like
    ``text``, never shown; a row matched in both adds its two scores (``common.most_fields``)."""
    rows = make_rows(40)
    heard = Row(**{**rows[5].__dict__, "text": "to ken on a branch", "heard": "toucan two can"})
    store.upsert([*rows[:5], heard, *rows[6:]])
    found = store.text_search("toucan", 5)
    assert ids(found) == [heard.id] and found[0].score > 0
    assert found[0].row.text == "to ken on a branch" and found[0].row.heard == ""  # what was heard first is shown
    assert ids(store.text_search("branch", 5)) == [heard.id]  # the transcript's own words still count
    both = store.text_search("toucan branch", 5)
    assert ids(both) == [heard.id]  # in both indexes: the row once, with the sum of its two matches
    assert both[0].score > max(store.text_search("branch", 5)[0].score, found[0].score)
    assert store.text_search("toucan", 5, f"id != '{heard.id}'") == []
    assert store.text_search("toucan", 5, "channel = 'image'") == ([] if heard.channel != "image" else [heard.id])
    store.upsert([Row(**{**rows[1].__dict__, "id": "late:text", "text": "birds", "heard": "a late toucan"})])
    assert set(ids(store.text_search("toucan", 5))) == {heard.id, "late:text"}  # new rows at once


def test_text_search_tells_options_apart(store: VectorStore) -> None:
    """A row's option tokens (``option_terms``, written to ``Row.heard`` by ``search_words``) survive every
    store's tokenizer whole: ``-C`` finds the row that names ``-C``, not the one that names ``-c``, though a
    tokenizer reads both as the letter c."""
    named = _rows_saying(store, {5: "-c: count the lines", 6: "-C DIR: go into DIR first",
                                 7: "--dry-run: show the steps, change nothing"})
    for i, option in ((5, "-c"), (6, "-C"), (7, "--dry-run")):
        _finds_first(store, with_option_terms(f"what does {option} do"), named[i])
    assert named[5].id not in ids(store.text_search(with_option_terms("-C"), 5))


def test_text_search_finds_an_operator(store: VectorStore) -> None:
    """A row's operator tokens (``operators``, written to ``Row.heard`` by ``search_words``) survive every store's
    tokenizer whole: "What does the ? operator do?" finds the row of ``?``, which no word of the question names
    (a tokenizer drops ``?``, ``%`` and ``!=`` as punctuation)."""
    named = _rows_saying(store, {5: "? | expr? | Error propagation", 6: "% | expr % expr | Arithmetic remainder",
                                 7: "!= | expr != expr | Nonequality comparison", 8: "Precedence decides which one binds first."})
    for i, operator in ((5, "?"), (6, "%"), (7, "!=")):
        _finds_first(store, with_operator_terms(f"What does the {operator} operator do?"), named[i])


def _rows_saying(store: VectorStore, said: dict[int, str]) -> list[Row]:
    """40 rows upserted, the ``i``-th saying ``said[i]`` with its second full-text column as ``search_words``
    writes it (its options' and operators' tokens)."""
    named = [Row(**{**r.__dict__, "text": said[i], "heard": search_words(said[i], "")}) if i in said else r
             for i, r in enumerate(make_rows(40))]
    store.upsert(named)
    return named


def _finds_first(store: VectorStore, query: str, row: Row) -> None:
    found = store.text_search(query, 5)
    assert found and found[0].row.id == row.id, (query, [(s.row.text, s.score) for s in found])


def test_other_dim_is_a_space_mismatch(opener: Callable[..., VectorStore]) -> None:
    opener().upsert(make_rows(3))
    with pytest.raises(SpaceMismatch, match="16-d"):
        opener(8)

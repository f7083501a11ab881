"""Milvus specifics: locations, the Python BM25 fallback, LIKE re-checks."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mmrag.errors import StoreError
from mmrag.stores import filters as F
from mmrag.stores.base import Row

pytest.importorskip("pymilvus")
from mmrag.stores.milvus import MilvusStore, milvus_address

DIM = 8


def test_milvus_address() -> None:
    assert milvus_address("milvus:./x.db") == ("./x.db", "mmrag")
    assert milvus_address("./x.db#Team_1") == ("./x.db", "Team_1")
    assert milvus_address("milvus://10.0.0.5:19530#docs") == ("http://10.0.0.5:19530", "docs")
    assert milvus_address("https://host:443") == ("https://host:443", "mmrag")
    for bad in ("x.db#1abc", "x.db#a-b", "milvus:#name"):
        with pytest.raises(StoreError):
            milvus_address(bad)


def test_backslash_like_is_rendered_loosely_and_rechecked() -> None:
    node = F.parse("source LIKE '%\\\\docs%'")
    assert not F.milvus_is_exact(node)
    assert F.to_milvus(node) == 'source like "%_docs%"'
    assert F.to_milvus(F.parse("source NOT LIKE '%\\\\docs%'")) == '(not (id == ""))'
    assert F.to_milvus(F.parse("NOT source NOT LIKE 'a\\\\%'")) == '(not ((not (source like "a_%"))))'
    assert F.milvus_is_exact(F.parse("source = 'C:\\docs' AND source LIKE 'a\\_%'"))


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    s = MilvusStore(f"milvus:{tmp_path_factory.mktemp('mv') / 'm.db'}#spec", DIM)
    rng = np.random.default_rng(0)
    vecs = rng.standard_normal((6, DIM)).astype(np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    texts = ["The Zebra crossing", "zebra zebra stripes", "a horse", "", "Cats and dogs", "dogs only"]
    sources = ["C:\\docs\\a.txt", "C:\\docsx\\b.txt", "Cdocs.txt", "x.png", "y.txt", "z.txt"]
    s.upsert(
        [
            Row(
                id=f"r{i}",
                segment_id=f"r{i}",
                source=sources[i],
                source_hash="h",
                modality="text",
                channel="text",
                vector=vecs[i],
                text=texts[i],
            )
            for i in range(6)
        ]
    )
    yield s
    s.close()


def test_rechecked_filters_are_exact(store: MilvusStore) -> None:
    assert store.count("source LIKE '%\\\\docs\\\\%'") == 1
    assert store.count("source NOT LIKE '%\\\\docs%'") == 4
    q = np.ones(DIM, np.float32)
    assert {s.row.id for s in store.search(q, 6, "source LIKE 'C:\\\\docs%'")} == {"r0", "r1"}


def test_python_text_fallback_ranks_by_bm25(store: MilvusStore, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(store, "_bm25", False)
    found = store.text_search("zebra", 5)
    assert [s.row.id for s in found] == ["r1", "r0"] and found[0].score > found[1].score > 0
    assert [s.row.id for s in store.text_search("Dogs", 5, "source != 'z.txt'")] == ["r4"]
    assert store.text_search("unicorn", 5) == []


def test_oversized_fields_are_cut_to_fit(store: MilvusStore, tmp_path: Path) -> None:
    big = "é" * 40_000  # 80,000 bytes of UTF-8
    store.upsert(
        [
            Row(
                id="big",
                segment_id="big",
                source="big.txt",
                source_hash="h",
                modality="text",
                channel="text",
                vector=np.ones(DIM, np.float32) / np.sqrt(DIM),
                text=big,
                thumbnail=b"\x00" * 60_000,
            )
        ]
    )
    hit = store.search(np.ones(DIM, np.float32), 1, "id = 'big'")[0]
    assert len(hit.row.text.encode("utf-8")) <= 65_535 and hit.row.text == big[: len(hit.row.text)]
    assert store.thumbnail("big") is None
    store.delete("id = 'big'")


def test_a_released_collection_is_loaded_on_open_with_progress(
    milvus_server: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The 20k-row reopen bug: a server keeps a collection released until someone loads it."""
    import logging

    import mmrag.stores.milvus as mv

    location = f"{milvus_server}#released"
    rng = np.random.default_rng(3)
    vecs = rng.standard_normal((40, DIM)).astype(np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    first = MilvusStore(location, DIM)
    first.upsert([Row(id=f"x{i}", segment_id=f"x{i}", source="a.txt", source_hash="h", modality="text",
                      channel="text", vector=vecs[i], text=f"row {i}") for i in range(40)])
    first.close()
    admin = MilvusStore(location, None)
    admin._client.release_collection(admin.rows_name)
    admin.close()
    monkeypatch.setattr(mv, "LOAD_PROGRESS_EVERY_S", 0.0)
    with caplog.at_level(logging.INFO, logger="mmrag.progress"):
        again = MilvusStore(location, None)
    try:
        assert any("loaded Milvus collection released_rows" in r.getMessage() for r in caplog.records)
        assert again.search(vecs[7], 1)[0].row.id == "x7" and again.count() == 40
    finally:
        again.close()


def test_row_terms_are_distinct_lowercased_and_bounded() -> None:
    from mmrag.stores.milvus_schema import TERM_BYTES, TERMS_MAX, row_terms

    assert row_terms("The Zebra, the zebra! ZEBRA crossing") == ["the", "zebra", "crossing"]
    assert row_terms("") == []
    many = " ".join(f"w{i}" for i in range(TERMS_MAX + 50))
    assert len(row_terms(many)) == TERMS_MAX and row_terms(many)[0] == "w0"
    assert row_terms("ok " + "x" * (TERM_BYTES + 1)) == ["ok"]


def test_term_ids_are_stable_64_bit_ids_of_the_distinct_lowercased_words() -> None:
    from mmrag.stores.milvus_schema import TERM_BYTES, TERMS_MAX, row_term_ids, term_id

    # BLAKE2b-8 of the UTF-8 word, little-endian, signed: the same in every process (unlike hash())
    assert term_id("zebra") == 1212366760143743210 and term_id("café") == term_id("café")
    assert row_term_ids("The Zebra, the zebra! ZEBRA crossing") == [term_id("the"), term_id("zebra"), term_id("crossing")]
    assert all(-(2**63) <= t < 2**63 for t in row_term_ids("a b c")) and row_term_ids("") == []
    assert row_term_ids("ok " + "x" * (TERM_BYTES + 1)) == [term_id("ok"), term_id("x" * (TERM_BYTES + 1))]
    assert len(row_term_ids(" ".join(f"w{i}" for i in range(TERMS_MAX + 50)))) == TERMS_MAX


def test_a_collection_with_the_older_words_array_is_still_searched_by_its_words(milvus_server: str) -> None:
    """Collections made before word ids keep a VARCHAR ``terms`` array: the store reads it as it is."""
    from pymilvus import MilvusClient

    from mmrag.config import Config
    from mmrag.stores.milvus_schema import TERMS_FIELD, create_rows

    client = MilvusClient(uri=milvus_server)
    try:
        create_rows(client, "older_rows", DIM, Config().store, with_bm25=False, terms=TERMS_FIELD)
    finally:
        client.close()
    store = MilvusStore(f"{milvus_server}#older", None)
    try:
        assert (store._bm25, store._terms) == (False, "terms")
        texts = ["zebra zebra crossing", "a zebra", "budget meeting", "Zebra crossing budget"]
        store.upsert([Row(id=f"o{i}", segment_id=f"o{i}", source="o.txt", source_hash="h", modality="text",
                          channel="text", vector=np.eye(DIM, dtype=np.float32)[i], text=t) for i, t in enumerate(texts)])
        entity = store._client.get("older_rows", ids=["o3"], output_fields=[TERMS_FIELD])[0]
        assert list(entity[TERMS_FIELD]) == ["zebra", "crossing", "budget"]  # words, as that layout keeps them
        found = store.text_search("zebra crossing", 5)
        assert [s.row.id for s in found][:2] in (["o0", "o3"], ["o3", "o0"]) and found[-1].row.id == "o1"
        assert [s.row.id for s in store.text_search("budget", 5)] in (["o2", "o3"], ["o3", "o2"])
    finally:
        store.close()


def test_a_server_without_bm25_selects_text_candidates_by_terms_not_by_reading_every_text(milvus_server: str) -> None:
    """Milvus 2.3.5 has no BM25: the rows keep a terms array and the server picks the candidates."""
    rng = np.random.default_rng(5)
    vecs = rng.standard_normal((60, DIM)).astype(np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    texts = ["a zebra crossing", "zebra zebra stripes crossing", "Zebra alone", "Crème brûlée café"] + [
        f"filler text {i}" for i in range(56)]
    store = MilvusStore(f"{milvus_server}#terms", DIM)
    try:
        assert not store._bm25 and store._terms == "term_ids"
        store.upsert([Row(id=f"t{i}", segment_id=f"t{i}", source=f"d{i % 2}.txt", source_hash="h", modality="text",
                          channel="text", vector=vecs[i], text=texts[i]) for i in range(60)])
        from mmrag.stores.milvus_schema import row_term_ids

        stored = store._client.get("terms_rows", ids=["t1"], output_fields=["term_ids"])[0]["term_ids"]
        assert list(stored) == row_term_ids("zebra zebra stripes crossing")  # ids of its distinct words
        fetched: list[int] = []
        query = store._client.query

        def counting(*args, **kwargs):  # type: ignore[no-untyped-def]
            got = query(*args, **kwargs)
            if "text" in (kwargs.get("output_fields") or []):
                fetched.append(len(got))
            return got

        store._client.query = counting
        found = store.text_search("zebra crossing", 5)
        # rows with both words first by BM25; the one with only "zebra" after them
        assert [s.row.id for s in found][:2] in (["t1", "t0"], ["t0", "t1"]) and found[-1].row.id == "t2"
        assert found[0].score >= found[1].score > found[2].score > 0
        assert found[0].row.text in texts and found[0].row.source in ("d0.txt", "d1.txt")
        assert sum(fetched) <= 3  # only the rows holding a query word came back, not 60 texts
        assert {s.row.id for s in store.text_search("ZEBRA", 5, "source = 'd0.txt'")} == {"t0", "t2"}
        assert store.text_search("unicorn", 5) == []
        assert [s.row.id for s in store.text_search("CAFÉ brûlée", 5)] == ["t3"]  # non-ASCII words in the filter
    finally:
        store._client.query = query
        store.close()



def _described_on_open(location: str, monkeypatch: pytest.MonkeyPatch) -> tuple[MilvusStore, list[str]]:
    """Open ``location`` with the real client's describe_collection counted (a spy: it calls through)."""
    from pymilvus import MilvusClient

    asked: list[str] = []
    real = MilvusClient.describe_collection

    def counting(self, name, *args, **kwargs):  # type: ignore[no-untyped-def]
        asked.append(name)
        return real(self, name, *args, **kwargs)

    monkeypatch.setattr(MilvusClient, "describe_collection", counting)
    store = MilvusStore(location, None)
    monkeypatch.setattr(MilvusClient, "describe_collection", real)
    return store, asked


def test_opening_reads_the_rows_schema_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    loc = f"milvus:{tmp_path / 'm.db'}#once"
    MilvusStore(loc, DIM).close()
    store, asked = _described_on_open(loc, monkeypatch)
    try:
        assert asked == ["once_rows"] and (store.dim, store._bm25, store._terms) == (DIM, True, "")
    finally:
        store.close()


def test_a_server_without_bm25_learns_of_its_terms_from_the_one_schema_read(
    milvus_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    loc = f"{milvus_server}#terms_once"
    made = MilvusStore(loc, DIM)
    try:
        assert not made._bm25 and made._terms == "term_ids"  # created without BM25: with the word-ids array
        made.upsert([Row(id="a", segment_id="a", source="a.txt", source_hash="h", modality="text", channel="text",
                         vector=np.eye(DIM, dtype=np.float32)[0], text="zebra crossing")])
    finally:
        made.close()
    store, asked = _described_on_open(loc, monkeypatch)
    try:
        assert asked == ["terms_once_rows"] and (store.dim, store._bm25, store._terms) == (DIM, False, "term_ids")
        assert [s.row.id for s in store.text_search("zebra", 3)] == ["a"]  # the terms path answers
    finally:
        store.close()


def test_a_second_local_server_starts_beside_a_running_one(milvus_server: str, tmp_path: Path) -> None:
    """Each LocalMilvus gives its embedded etcd its own peer port: the fixed default 2380 made a second
    server on the machine (a test run beside a bench) fail at start with "address already in use"."""
    from pymilvus import MilvusClient

    from mmrag.stores.milvus_server import LocalMilvus

    with LocalMilvus(tmp_path / "second") as second:
        assert second.uri != milvus_server
        client = MilvusClient(uri=second.uri)
        try:
            client.create_collection("only_here", dimension=4)
            assert "only_here" in client.list_collections()
        finally:
            client.close()
        peer = (tmp_path / "second" / "embedEtcd.yaml").read_text()
        assert "listen-peer-urls: http://127.0.0.1:" in peer and ":2380" not in peer
    assert (tmp_path / "second" / "bin").is_dir()
    second.free_disk()  # stopped: its unpacked binaries and data go, its logs stay
    assert not (tmp_path / "second" / "bin").exists() and not (tmp_path / "second" / "data").exists()
    assert (tmp_path / "second" / "launcher.log").is_file()
    first = MilvusClient(uri=milvus_server)
    try:
        assert "only_here" not in first.list_collections()  # two servers, two sets of data
    finally:
        first.close()

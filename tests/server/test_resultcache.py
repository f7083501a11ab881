"""The /search result cache: a repeat is answered from memory, byte for byte what a fresh search
answers, and an add, a remove or a new feedback judgement (in this process or another) makes the
next answer fresh. Real server processes, real MiniLM, a real LanceDB folder."""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from tests.server.conftest import TOKEN, Server, cli, start_server, stop_server

from mmrag.feedback import FeedbackLog, Judgement
from mmrag.server.resultcache import ResultCache, search_key

NOTES = {
    "lighthouse.md": "The lighthouse keeper paints the fishing boats every summer in the harbour.",
    "bread.md": "Feed the sourdough starter, let the dough rise overnight and bake the bread hot.",
    "rocket.md": "The rocket launch was delayed by a storm; the astronauts waited on the pad.",
    "violin.md": "A violin concerto in the old library, the orchestra tuned by candle light.",
    "harbour.md": "Harbour office report: ships arrived on time, the boats were repainted blue.",
}
QUERY = "a keeper painting boats in the harbour"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


# ------------------------------------------------------------------ the LRU and the feedback version
def test_lru_keeps_the_recent_within_both_bounds() -> None:
    cache = ResultCache(max_entries=3, max_bytes=100)
    for i in range(4):
        cache.put(("k", i), b"x" * 10)
    assert cache.get(("k", 0)) is None and cache.get(("k", 3)) == b"x" * 10
    assert len(cache) == 3
    cache.get(("k", 1))  # used: now the most recent
    cache.put(("k", 9), b"y" * 75)  # 30 + 75 > 100 bytes: the least recent ones go
    assert cache.get(("k", 1)) == b"x" * 10 and cache.get(("k", 2)) is None and cache.get(("k", 9)) == b"y" * 75
    cache.put(("big",), b"z" * 101)  # larger than the whole cache: not kept, nothing evicted for it
    assert cache.get(("big",)) is None and cache.get(("k", 9)) is not None
    assert cache.stats()["bytes"] <= 100
    off = ResultCache(max_entries=0, max_bytes=100)
    off.put(("k",), b"x")
    assert not off.enabled and off.get(("k",)) is None
    assert search_key(None, "q", 10, None, None) is None  # an index without a version is never cached
    assert search_key((1,), "q", 10, "", "") == search_key((1,), "q", 10, None, None)


def test_feedback_version_moves_with_judgements_here_and_from_another_process(tmp_path: Path) -> None:
    path = tmp_path / "mmrag-feedback.jsonl"
    log = FeedbackLog(path)
    v0 = log.version()
    assert log.version() == v0  # nothing changed: same version
    log.record([Judgement("q", "a" * 24, "/x.md", 1, (1.0, 0.0))])
    v1 = log.version()
    assert v1 != v0 and len(log) == 1
    other = FeedbackLog(path)  # another process appends to the same file
    time.sleep(0.01)
    other.record([Judgement("q", "b" * 24, "/y.md", -1, (0.0, 1.0))])
    v2 = log.version()
    assert v2 != v1
    assert [j.segment_id for j in log.items] == ["a" * 24, "b" * 24]  # read in from the file
    log.clear()
    assert log.version() not in (v0, v1, v2) and len(log) == 0


# ------------------------------------------------------------------ a real server
@pytest.fixture(scope="module")
def notes_index(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("notes")
    docs = root / "docs"
    docs.mkdir()
    for name, text in NOTES.items():
        (docs / name).write_text(text + "\n", encoding="utf-8")
    idx = root / "idx"
    done = cli("add", str(docs), "--index", str(idx), "--space", "minilm", "--json")
    assert done.returncode == 0, done.stderr[-3000:]
    return docs, idx


@pytest.fixture(scope="module")
def cached_server(notes_index: tuple[Path, Path]) -> Iterator[Server]:
    s = start_server(notes_index[1])
    yield s
    stop_server(s)


def search(server: Server, headers: dict[str, str] | None = None, **form: str) -> httpx.Response:
    r = httpx.post(server.url + "/search", data={"q": QUERY, "k": "5"} | form, headers=headers, timeout=300)
    assert r.status_code == 200, r.text
    return r


def sources(r: httpx.Response) -> list[str]:
    return [Path(h["source"]).name for h in r.json()["hits"]]


REQUESTS = [
    {},
    {"k": "3"},
    {"q": "bread dough rising overnight", "k": "2"},
    {"q": "storm over the launch pad", "modality": "text"},
    {"q": "boats", "where": "source LIKE '%harbour%'"},
]


def test_a_repeat_is_a_cache_hit_equal_to_a_fresh_search(cached_server: Server, notes_index: tuple[Path, Path],
                                                         tmp_path: Path) -> None:
    first = [search(cached_server, **form) for form in REQUESTS]
    assert [r.headers["x-mmrag-cache"] for r in first] == ["miss"] * len(REQUESTS)
    again = [search(cached_server, **form) for form in REQUESTS]  # the fast path (no token, plain form)
    tokened = [search(cached_server, AUTH, **form) for form in REQUESTS]  # through FastAPI's route
    for a, b, c in zip(first, again, tokened):
        assert b.headers["x-mmrag-cache"] == "hit" and c.headers["x-mmrag-cache"] == "hit"
        assert a.content == b.content == c.content
    assert sources(first[0])[0] == "lighthouse.md" and len(first[1].json()["hits"]) == 3
    assert sources(first[4]) == ["harbour.md"]  # the filter is part of the key: not the unfiltered answer
    assert first[0].content != first[1].content  # k is part of the key too

    # a second server on the same index with the cache off answers the same bytes
    cfg = tmp_path / "nocache.toml"
    cfg.write_text("[serve]\nresult_cache = 0\n", encoding="utf-8")
    fresh_server = start_server(notes_index[1], "--config", str(cfg))
    try:
        fresh = [search(fresh_server, **form) for form in REQUESTS]
        assert {r.headers["x-mmrag-cache"] for r in fresh} == {"off"}
        assert [r.content for r in fresh] == [r.content for r in again]
    finally:
        stop_server(fresh_server)
        (notes_index[1] / "server.json").unlink(missing_ok=True)  # the other server is still there


def test_add_and_remove_make_the_next_answer_fresh(cached_server: Server, notes_index: tuple[Path, Path],
                                                   tmp_path: Path) -> None:
    _docs, idx = notes_index
    search(cached_server)
    assert search(cached_server).headers["x-mmrag-cache"] == "hit"
    new = tmp_path / "keeper.md"
    new.write_text("The keeper painted every boat in the harbour with new paint, a keeper's summer job.\n", encoding="utf-8")
    added = httpx.post(cached_server.url + "/add", data={"path": str(new)}, headers=AUTH, timeout=600)
    assert added.status_code == 200 and added.json()["added"], added.text  # this server wrote
    after_add = search(cached_server)
    assert after_add.headers["x-mmrag-cache"] == "miss"
    assert "keeper.md" in sources(after_add)
    assert search(cached_server).headers["x-mmrag-cache"] == "hit"

    done = cli("remove", str(new), "--index", str(idx))  # another process writes the index
    assert done.returncode == 0, done.stderr[-3000:]
    after_remove = search(cached_server)  # searched (it re-reads the index), and not kept: "off"
    assert after_remove.headers["x-mmrag-cache"] == "off"
    assert "keeper.md" not in sources(after_remove)
    again = [search(cached_server) for _ in range(2)]
    assert [r.headers["x-mmrag-cache"] for r in again] == ["miss", "hit"]
    assert again[0].content == again[1].content and sources(again[1]) == sources(after_remove)


def test_a_new_judgement_makes_the_next_answer_fresh(cached_server: Server, notes_index: tuple[Path, Path]) -> None:
    docs, idx = notes_index
    q = "boats repainted in summer"
    before = search(cached_server, q=q)
    assert search(cached_server, q=q).headers["x-mmrag-cache"] == "hit"
    order = sources(before)
    right = next(name for name in order[1:] if name != order[0])
    done = cli("feedback", q, "--wrong", str(docs / order[0]), "--right", str(docs / right), "--index", str(idx))
    assert done.returncode == 0, done.stderr[-3000:]
    assert (idx.parent / "idx" / "mmrag-feedback.jsonl").exists() or any(idx.parent.glob("*feedback*"))
    after = search(cached_server, q=q)
    assert after.headers["x-mmrag-cache"] == "miss"
    assert sources(after)[0] == right, (order, sources(after))  # Rocchio moved the query to the judged-right note
    assert search(cached_server, q=q).headers["x-mmrag-cache"] == "hit"
    health = httpx.get(cached_server.url + "/healthz").json()["result_cache"]
    assert health["hits"] >= 3 and health["entries"] >= 3
    json.dumps(health)


def test_identical_searches_at_once_share_one_search(cached_server: Server) -> None:
    """Six clients ask a new text at the same moment: one search runs; the others get its answer
    (``shared``: they arrived while it ran) or the cached one (``hit``: after it ended)."""
    import threading

    q = "candle light over a violin concerto"
    start = threading.Barrier(6)
    answers: list[httpx.Response] = []

    def one() -> None:
        start.wait()
        answers.append(search(cached_server, q=q))

    before = httpx.get(cached_server.url + "/healthz").json()["result_cache"]
    threads = [threading.Thread(target=one) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    after = httpx.get(cached_server.url + "/healthz").json()["result_cache"]
    kinds = sorted(r.headers["x-mmrag-cache"] for r in answers)
    assert len(answers) == 6 and kinds.count("miss") == 1 and set(kinds) <= {"miss", "shared", "hit"}, kinds
    assert len({r.content for r in answers}) == 1 and sources(answers[0])[0] == "violin.md"
    assert after["misses"] - before["misses"] == 1 and after["shared"] - before["shared"] == kinds.count("shared")


def test_nothing_is_cached_without_an_index_version(tmp_path: Path) -> None:
    """An engine whose index has no stamp (Milvus: other writers are invisible to a stat) gives no key."""
    from mmrag.config import Config
    from mmrag.engine import Engine

    class NoStamp(Engine):
        def _disk_stamp(self):  # type: ignore[no-untyped-def]  # what a Milvus index returns
            return None

    from mmrag.stores import open_store

    cfg = Config(index=str(tmp_path / "idx"))
    engine = NoStamp(cfg, open_store(cfg.index, 8, cfg), None)
    try:
        assert engine.result_version() is None
    finally:
        engine.close()
    shutil.rmtree(tmp_path / "idx", ignore_errors=True)

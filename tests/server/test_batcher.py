"""Micro-batched query embeddings give the same hits as one query at a time.

Real engine (MiniLM, the starter image tower), a copy of the served LanceDB
index; the batched engine starts with an empty query cache so every vector is
computed by the batcher's one encoder call, and the reference engine has no
cache at all (each query embedded alone).
"""

from __future__ import annotations

import shutil
import threading
from pathlib import Path

import numpy as np
import pytest

from mmrag.server.batcher import QueryBatcher, text_keys
from mmrag.types import Channel

QUERIES = [
    "a tabby cat",
    "fog horn repairs budget",
    "what does the lighthouse keeper paint?",
    "rabbit documentary about forests",
    "sourdough starter",
    "harbour ships -budget",  # a negative term: its own vector, subtracted
    "a tabby cat",  # asked twice at once: embedded once
    "rocket launch at night",
]


def test_text_keys_are_what_build_query_embeds() -> None:
    assert text_keys("striped shirt -red -blue") == ["striped shirt", "red", "blue"]
    assert text_keys("  cats  ") == ["cats"]
    assert text_keys("-only") == ["only"]


@pytest.fixture(scope="module")
def engines(index: Path, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    import mmrag
    from mmrag.sidecars import sidecar_path

    copy = tmp_path_factory.mktemp("batch") / "idx"
    shutil.copytree(index, copy, ignore=shutil.ignore_patterns("server.json", "*.lock"))
    cache_file = sidecar_path(str(copy), "mmrag-query-cache.sqlite")
    if cache_file is not None:
        cache_file.unlink(missing_ok=True)
    single = mmrag.open(str(index), search__query_cache=False, generate__backend="extractive")
    batched = mmrag.open(str(copy), generate__backend="extractive")
    yield single, batched
    single.close()
    batched.close()


def test_batched_results_equal_unbatched_results(engines) -> None:  # type: ignore[no-untyped-def]
    single, batched = engines
    expected = {q: single.search(q, k=8) for q in QUERIES}
    vectors = {q: single.embed_query(q).vectors for q in QUERIES}

    batcher = QueryBatcher(batched, window_s=0.05)
    with batcher._cond:  # requests arriving together: the worker takes them all at once when this lock opens
        pending = [batcher.submit(q) for q in QUERIES]
    for fut in pending:
        fut.result(timeout=300)
    got = {i: [query, batched.search(query=query, k=8)] for i, query in enumerate(batcher.query(q) for q in QUERIES)}
    batcher.close()
    distinct = {k for q in QUERIES for k in text_keys(q)}
    assert batcher.batches == 1 and batcher.embedded == len(distinct)  # one encoder call for all of them

    for i, q in enumerate(QUERIES):
        query, hits = got[i]
        for name, v in vectors[q].items():  # float32 rounding (the batch pads to its longest text)
            assert np.abs(query.vectors[name] - v).max() < 1e-5, (q, name)
        want = expected[q]
        assert [h.segment_id for h in hits] == [h.segment_id for h in want], q
        assert [h.found_by for h in hits] == [h.found_by for h in want], q
        np.testing.assert_allclose([h.score for h in hits], [h.score for h in want], rtol=0, atol=1e-4, err_msg=q)
    assert got[0][1][0].source.endswith("tabby-cat.png")


def test_cached_texts_skip_the_batcher(engines) -> None:  # type: ignore[no-untyped-def]
    _, batched = engines
    batcher = QueryBatcher(batched, window_s=0.01)
    try:
        assert batcher.submit("a tabby cat").done()  # embedded by the test above: in the cache already
        fresh = "an entirely new question about violins"
        fut = batcher.submit(fresh)
        fut.result(timeout=120)
        assert batched.query_cache().peek_vector(Channel.TEXT.value, fresh) is not None
        assert batcher.batches == 1
    finally:
        batcher.close()


def test_concurrent_http_searches_are_batched_and_right(server, corpus) -> None:  # type: ignore[no-untyped-def]
    """Twelve requests at once, each a text this server never saw: all answered, each right, and the
    server's encoder calls grew by at most as many texts as were new (fewer when they met in a batch)."""
    import httpx

    topics = {"a tabby cat sitting": corpus.cat, "fog horn repairs over budget": corpus.pdf,
              "rabbit documentary about forests": corpus.video, "feed the sourdough starter": corpus.note}
    asked = [f"{text} {'please ' * i}".strip() for i in range(3) for text in topics]
    before = httpx.get(server.url + "/healthz").json()["query_batches"]
    start = threading.Barrier(len(asked))
    answers: dict[str, dict] = {}  # type: ignore[type-arg]

    def one(q: str) -> None:
        start.wait()
        answers[q] = httpx.post(server.url + "/search", data={"q": q, "k": "5"}, timeout=300).json()

    threads = [threading.Thread(target=one, args=(q,)) for q in asked]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=600)
    after = httpx.get(server.url + "/healthz").json()["query_batches"]
    texts, calls = after["texts"] - before["texts"], after["calls"] - before["calls"]
    assert 1 <= calls <= texts <= len(asked)  # (a text another test asked before comes from the cache)
    for q in asked:
        want = next(path for text, path in topics.items() if q.startswith(text))
        assert answers[q]["hits"][0]["source"] == str(want), (q, answers[q]["hits"][0]["source"])

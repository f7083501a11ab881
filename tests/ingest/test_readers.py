"""Which readers made an index, and what a user is told when they were older (ingest/readers.py)."""

from __future__ import annotations

from mmrag.ingest.readers import READERS, SINCE, readers_of, reindex_tip


def test_an_older_index_is_told_what_it_misses_and_how_to_read_it_again() -> None:
    assert readers_of(None) == 1 and readers_of({}) == 1 and readers_of({"readers": "x"}) == 1
    assert readers_of({"readers": READERS}) == READERS and set(SINCE) == set(range(2, READERS + 1))
    tip = reindex_tip({"space": "..."})
    assert tip is not None and SINCE[2] in tip and "mmrag add --reindex" in tip
    assert reindex_tip({"readers": READERS}) is None  # made by today's readers
    assert reindex_tip(None) is None  # no index yet
    assert reindex_tip({}, has_text=False) is None  # photos and sounds only: nothing the readers changed

"""Damaged copies of a real file, for loaders' "a clear error, never another exception" tests."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable
from pathlib import Path

from mmrag.errors import IngestError
from mmrag.ingest.sources import sniff_reason


def fuzz_outcomes(data: bytes, folder: Path, suffix: str, kind: str, load: Callable[[Path], Iterable[object]],
                  says: tuple[str, ...], seed: int, n: int = 60) -> set[str]:
    """Cut and flip bytes (past the 512-byte compound-file header) of ``data`` ``n`` times; each copy is refused
    when sniffed with a reason, read whole, or refused by ``load`` with an ``IngestError`` that says one of
    ``says``; any other exception fails the test. Returns which of the three happened."""
    rng = random.Random(seed)
    outcomes: set[str] = set()
    for k in range(n):
        bad = bytearray(data[: rng.randrange(512, len(data))] if k % 3 == 0 else data)
        for _ in range(rng.randrange(1, 40)):
            bad[rng.randrange(512, len(bad))] = rng.randrange(256)
        path = folder / f"bad{k}{suffix}"
        path.write_bytes(bytes(bad))
        found, reason = sniff_reason(path)
        if found != kind:
            assert reason, path
            outcomes.add("refused when sniffed")
            continue
        try:
            list(load(path))
            outcomes.add("read")
        except IngestError as exc:
            assert any(s in str(exc) for s in says), exc
            outcomes.add("IngestError")
    return outcomes

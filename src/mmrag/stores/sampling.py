"""A channel's calibration background, drawn by what its rows hold, not by their ids.

Search calibrates a channel's cosines against a background sample of the channel's own vectors
(``retrieve.fusion.background``). Drawn by row id, that sample depended on where the files lie:
a row's id is a hash of its source path, so the same files copied into another folder drew
another sample, every calibrated score moved by about 1 %, and 22 of 216 answers of a bench
changed (bench/README.md, "Options in PDF manuals"). Drawn by content, the sample is a function
of the vectors alone: the same files give the same answers wherever they lie.

``content_keys`` gives each vector a pseudo-random 64-bit key computed from its values only: from
the signs of its coordinates (a float16 copy of a row, or one embedded again with a last-bit
difference, has the same signs, where a finer grid would split them), combined with seeded odd
weights modulo 2**64 (exact integer arithmetic: the same on every machine and in any block size)
and mixed with SplitMix64's finaliser. 384 signs tell any two rows apart but near-copies, which are
interchangeable in a background. ``smallest`` keeps the ``n`` rows with the smallest keys, block
by block, so a large channel is never read whole at once.

A channel of more than ``CONTENT_ROWS`` rows is still sampled by a seeded choice of its keys: reading
every vector at each refresh would cost about half a second at 100k rows (measured), where the key
choice costs a millisecond; its sample, and its scores to about 1 %, then depend on where the files lie.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np

BLOCK = 16_384  # rows read at once when a channel is scanned for its sample
CONTENT_ROWS = 20_000  # a channel up to this size is sampled by content; a larger one by its keys

_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)


def _mix(h: np.ndarray) -> np.ndarray:
    """SplitMix64's finaliser, elementwise on uint64 (wraps modulo 2**64)."""
    h = h ^ (h >> np.uint64(30))
    h = h * _M1
    h = h ^ (h >> np.uint64(27))
    h = h * _M2
    return h ^ (h >> np.uint64(31))


def content_keys(vectors: np.ndarray, seed: int = 0) -> np.ndarray:
    """One uint64 key per row of ``vectors`` (``(n, d)``), a function of the row's values and ``seed``."""
    v = np.asarray(vectors, dtype=np.float32)
    if v.ndim != 2 or v.shape[0] == 0:
        return np.zeros(0, dtype=np.uint64)
    signs = (v > 0).astype(np.uint64)
    rng = np.random.default_rng(seed)
    weights = np.asarray(rng.integers(1, 2**63, size=v.shape[1], dtype=np.uint64)) | np.uint64(1)
    total = np.empty(v.shape[0], dtype=np.uint64)
    with np.errstate(over="ignore"):
        for i in range(0, v.shape[0], 1024):  # exact modular sums (no float matmul), 1024 rows at a time
            total[i : i + 1024] = (signs[i : i + 1024] * weights).sum(axis=1, dtype=np.uint64)
        return _mix(total)


def smallest(blocks: Iterable[np.ndarray], n: int, seed: int = 0) -> np.ndarray:
    """The ``n`` rows of the stacked ``blocks`` with the smallest ``content_keys``, in key order.

    Ties (equal keys: rows whose coordinates all have the same signs, near-copies) keep their
    first-come order; such rows are interchangeable in a background."""
    kept = np.zeros((0, 0), dtype=np.float32)
    keys = np.zeros(0, dtype=np.uint64)
    for block in blocks:
        b = np.asarray(block, dtype=np.float32)
        if b.ndim != 2 or not b.shape[0]:
            continue
        kept = b if not len(keys) else np.concatenate([kept, b])
        keys = np.concatenate([keys, content_keys(b, seed)])
        order = np.argsort(keys, kind="stable")[: max(int(n), 0)]
        kept, keys = kept[order], keys[order]
    return kept


def sample_rows(read: Callable[[np.ndarray], np.ndarray], keys: np.ndarray, n: int, seed: int = 0) -> np.ndarray:
    """``n`` vectors of the rows ``keys`` (all of them when ``n`` covers them).

    Up to ``CONTENT_ROWS`` rows, chosen by content (``smallest``; ``read(keys)`` returns those
    rows' vectors and is called a block of ``BLOCK`` keys at a time). Above, a seeded choice of
    the keys (one read of ``n`` rows instead of all of them)."""
    keys = np.sort(np.asarray(keys))
    n = max(0, min(int(n), len(keys)))
    if len(keys) > CONTENT_ROWS:
        return read(keys[np.sort(np.random.default_rng(seed).choice(len(keys), size=n, replace=False))])
    blocks = (read(keys[i : i + BLOCK]) for i in range(0, len(keys), BLOCK))
    return smallest(blocks, n, seed)


__all__ = ["BLOCK", "CONTENT_ROWS", "content_keys", "sample_rows", "smallest"]

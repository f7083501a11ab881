"""A channel's calibration background, drawn by what its rows hold, not by their ids.

Search calibrates a channel's cosines against a background sample of the channel's own vectors
(``retrieve.fusion.background``). Drawn by row id, that sample depended on where the files lie:
a row's id is a hash of its source path, so the same files copied into another folder drew
another sample, every calibrated score moved by about 1 %, and 22 of 216 answers of a bench
changed (bench/README.md, "The same files in another folder"). Drawn by content, the sample is a function
of the vectors alone: the same files give the same answers wherever they lie.

``content_keys`` gives each vector a pseudo-random 64-bit key computed from its values only: from
the signs of its coordinates (a float16 copy of a row, or one embedded again with a last-bit
difference, has the same signs, where a finer grid would split them), packed 64 to a word, summed
with seeded odd weights modulo 2**64 (exact integer arithmetic: the same on every machine and in any
block size) and mixed with SplitMix64's finaliser. 384 signs tell any two rows apart but
near-copies; those are ordered by their values rounded to 1/1024 (``_fine_keys``), and rows equal
in those too are interchangeable in a background. ``smallest`` keeps the ``n`` rows with the
smallest keys.

A channel of more than ``CONTENT_ROWS`` rows is still sampled by a seeded choice of its keys (the
stores decide): reading and hashing every vector at each write would cost about 0.4 s at 100k rows
(measured), where the key choice costs a few milliseconds; its sample, and its scores to about 1 %,
then depend on where the files lie.
"""

from __future__ import annotations

import numpy as np

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


def _hashed(rows: np.ndarray, seed: int) -> np.ndarray:
    """One uint64 per row of the uint64 matrix ``rows``: seeded odd weights summed modulo 2**64 (exact:
    the same on every machine, in any order), then mixed."""
    weights = np.asarray(np.random.default_rng(seed).integers(1, 2**63, size=rows.shape[1], dtype=np.uint64))
    weights |= np.uint64(1)
    total = np.empty(rows.shape[0], dtype=np.uint64)
    with np.errstate(over="ignore"):
        for i in range(0, rows.shape[0], 1024):  # 1024 rows at a time: no (n, d) temporary of a large block
            total[i : i + 1024] = (rows[i : i + 1024] * weights).sum(axis=1, dtype=np.uint64)
        return _mix(total)


def content_keys(vectors: np.ndarray, seed: int = 0) -> np.ndarray:
    """One uint64 key per row of ``vectors`` (``(n, d)``), a function of its coordinates' signs and ``seed``."""
    v = np.asarray(vectors, dtype=np.float32)
    if v.ndim != 2 or v.shape[0] == 0:
        return np.zeros(0, dtype=np.uint64)
    signs = np.packbits(v > 0, axis=1)  # 8 signs a byte, then 64 a word (little-endian on any machine)
    signs = np.pad(signs, ((0, 0), (0, -signs.shape[1] % 8)))
    return _hashed(np.ascontiguousarray(signs).view("<u8").astype(np.uint64), seed)


def _fine_keys(vectors: np.ndarray, seed: int) -> np.ndarray:
    """Keys of the coordinates rounded to 1/1024: to order rows whose signs all agree (two's complement of
    the rounded integers, so exact)."""
    return _hashed(np.rint(np.asarray(vectors, dtype=np.float32) * 1024).astype(np.int64).view(np.uint64), seed + 1)


def smallest(vectors: np.ndarray, n: int, seed: int = 0) -> np.ndarray:
    """The ``n`` rows of ``vectors`` with the smallest ``content_keys``, in key order, whatever the order of
    the rows: rows whose keys are equal (their signs all agree: near-copies, such as one paragraph under two
    titles) are ordered by their rounded values, and rows equal in those are interchangeable in a background."""
    v = np.asarray(vectors, dtype=np.float32)
    if v.ndim != 2 or not v.shape[0]:
        return v.reshape(0, v.shape[-1] if v.ndim == 2 else 0)
    keys = content_keys(v, seed)
    fine = np.zeros(len(keys), dtype=np.uint64)
    values, counts = np.unique(keys, return_counts=True)
    tied = np.isin(keys, values[counts > 1])
    if tied.any():
        fine[tied] = _fine_keys(v[tied], seed)
    return v[np.lexsort((fine, keys))[: max(int(n), 0)]]


__all__ = ["CONTENT_ROWS", "content_keys", "smallest"]

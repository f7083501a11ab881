"""Score calibration and list fusion (pure functions).

Why: cosines are not comparable across modality pairs. In a CLIP space a
text query scores ~0.8 against a matching caption but ~0.3 against a matching
photo; in MiniLM a text-text cosine of 0.3 is weak. Ranking a mixed list by raw
cosine puts every text above every image. So mmrag searches each *channel*
(text, image, audio vectors) separately and turns each raw cosine into a
**calibrated score**: how many standard deviations it sits above the
query's own background distribution in that channel::

    z = (cos(q, d) - mean_b cos(q, b)) / std_b cos(q, b)

where ``b`` runs over a fixed random sample of that channel's stored vectors.
This is query-adaptive (a generic query that is close to everything gets a
high background) and channel-adaptive (the modality gap cancels out). A
segment with vectors in several channels (an image with a pixel vector and an
OCR-text vector; a video shot with a keyframe and a transcript) takes its best
channel. Lexical (BM25) matches add at most ``lexical_weight`` (one background
standard deviation by default), scaled by their BM25 score relative to the
best lexical match: a keyword hit lifts a dense hit and surfaces exact terms
the dense model missed, without drowning strong semantic matches.

The alternative, ``rrf``, is reciprocal-rank fusion over all lists
(``sum 1 / (rrf_k + rank)``): scale-free and robust, but blind to how good
the best match of a list really is.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

MIN_STD = 0.02  # floor for the background spread (tiny or degenerate samples)
MIN_BACKGROUND = 64  # a channel sample smaller than this is topped up from the encoder's reference sample
LABEL_WORDS = 8  # a row text of at most this many words is a label (a file name, a title)


@dataclass(frozen=True)
class Background:
    """Mean and spread of a query's cosines against a channel's sample."""

    mean: float
    std: float


def background(query: np.ndarray, sample: np.ndarray) -> Background:
    """The query's background score distribution in one channel.

    ``sample`` is ``(n, d)``. With fewer than 2 vectors there is no spread to
    measure: the background is ``mean 0, std MIN_STD*5`` (conservative).
    """
    if sample.ndim != 2 or sample.shape[0] < 2:
        return Background(0.0, MIN_STD * 5)
    scores = sample @ np.asarray(query, dtype=np.float32).reshape(-1)
    return Background(float(scores.mean()), max(float(scores.std()), MIN_STD))


def top_up(sample: np.ndarray, reference: np.ndarray | None, size: int = MIN_BACKGROUND) -> np.ndarray:
    """A channel's background sample, topped up to ``size`` vectors from the encoder's ``reference``.

    Why: with only a few stored vectors in a channel (4 photos among hundreds of text chunks) the
    sample *is* the collection, so a query's own matches make up much of its background: they raise
    its mean and spread, and a clear match (the cat photo for "a cat") sits barely one standard
    deviation above it. The reference (vectors of typical items by the same encoder, shipped with
    the tower) stands in for the rest of the world. A sample of ``size`` or more is returned as is;
    a reference of another width is ignored.
    """
    own = np.asarray(sample, dtype=np.float32)
    n = own.shape[0] if own.ndim == 2 else 0
    if reference is None or n >= size:
        return own
    ref = np.asarray(reference, dtype=np.float32)
    if ref.ndim != 2 or ref.shape[0] == 0 or (n and ref.shape[1] != own.shape[1]):
        return own
    extra = ref[: size - n]
    return extra if n == 0 else np.concatenate([own, extra])


def label_like(text: str | None, modality: str, kind: str = "") -> bool:
    """Whether a row's text is a label: 1..``LABEL_WORDS`` words that *name* a picture (its file name,
    title, a short caption or OCR) or a sound window of a recording (``kind`` "sound": its tags and
    file-name words). What was said (a speech transcript, a video shot's) and a text document's chunk
    are content, never labels, however short: they belong with the channel's other passages."""
    if modality == "image" or (modality in ("audio", "video") and kind == "sound"):
        return 0 < len((text or "").split()) <= LABEL_WORDS
    return False


def calibrate_labels(z: np.ndarray, z_labels: np.ndarray, is_label: Sequence[bool] | np.ndarray) -> np.ndarray:
    """A label's calibrated score is the lower of its score against the channel's background and
    against a background of labels (``z_labels``); other rows keep ``z``.

    Why: a short query's cosine to any short text runs higher than to a passage, so against a
    channel of passages a file name that merely shares a register with the query ("coffee" for
    "a cat": 4.3 std above GPL paragraphs, 1.4 above other labels) outranks a real match
    elsewhere. Requiring a label to stand out among labels too keeps real name matches ("cat"
    for "a cat": 7.6) and drops the register effect; in a channel of labels both agree."""
    mask = np.asarray(is_label, dtype=bool)
    return np.where(mask, np.minimum(z, z_labels), z)


def calibrate(scores: Sequence[float] | np.ndarray, bg: Background) -> np.ndarray:
    """Raw cosines -> standard deviations above the background."""
    arr = np.asarray(scores, dtype=np.float64)
    return (arr - bg.mean) / bg.std


@dataclass(frozen=True)
class Candidate:
    """One entry of one ranked list, before fusion."""

    key: str  # segment id
    raw: float  # raw list score (cosine or BM25)
    calibrated: float  # z for dense lists; raw/ max for lexical lists


def fuse_calibrated(
    dense: Mapping[str, Sequence[Candidate]],
    lexical: Sequence[Candidate] = (),
    *,
    lexical_weight: float = 1.0,
    heard: Sequence[Candidate] = (),
    heard_weight: float = 4.0,
    entries: Sequence[str] = (),
    entry_weight: float = 2.0,
) -> list[tuple[str, float, dict[str, float]]]:
    """Fuse per-channel calibrated lists (max over channels) plus a lexical bonus.

    ``heard`` (sound-alike matches of transcripts, ``retrieve.heard``) adds
    ``heard_weight * calibrated`` per segment (its calibrated value is 0..1);
    ``entries`` (segments that hold the entry of an option the query names,
    ``option_terms.defines``) add ``entry_weight`` each.
    Returns ``(key, score, {channel: raw score})`` best first. Segments found
    only lexically start from 0 (the background mean) plus their bonus.
    Equal scores (files whose names say the same word, "recording-03" and
    "recording-07", tie in the text list) are ordered by the sum of their
    other lists' calibrated scores, so the sound or the picture decides, not the segment id.
    """
    best: dict[str, float] = {}
    evidence: dict[str, float] = {}  # sum over the dense lists: the tie-break
    raw: dict[str, dict[str, float]] = {}
    for channel, cands in dense.items():
        for c in cands:
            raw.setdefault(c.key, {})[channel] = c.raw
            evidence[c.key] = evidence.get(c.key, 0.0) + c.calibrated
            if c.key not in best or c.calibrated > best[c.key]:
                best[c.key] = c.calibrated
    if lexical:
        top = max((c.raw for c in lexical), default=0.0)
        for c in lexical:
            bonus = lexical_weight * (c.raw / top if top > 0 else 0.0)
            best[c.key] = best.get(c.key, 0.0) + bonus
            raw.setdefault(c.key, {})["lexical"] = c.raw
    for c in heard:
        best[c.key] = best.get(c.key, 0.0) + heard_weight * c.calibrated
        raw.setdefault(c.key, {})["heard"] = c.raw
    for key in entries:
        best[key] = best.get(key, 0.0) + entry_weight
        raw.setdefault(key, {})  # its raw scores are its lists' (an entry is found among their rows)
    ranked = sorted(best.items(), key=lambda kv: (-round(kv[1], 9), -evidence.get(kv[0], 0.0), kv[0]))
    return [(key, score, raw[key]) for key, score in ranked]


def fuse_rrf(
    lists: Mapping[str, Sequence[Candidate]], *, rrf_k: int = 60
) -> list[tuple[str, float, dict[str, float]]]:
    """Reciprocal-rank fusion: ``score = sum_lists 1 / (rrf_k + rank)``, rank from 1."""
    total: dict[str, float] = {}
    raw: dict[str, dict[str, float]] = {}
    for name, cands in lists.items():
        seen: set[str] = set()
        rank = 0
        for c in cands:
            if c.key in seen:
                continue
            seen.add(c.key)
            rank += 1
            total[c.key] = total.get(c.key, 0.0) + 1.0 / (rrf_k + rank)
            raw.setdefault(c.key, {})[name] = c.raw
    ranked = sorted(total.items(), key=lambda kv: (-kv[1], kv[0]))
    return [(key, score, raw[key]) for key, score in ranked]


__all__ = [
    "LABEL_WORDS",
    "MIN_BACKGROUND",
    "MIN_STD",
    "Background",
    "Candidate",
    "background",
    "calibrate",
    "calibrate_labels",
    "fuse_calibrated",
    "fuse_rrf",
    "label_like",
    "top_up",
]

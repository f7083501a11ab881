"""Shot-boundary detection on small frame signatures. Pure (numpy only).

A frame's *signature*, computed on a tiny downscaled frame (e.g. 64×36), has
two parts: its colour histogram in HSV (hue 16 bins weighted by saturation,
saturation 4, value 4; sums to 1) and its layout, a 16×9 grid of mean luma in
``[0, 1]``. The distance between two frames is half the histogram L1 distance
plus the mean absolute grid difference, clipped to ``[0, 1]``: colour catches
cuts between different palettes, layout catches cuts between similar-coloured
scenes (grey street to grey street).

A cut is declared between two sampled frames when their distance is at least
``threshold`` *and* at least ``ratio`` times the recent average distance (so
a fast pan or a flashing light does not cut every frame), and the current shot
is at least ``min_shot_s`` long. A shot that reaches ``max_shot_s`` is closed
whatever the content, so a long static scene still yields moments to land on.

Fades through black (fade-out, black, fade-in: the usual scene change in
edited video) give one cut, where the picture comes back:

- a step that only changes brightness (same hue and saturation histograms,
  same layout up to a gain: ``brightness_only``) is never a cut, however
  large its distance;
- a black frame (no cell of the luma grid brighter than ``black_level``, so
  a dark scene with one lit shape is not black) never starts a shot: the
  black stays with the shot before, and no shot has a black keyframe;
- once a shot has shown content, a run of black frames followed by a visible
  frame starts a new shot at that frame, even when every step of a slow fade
  is too small for the content test; a black opening that fades in is not cut
  from what it opens on.

Cross-dissolves with no black between the scenes are seen as cuts only when a
sampling step spans most of them; longer ones are closed by the maximum length.
"""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

H_BINS, S_BINS, V_BINS = 16, 4, 4
HIST_DIM = H_BINS + S_BINS + V_BINS
GRID_W, GRID_H = 16, 9
SIG_DIM = HIST_DIM + GRID_W * GRID_H
BLACK_LEVEL = 0.12  # a frame is black when no cell of its luma grid is brighter than this (0-1, about 30/255)


@dataclass(frozen=True)
class Shot:
    """One shot: ``[t0, t1)`` in seconds."""

    t0: float
    t1: float

    @property
    def middle(self) -> float:
        return (self.t0 + self.t1) / 2


def rgb_to_hsv(rgb: np.ndarray) -> np.ndarray:
    """``(h, w, 3)`` uint8 RGB -> float HSV in ``[0, 1]``."""
    x = rgb.astype(np.float32) / 255.0
    r, g, b = x[..., 0], x[..., 1], x[..., 2]
    mx = x.max(axis=-1)
    mn = x.min(axis=-1)
    d = mx - mn
    safe = np.where(d > 0, d, 1.0)
    h = np.where(
        mx == r, ((g - b) / safe) % 6.0, np.where(mx == g, (b - r) / safe + 2.0, (r - g) / safe + 4.0)
    )
    h = np.where(d > 0, h / 6.0, 0.0)
    s = np.where(mx > 0, d / np.where(mx > 0, mx, 1.0), 0.0)
    return np.stack([h, s, mx], axis=-1)


def luma_grid(rgb: np.ndarray) -> np.ndarray:
    """Mean luma (``[0, 1]``) of a ``GRID_H`` × ``GRID_W`` grid of cells (cells may be one pixel)."""
    y = (rgb[..., 0] * 0.299 + rgb[..., 1] * 0.587 + rgb[..., 2] * 0.114).astype(np.float32) / 255.0
    rows = np.linspace(0, y.shape[0], GRID_H + 1).astype(int)
    cols = np.linspace(0, y.shape[1], GRID_W + 1).astype(int)
    out = np.empty((GRID_H, GRID_W), dtype=np.float64)
    for i in range(GRID_H):
        r0, r1 = rows[i], max(rows[i + 1], rows[i] + 1)
        for j in range(GRID_W):
            c0, c1 = cols[j], max(cols[j + 1], cols[j] + 1)
            out[i, j] = y[min(r0, y.shape[0] - 1) : r1, min(c0, y.shape[1] - 1) : c1].mean()
    return out.reshape(-1)


def signature(rgb: np.ndarray) -> np.ndarray:
    """Signature of a small ``(h, w, 3)`` uint8 RGB frame: ``HIST_DIM`` histogram values
    (the three histograms each sum to 1/3) then the ``GRID_W*GRID_H`` luma grid."""
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.size == 0:
        raise ValueError(f"signature needs an (h, w, 3) RGB array, got shape {rgb.shape}")
    hsv = rgb_to_hsv(rgb).reshape(-1, 3)
    # hue is meaningless for grey pixels: weight it by saturation
    h, _ = np.histogram(hsv[:, 0], bins=H_BINS, range=(0, 1), weights=hsv[:, 1] + 1e-3)
    s, _ = np.histogram(hsv[:, 1], bins=S_BINS, range=(0, 1))
    v, _ = np.histogram(hsv[:, 2], bins=V_BINS, range=(0, 1))
    parts = [p.astype(np.float64) / max(p.sum(), 1e-9) / 3.0 for p in (h, s, v)]
    return np.concatenate([*parts, luma_grid(rgb)])


def distance(a: np.ndarray, b: np.ndarray) -> float:
    """Colour distance (half the histogram L1) + layout distance (mean grid difference), in ``[0, 1]``."""
    colour = 0.5 * np.abs(a[:HIST_DIM] - b[:HIST_DIM]).sum()
    layout = np.abs(a[HIST_DIM:] - b[HIST_DIM:]).mean() if len(a) > HIST_DIM else 0.0
    return float(min(1.0, colour + layout))


def brightness_only(a: np.ndarray, b: np.ndarray, colour_tol: float = 0.1, layout_tol: float = 0.05) -> bool:
    """True when frame ``b`` is frame ``a`` made brighter or darker (a step of a fade): the hue and
    saturation histograms, which do not change with brightness, match, and so does the luma
    layout up to a gain. A black frame (no layout to compare) is never "brightness only"."""
    hs = 1.5 * float(np.abs(a[: H_BINS + S_BINS] - b[: H_BINS + S_BINS]).sum())  # 0 (same) .. 2
    ga, gb = a[HIST_DIM:], b[HIST_DIM:]
    if len(ga) == 0 or min(float(ga.mean()), float(gb.mean())) < 1e-3:
        return False
    layout = float(np.abs(ga / ga.mean() - gb / gb.mean()).mean())
    return hs < colour_tol and layout < layout_tol


def sharpness(gray: np.ndarray) -> float:
    """Variance of a 4-neighbour Laplacian: higher is sharper (picks a keyframe among blurry ones)."""
    g = gray.astype(np.float32)
    if g.shape[0] < 3 or g.shape[1] < 3:
        return 0.0
    lap = -4 * g[1:-1, 1:-1] + g[:-2, 1:-1] + g[2:, 1:-1] + g[1:-1, :-2] + g[1:-1, 2:]
    return float(lap.var())


class ShotDetector:
    """Streaming detector: feed ``(t, signature)`` in time order; get cut times back."""

    def __init__(
        self,
        threshold: float = 0.35,
        min_shot_s: float = 1.0,
        max_shot_s: float = 30.0,
        ratio: float = 2.0,
        history: int = 8,
        black_level: float = BLACK_LEVEL,
    ) -> None:
        if not 0 < threshold <= 1:
            raise ValueError(f"threshold must be in (0, 1], got {threshold}")
        if max_shot_s <= 0 or min_shot_s < 0 or min_shot_s > max_shot_s:
            raise ValueError(
                f"need 0 <= min_shot_s <= max_shot_s and max_shot_s > 0, got {min_shot_s}, {max_shot_s}"
            )
        self.threshold = threshold
        self.min_shot_s = min_shot_s
        self.max_shot_s = max_shot_s
        self.ratio = ratio
        self.black_level = black_level
        self._recent: deque[float] = deque(maxlen=history)
        self._prev: np.ndarray | None = None
        self._last: np.ndarray = np.zeros(0)
        self.shot_start: float | None = None
        self._content_seen = False  # the current shot has shown a visible frame
        self._in_black = False  # inside a run of black frames that followed content

    def is_black(self, sig: np.ndarray) -> bool:
        """No region of the frame is lit: the brightest luma-grid cell is under ``black_level``
        (a dark scene with one lit shape is not black)."""
        return len(sig) > HIST_DIM and float(sig[HIST_DIM:].max()) < self.black_level

    def feed(self, t: float, sig: np.ndarray) -> float | None:
        """Return the time a new shot starts at (``t``) if there is a cut before ``t``."""
        black = self.is_black(sig)
        if self._prev is None or self.shot_start is None:
            self._prev, self.shot_start, self._content_seen = sig, t, not black
            return None
        d = distance(self._prev, sig)
        self._last, self._prev = self._prev, sig
        length = t - self.shot_start
        base = (sum(self._recent) / len(self._recent)) if self._recent else 0.0
        content_cut = (
            d >= self.threshold and d >= self.ratio * base and length >= self.min_shot_s
            and not black and self._content_seen  # a black opening fading in is one shot with what follows
            and not brightness_only(self._last, sig)  # a fade step is not a cut
        )
        fade_cut = self._in_black and not black and length >= self.min_shot_s
        if black:
            self._in_black = self._in_black or self._content_seen
        else:
            self._in_black = False
        if not content_cut:
            self._recent.append(d)
        if content_cut or fade_cut or length >= self.max_shot_s:
            self.shot_start = t
            self._recent.clear()
            self._content_seen, self._in_black = not black, False
            return t
        self._content_seen = self._content_seen or not black
        return None


def tail_bounds(
    prev: float | None, last: float, end: float, min_shot_s: float, max_shot_s: float
) -> list[float]:
    """Boundaries of the last two shots ``[prev, last)`` and ``[last, end)``.

    A final sliver shorter than ``min_shot_s`` joins the shot before it, unless
    that would pass ``max_shot_s``: then the two are split in equal halves.
    """
    end = max(end, last)
    if prev is None:
        return [last, end]
    if end - last >= min_shot_s:
        return [prev, last, end]
    if end - prev <= max_shot_s:
        return [prev, end]
    return [prev, (prev + end) / 2, end]


def detect_shots(
    times: Sequence[float],
    sigs: Iterable[np.ndarray],
    end: float,
    *,
    threshold: float = 0.35,
    min_shot_s: float = 1.0,
    max_shot_s: float = 30.0,
) -> list[Shot]:
    """Shots covering ``[times[0], end]`` from sampled signatures (batch form of ``ShotDetector``)."""
    det = ShotDetector(threshold, min_shot_s, max_shot_s)
    starts: list[float] = []
    for t, sig in zip(times, sigs):
        if not starts:
            starts.append(t)
        cut = det.feed(t, sig)
        if cut is not None:
            starts.append(cut)
    if not starts:
        return []
    bounds = tail_bounds(starts[-2] if len(starts) > 1 else None, starts[-1], end, min_shot_s, max_shot_s)
    bounds = starts[:-2] + bounds if len(starts) > 1 else bounds
    return [Shot(a, b) for a, b in itertools.pairwise(bounds) if b > a] or [Shot(starts[0], bounds[-1])]


__all__ = [
    "BLACK_LEVEL",
    "HIST_DIM",
    "SIG_DIM",
    "Shot",
    "ShotDetector",
    "brightness_only",
    "detect_shots",
    "distance",
    "luma_grid",
    "rgb_to_hsv",
    "sharpness",
    "signature",
    "tail_bounds",
]

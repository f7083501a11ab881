"""A recording's thumbnails: the waveform envelope of a sound window or of a speech segment, as a small PNG.

A picture of a recording says something a file-type badge cannot: a bark is a few short bursts,
rain a steady band, a bell one strike fading out. The result grid shows it like a photo's
thumbnail. Drawn with Pillow (already a dependency): per pixel column, the peak of the samples
it covers, mirrored around the middle, on a light background.

A speech segment comes out of the recogniser after its samples have streamed by (nothing keeps
them), so its waveform comes from a ``PeakTrack``: the peak of every 10 ms of the file, kept as it
is decoded (100 floats a second; an hour's recording holds 1.4 MB), from which any span is drawn
(``span_png``).
"""

from __future__ import annotations

import io

import numpy as np

WIDTH = 256
HEIGHT = 128
BACKGROUND = (238, 240, 244)
INK = (181, 83, 9)  # the page's audio colour


def envelope(samples: np.ndarray, columns: int) -> np.ndarray:
    """Peak |sample| per column (``columns`` values in [0, 1], scaled so the loudest is 1). Pure."""
    x = np.abs(np.nan_to_num(np.asarray(samples, dtype=np.float32).reshape(-1)))
    if x.size == 0 or columns <= 0:
        return np.zeros(max(columns, 0), dtype=np.float32)
    if x.size < columns:  # fewer samples than columns: the rest is silence
        x = np.pad(x, (0, columns - x.size))
    peaks = np.maximum.reduceat(x, (np.arange(columns) * x.size) // columns).astype(np.float32)
    top = float(peaks.max())
    return peaks / top if top > 0 else peaks


def waveform_png(samples: np.ndarray, width: int = WIDTH, height: int = HEIGHT) -> bytes:
    """The waveform of ``samples`` as PNG bytes (``width`` x ``height``); silence draws a flat line."""
    from PIL import Image, ImageDraw

    im = Image.new("RGB", (width, height), BACKGROUND)
    draw = ImageDraw.Draw(im)
    mid = height / 2
    for i, v in enumerate(envelope(samples, width)):
        half = max(0.5, float(v) * (height / 2 - 6))
        draw.line([(i, mid - half), (i, mid + half)], fill=INK)
    buf = io.BytesIO()
    im.save(buf, format="PNG", optimize=True)
    return buf.getvalue()


class PeakTrack:
    """Peak |sample| of every ``1 / per_s`` s of a stream, kept while it is decoded (a ``chunk_hook``
    of ``speech.transcribe_file``: chunks arrive in order, from the file's start)."""

    def __init__(self, rate: int, per_s: int = 100) -> None:
        self.block = max(1, int(rate) // int(per_s))
        self.per_s = rate / self.block
        self._parts: list[np.ndarray] = []
        self._carry = np.zeros(0, np.float32)
        self._flat: np.ndarray | None = None

    def __call__(self, t0: float, chunk: np.ndarray) -> None:
        x = np.abs(np.nan_to_num(np.asarray(chunk, dtype=np.float32).reshape(-1)))
        if self._carry.size:
            x = np.concatenate([self._carry, x])
        n = len(x) // self.block * self.block
        if n:
            self._parts.append(x[:n].reshape(-1, self.block).max(axis=1))
        self._carry = x[n:]
        self._flat = None

    def peaks(self, t0: float, t1: float) -> np.ndarray:
        """The peaks of ``[t0, t1]`` seconds (empty where nothing was decoded)."""
        if self._flat is None:
            tail = [self._carry.max(keepdims=True)] if self._carry.size else []
            self._flat = np.concatenate([*self._parts, *tail]) if self._parts or tail else np.zeros(0, np.float32)
        a = max(0, int(np.floor(t0 * self.per_s)))
        b = max(a, int(np.ceil(t1 * self.per_s)))
        return self._flat[a:b]

    def span_png(self, t0: float, t1: float) -> bytes | None:
        """The waveform of ``[t0, t1]`` as PNG bytes, stretched to the thumbnail's width; ``None`` if
        nothing of it was decoded."""
        p = self.peaks(t0, t1)
        if p.size == 0:
            return None
        if p.size < WIDTH:  # a short span: each peak spread over several columns
            p = p[(np.arange(WIDTH) * p.size) // WIDTH]
        return waveform_png(p)


__all__ = ["PeakTrack", "envelope", "waveform_png"]

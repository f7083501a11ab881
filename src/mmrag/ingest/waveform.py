"""A sound window's thumbnail: its waveform envelope as a small PNG.

A picture of a recording says something a file-type badge cannot: a bark is a few short bursts,
rain a steady band, a bell one strike fading out. The result grid shows it like a photo's
thumbnail. Drawn with Pillow (already a dependency): per pixel column, the peak of the samples
it covers, mirrored around the middle, on a light background.
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


__all__ = ["envelope", "waveform_png"]

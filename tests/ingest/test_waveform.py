"""A sound window's thumbnail: its waveform envelope as a PNG (ingest/waveform.py)."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from mmrag.ingest.waveform import HEIGHT, INK, WIDTH, envelope, waveform_png


def test_envelope_is_the_peak_per_column_scaled_to_the_loudest() -> None:
    x = np.zeros(16_000, np.float32)
    x[4_000:4_100] = 0.5
    x[12_000:12_010] = -1.0
    assert envelope(x, 8).tolist() == [0.0, 0.0, 0.5, 0.0, 0.0, 0.0, 1.0, 0.0]
    assert envelope(np.ones(3), 5).tolist() == [1.0, 1.0, 1.0, 0.0, 0.0]  # fewer samples than columns
    assert envelope(np.zeros(0), 4).tolist() == [0.0] * 4
    assert envelope(np.array([np.nan, 0.5]), 2).tolist() == [0.0, 1.0]  # a corrupt sample draws nothing


def test_the_png_shows_where_the_sound_is_loud() -> None:
    x = np.zeros(32_000, np.float32)
    x[:8_000] = np.sin(np.arange(8_000) / 16_000 * 2 * np.pi * 440)  # a tone, then silence
    im = Image.open(io.BytesIO(waveform_png(x))).convert("RGB")
    assert im.size == (WIDTH, HEIGHT)
    a = np.asarray(im)
    inked = (a == np.array(INK, np.uint8)).all(axis=2).sum(axis=0)  # inked pixels per column
    assert inked[: WIDTH // 4 - 2].min() > HEIGHT * 0.8  # the tone fills its quarter top to bottom
    assert inked[WIDTH // 4 + 2 :].max() <= 2  # silence: a flat line

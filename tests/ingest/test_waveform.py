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


def test_a_peak_track_draws_any_span_of_a_stream_it_saw_in_chunks() -> None:
    from mmrag.ingest.waveform import PeakTrack

    rate = 16_000
    x = np.zeros(5 * rate, np.float32)
    x[2 * rate : 3 * rate] = 0.8 * np.sin(np.arange(rate) / rate * 2 * np.pi * 220)  # second 2-3: a tone
    track = PeakTrack(rate)
    for i in range(0, len(x), 7_777):  # chunks that do not align with the 10 ms blocks
        track(i / rate, x[i : i + 7_777])
    assert track.peaks(0.0, 5.0).size == 500 and track.block == 160
    assert np.allclose(track.peaks(2.1, 2.9), 0.8, atol=0.01) and track.peaks(0.0, 1.9).max() == 0.0
    im = np.asarray(Image.open(io.BytesIO(track.span_png(1.5, 3.5))).convert("RGB"))  # type: ignore[arg-type]
    inked = (im == np.array(INK, np.uint8)).all(axis=2).sum(axis=0)
    assert inked[WIDTH // 4 + 3 : 3 * WIDTH // 4 - 3].min() > HEIGHT * 0.8  # the tone: the middle half
    assert inked[: WIDTH // 4 - 3].max() <= 2 and inked[3 * WIDTH // 4 + 3 :].max() <= 2  # silence around it
    short = np.asarray(Image.open(io.BytesIO(track.span_png(2.4, 2.5))).convert("RGB"))  # type: ignore[arg-type]
    assert (short == np.array(INK, np.uint8)).all(axis=2).sum(axis=0).min() > HEIGHT * 0.8  # stretched, full width
    assert track.span_png(9.0, 10.0) is None  # nothing decoded there

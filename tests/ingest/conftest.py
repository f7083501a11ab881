"""Helpers for ingest tests: tiny media written on the fly (nothing big committed)."""

from __future__ import annotations

import io
import wave
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from mmrag.config import IngestConfig


@pytest.fixture()
def cfg() -> IngestConfig:
    """Defaults, OCR off (OCR has its own few tests: it costs ~1 s per image)."""
    return IngestConfig(ocr=False)


def png_bytes(size: tuple[int, int] = (8, 6), color: str = "red", mode: str = "RGB") -> bytes:
    buf = io.BytesIO()
    Image.new(mode, size, color).save(buf, "PNG")
    return buf.getvalue()


def image_bytes(fmt: str, size: tuple[int, int] = (8, 6)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, "blue").save(buf, fmt)
    return buf.getvalue()


def wav_bytes(seconds: float = 0.1, rate: int = 8000) -> bytes:
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(b"\x00\x00" * int(seconds * rate))
    return buf.getvalue()


def write_media(path: Path, video: bool = True, audio: bool = True) -> Path:
    """A real, tiny MP4/MKV (H.264 32x32 and/or AAC) written with PyAV."""
    av = pytest.importorskip("av")
    with av.open(str(path), "w") as out:
        vs = out.add_stream("libx264", rate=5) if video else None
        if vs is not None:
            vs.width, vs.height, vs.pix_fmt = 32, 32, "yuv420p"
        aus = out.add_stream("aac", rate=16000) if audio else None
        if vs is not None:
            for i in range(3):
                frame = av.VideoFrame.from_ndarray(np.full((32, 32, 3), i * 60, np.uint8), format="rgb24")
                for pkt in vs.encode(frame):
                    out.mux(pkt)
            for pkt in vs.encode():
                out.mux(pkt)
        if aus is not None:
            frame = av.AudioFrame.from_ndarray(np.zeros((1, 4000), np.float32), format="fltp", layout="mono")
            frame.sample_rate = 16000
            for pkt in aus.encode(frame):
                out.mux(pkt)
            for pkt in aus.encode():
                out.mux(pkt)
    return path

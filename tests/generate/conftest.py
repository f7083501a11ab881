"""Shared fixtures for the generate tests: hand-made hits of every modality and tiny pictures."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from mmrag.types import Hit, Modality, Span


def jpeg(color: str = "red", size: int = 8) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (size, size), color).save(buf, format="JPEG")
    return buf.getvalue()


def hit(sid: str, source: str, modality: Modality, text: str | None, *, span: Span | None = None,
        score: float = 0.5, thumb: bool = False) -> Hit:
    return Hit(sid, source, modality, span or Span(), score, text=text, has_thumbnail=thumb)


@pytest.fixture
def make_hit():
    return hit


@pytest.fixture
def jpeg_bytes():
    return jpeg


@pytest.fixture
def mixed_hits() -> list[Hit]:
    """A small mixed corpus as search would return it, best first."""
    return [
        hit("t1", "notes/tower.md", Modality.TEXT,
            "The Eiffel Tower is 330 metres tall. It was finished in 1889 for the World's Fair.",
            span=Span(start=0, end=84), score=0.91),
        hit("p3", "report.pdf", Modality.TEXT,
            "Quarterly revenue grew by 12 percent. Costs stayed flat [4].", span=Span(page=3), score=0.80),
        hit("i1", "photos/cat.jpg", Modality.IMAGE, "A grey cat sleeping on a red sofa.", score=0.72, thumb=True),
        hit("a1", "talk.wav", Modality.AUDIO,
            "The budget for next year is four million euros. We will hire two engineers.",
            span=Span(t0=62.0, t1=75.5), score=0.66),
        hit("v1", "demo.mp4", Modality.VIDEO, "a man rides a bicycle along the river",
            span=Span(t0=3.0, t1=9.0), score=0.60, thumb=True),
    ]

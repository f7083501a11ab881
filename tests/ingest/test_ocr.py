"""OCR with the real RapidOCR models on real scanned text (few tests: ~1 s each)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from PIL import Image
from tests.conftest import package_file

from mmrag.config import IngestConfig
from mmrag.ingest.image import ImageLoader
from mmrag.ingest.ocr import OcrLine, ocr_text, reading_order

pytest.importorskip("rapidocr_onnxruntime")


def test_page_scan_words_in_reading_order() -> None:
    page = Image.open(package_file("skimage", "data/page.png"))  # a photographed textbook page
    text = ocr_text(page)
    lines = text.splitlines()
    assert lines[0] == "Region-based segmentation"
    assert lines[1] == "Let us first determine markers of the coins and the"
    for phrase in ("markers are pixels that we can label", "either object or background", "histogram"):
        assert phrase in text
    assert text.index("Region") < text.index("background") < text.index("histogram")


def test_handwritten_formulas_and_photos_give_no_words() -> None:
    # skimage's text.png is handwritten maths: low-confidence guesses are dropped.
    assert not re.search(r"[A-Za-z]{3,}", ocr_text(Image.open(package_file("skimage", "data/text.png"))))
    assert ocr_text(Image.new("RGB", (64, 64), "white")) == ""
    assert ocr_text(Image.new("L", (4, 4))) == ""  # too small to hold text


def test_image_loader_adds_ocr_text(photo, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = photo("skimage", "data/page.png", "textbook_page.png")
    (seg,) = list(ImageLoader().load(path, IngestConfig(ocr=True)))
    assert seg.text.startswith("textbook page. OCR: Region-based segmentation")
    assert "markers of the coins" in seg.text


def box(text: str, x0: float, y0: float, x1: float, y1: float) -> OcrLine:
    return OcrLine(text, 0.9, (x0, y0, x1, y1))


def test_reading_order_rows_then_columns() -> None:
    lines = [
        box("right", 200, 12, 300, 32),  # same row as "left", slightly lower
        box("second", 0, 50, 100, 70),
        box("left", 0, 10, 100, 30),
        box("third", 0, 90, 100, 110),
    ]
    assert [ln.text for ln in reading_order(lines)] == ["left", "right", "second", "third"]
    assert reading_order([]) == []

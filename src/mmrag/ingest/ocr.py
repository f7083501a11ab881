"""Read the words in a picture with RapidOCR (PP-OCRv4 ONNX models, offline).

``ocr_text(image)`` is used for indexed images, scanned PDF pages and query
images. The engine is created lazily, once per process, and calls are
serialised with a lock (RapidOCR keeps per-call state on the instance; the
ONNX sessions already use every core, so parallel calls would not be faster).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mmrag.errors import MissingDependency

if TYPE_CHECKING:  # pragma: no cover
    from PIL import Image

MIN_CONFIDENCE = 0.7  # recognised lines scoring lower are dropped (noise, scribbles)
MAX_SIDE = 1600  # larger images are downscaled first: detection cost grows with pixels
MIN_SIDE = 16  # smaller images cannot hold readable text

_lock = threading.Lock()
_engine: Any = None


@dataclass(frozen=True)
class OcrLine:
    """One recognised line: its text, confidence and box (x0, y0, x1, y1) in pixels."""

    text: str
    confidence: float
    box: tuple[float, float, float, float]


def _get_engine() -> Any:
    global _engine
    if _engine is None:
        try:
            from rapidocr_onnxruntime import RapidOCR
        except ImportError:
            raise MissingDependency("rapidocr-onnxruntime", "all", "OCR") from None
        # "max" keeps small images at their size (the default "min" upscales
        # every image to 736 px on its short side, ~4x slower); the angle
        # classifier only helps upside-down text.
        _engine = RapidOCR(det_limit_type="max", det_limit_side_len=MAX_SIDE, use_cls=False)
    return _engine


def reading_order(lines: Sequence[OcrLine]) -> list[OcrLine]:
    """Sort lines top-to-bottom, then left-to-right within a visual row.

    Two boxes are on the same row when their vertical centres are closer than
    half the smaller box height.
    """
    rows: list[list[OcrLine]] = []
    for line in sorted(lines, key=lambda ln: ((ln.box[1] + ln.box[3]) / 2, ln.box[0])):
        cy = (line.box[1] + line.box[3]) / 2
        h = line.box[3] - line.box[1]
        if rows:
            last = rows[-1][0]
            lcy = (last.box[1] + last.box[3]) / 2
            lh = last.box[3] - last.box[1]
            if abs(cy - lcy) < min(h, lh) / 2:
                rows[-1].append(line)
                continue
        rows.append([line])
    return [ln for row in rows for ln in sorted(row, key=lambda ln: ln.box[0])]


def _tidy(text: str) -> str:
    """``"background.These"`` -> ``"background. These"`` (OCR drops such spaces)."""
    text = re.sub(r"(?<=[a-z])([.,;:!?])(?=[A-Z])", r"\1 ", text)
    return " ".join(text.split())


def ocr_lines(image: Image.Image) -> list[OcrLine]:
    """Recognised lines with confidence >= ``MIN_CONFIDENCE``, in reading order."""
    import numpy as np
    from PIL import Image as PILImage

    img = image if image.mode == "RGB" else image.convert("RGB")
    if min(img.size) < MIN_SIDE:
        return []
    scale = 1.0
    if max(img.size) > MAX_SIDE:
        scale = max(img.size) / MAX_SIDE
        img = img.resize(
            (max(1, round(img.width / scale)), max(1, round(img.height / scale))), PILImage.Resampling.LANCZOS
        )
    # RapidOCR expects OpenCV's BGR channel order for arrays.
    arr = np.ascontiguousarray(np.asarray(img)[:, :, ::-1])
    with _lock:
        result, _ = _get_engine()(arr)
    lines: list[OcrLine] = []
    for box, text, score in result or []:
        conf = float(score)
        text = _tidy(str(text))
        if conf < MIN_CONFIDENCE or not text:
            continue
        xs = [float(p[0]) * scale for p in box]
        ys = [float(p[1]) * scale for p in box]
        lines.append(OcrLine(text, conf, (min(xs), min(ys), max(xs), max(ys))))
    return reading_order(lines)


def ocr_text(image: Image.Image) -> str:
    """All text read from ``image``, one line per visual row; ``""`` if none."""
    ordered = ocr_lines(image)
    out: list[str] = []
    prev: OcrLine | None = None
    for line in ordered:
        if prev is not None:
            same_row = (
                abs((line.box[1] + line.box[3]) - (prev.box[1] + prev.box[3])) / 2
                < min(line.box[3] - line.box[1], prev.box[3] - prev.box[1]) / 2
            )
            out.append(" " if same_row else "\n")
        out.append(line.text)
        prev = line
    return "".join(out)


__all__ = ["MAX_SIDE", "MIN_CONFIDENCE", "OcrLine", "ocr_lines", "ocr_text", "reading_order"]

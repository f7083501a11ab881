"""Reference samples that ship with an encoder, for score calibration (``retrieve/fusion.py``).

Search calibrates a raw cosine against the query's background: its cosines to a sample of the
channel's stored vectors. Two cases need vectors from outside the index:

- **A channel with only a few vectors** (4 photos in a folder of notes): its sample *is* the
  collection, so the query's own matches make up much of it. A bound tower ships
  ``background.npz`` in its folder: its vectors (per channel: ``image``, ``visual``) of a few
  hundred typical pictures, which top the sample up (``fusion.top_up``).
- **Short labels in a text channel of passages**: a picture's file name ("coffee") is one or two
  words, and a short query's cosine to any short text runs higher than to a passage. Against a
  background of GPL paragraphs, "coffee" sits 4 standard deviations above "a cat". The bundled
  text model ships ``text-reference-<model>.npz``: its vectors of 512 short labels (file-name words
  of drawings and photos, ImageNet class names), a background for rows whose text is a label
  (``fusion.label_like``), and of 256 WordNet glosses, which top up a text channel of only a few
  passages (3 notes: the right one had relevance 0 %).

Both are made by ``scripts/make_background.py`` and are optional: without them search works as
before.
"""

from __future__ import annotations

import logging
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

BACKGROUND_FILE = "background.npz"  # in a tower folder: {channel: (n, dim) float16}
WEIGHTS = Path(__file__).resolve().parents[1] / "weights"

log = logging.getLogger(__name__)


def _read(path: Path) -> dict[str, np.ndarray]:
    try:
        with np.load(path, allow_pickle=False) as data:
            return {k: np.asarray(data[k]) for k in data.files}
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:
        log.warning("ignoring %s (%s): search calibrates without it", path, exc)
        return {}


def load_background(folder: str | Path) -> dict[str, np.ndarray]:
    """A tower folder's reference vectors per channel (absent or unreadable: none)."""
    path = Path(folder) / BACKGROUND_FILE
    if not path.is_file():
        return {}
    return {k: v.astype(np.float32) for k, v in _read(path).items() if v.ndim == 2}


def save_background(folder: str | Path, vectors: dict[str, np.ndarray]) -> Path:
    """Write a tower folder's reference vectors per channel (float16), as ``load_background`` reads them."""
    path = Path(folder) / BACKGROUND_FILE
    arrays: dict[str, Any] = {k: np.asarray(v).astype(np.float16) for k, v in vectors.items()}
    np.savez(path, **arrays)
    return path


def text_reference_file(model_name: str) -> Path:
    return WEIGHTS / f"text-reference-{model_name}.npz"


@dataclass(frozen=True)
class TextReference:
    """A text model's shipped reference vectors: ``labels`` (short labels) and ``passages`` (glosses)."""

    labels: np.ndarray | None = None
    passages: np.ndarray | None = None


def load_text_reference(encoder_id: str, model_name: str) -> TextReference:
    """The shipped reference vectors of a text model, when they were made by exactly ``encoder_id``."""
    path = text_reference_file(model_name)
    if not path.is_file():
        return TextReference()
    data = _read(path)
    if str(data.get("encoder", "")) != encoder_id:
        return TextReference()

    def matrix(key: str) -> np.ndarray | None:
        v = data.get(key)
        return v.astype(np.float32) if v is not None and v.ndim == 2 else None

    return TextReference(matrix("labels"), matrix("passages"))


__all__ = ["BACKGROUND_FILE", "TextReference", "load_background", "load_text_reference", "save_background", "text_reference_file"]

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
  text model ships ``labels-<model>.npz``: its vectors of ~500 short labels (file-name words of
  drawings and photos, ImageNet class names), a background for rows whose text is a label
  (``fusion.label_like``).

Both are made by ``scripts/make_background.py`` and are optional: without them search works as
before.
"""

from __future__ import annotations

import logging
import zipfile
from pathlib import Path

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


def labels_file(model_name: str) -> Path:
    return WEIGHTS / f"labels-{model_name}.npz"


def load_labels(encoder_id: str, model_name: str) -> np.ndarray | None:
    """The shipped label vectors of a text model, when they were made by exactly ``encoder_id``."""
    path = labels_file(model_name)
    if not path.is_file():
        return None
    data = _read(path)
    if "text" not in data or data["text"].ndim != 2 or str(data.get("encoder", "")) != encoder_id:
        return None
    return data["text"].astype(np.float32)


__all__ = ["BACKGROUND_FILE", "labels_file", "load_background", "load_labels"]

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

COLORS = {"red": (220, 30, 30), "blue": (30, 60, 220), "green": (30, 170, 50), "yellow": (235, 200, 20)}
SHAPES = ("circle", "square")


def draw_shape(color: str, shape: str, rng: np.random.Generator, size: int = 48) -> Image.Image:
    im = Image.new("RGB", (size, size), "white")
    d = ImageDraw.Draw(im)
    r = int(rng.integers(size // 5, size // 3))
    cx, cy = (int(v) for v in rng.integers(r + 2, size - r - 2, 2))
    box = (cx - r, cy - r, cx + r, cy + r)
    (d.ellipse if shape == "circle" else d.rectangle)(box, fill=COLORS[color])
    return im


@pytest.fixture(scope="session")
def synthetic_pairs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """32 real PNG files: 8 colour x shape classes, 4 drawings each, captioned 'a red circle'."""
    root = tmp_path_factory.mktemp("shapes")
    rng = np.random.default_rng(0)
    rows = []
    for color in COLORS:
        for shape in SHAPES:
            for i in range(4):
                name = f"{color}_{shape}_{i}.png"
                draw_shape(color, shape, rng).save(root / name)
                rows.append({"a": name, "b": f"a {color} {shape}"})
    f = root / "pairs.jsonl"
    f.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    return f


class BagOfWordsText:
    """A fixed (frozen) 384-d text tower for fast trainer tests: each word gets a
    seeded random unit vector, a text is the normalised sum of its words."""

    id = "test:bag-of-words#text"
    dim = 384

    def encode(self, items, *, query: bool = False) -> np.ndarray:
        out = np.zeros((len(items), self.dim), np.float32)
        for i, text in enumerate(items):
            for w in text.lower().split():
                seed = int.from_bytes(w.encode()[:8].ljust(8, b"_"), "little")
                out[i] += np.random.default_rng(seed).standard_normal(self.dim).astype(np.float32)
        return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-9)


@pytest.fixture(scope="session")
def bow_text() -> BagOfWordsText:
    return BagOfWordsText()


@pytest.fixture(scope="session")
def minilm():  # the real text tower (offline package); slow to import on a busy machine
    from mmrag.train.features import MiniLMText

    return MiniLMText()

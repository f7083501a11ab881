"""Sample data for ``mmrag demo``: real photos that ship inside installed
packages (scikit-image, scikit-learn, matplotlib) plus a few short notes.

The photos keep their original file names (``chelsea.png``, ``coffee.png``,
``china.jpg`` ...), which say nothing about what is in them: what the demo
finds comes from pixels (and from text printed in a picture), and every hit
says which channel found it.
"""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path
from typing import Any

from mmrag.errors import MmragError

# (package, path inside the package, name in the demo folder)
PHOTOS: tuple[tuple[str, str, str], ...] = (
    ("skimage", "data/chelsea.png", "chelsea.png"),
    ("skimage", "data/coffee.png", "coffee.png"),
    ("skimage", "data/rocket.jpg", "rocket.jpg"),
    ("skimage", "data/astronaut.png", "astronaut.png"),
    ("skimage", "data/horse.png", "horse.png"),
    ("skimage", "data/motorcycle_left.png", "motorcycle_left.png"),
    ("skimage", "data/text.png", "text.png"),
    ("skimage", "data/page.png", "page.png"),
    ("skimage", "data/camera.png", "camera.png"),
    ("skimage", "data/coins.png", "coins.png"),
    ("sklearn", "datasets/images/china.jpg", "china.jpg"),
    ("sklearn", "datasets/images/flower.jpg", "flower.jpg"),
    ("matplotlib", "mpl-data/sample_data/grace_hopper.jpg", "grace_hopper.jpg"),
)
QUERIES = ("a cat", "a cup of coffee", "a rocket launch", "a pagoda in China", "a flower")

NOTES: dict[str, str] = {
    "cat-care.md": "# Looking after a cat\n\nCats sleep up to sixteen hours a day, often curled up on a sofa or "
    "in a sunny window. Feed an adult cat twice a day and keep fresh water nearby. A scratching post "
    "saves the furniture.\n",
    "coffee-notes.txt": "Brewing notes. A good espresso takes about 25 seconds. Use 18 grams of finely "
    "ground beans; serve in a warm ceramic cup on a saucer. Cappuccino adds steamed milk foam.\n",
    "space-missions.md": "# Space missions\n\nA launch vehicle lifts off from the pad carrying a crew "
    "capsule. Astronauts train for years; Eileen Collins was the first woman to pilot and command the "
    "Space Shuttle.\n",
    "travel-china.md": "# Trip to Beijing\n\nThe Summer Palace has a tall pagoda above Kunming Lake. "
    "Next day we walked a section of the Great Wall.\n",
    "computing-history.html": "<html><head><title>Computing history</title></head><body><h1>Grace "
    "Hopper</h1><p>Rear Admiral Grace Hopper wrote the first compiler and popularised the term "
    "debugging after a moth was found in a relay.</p></body></html>",
}


def _package_file(package: str, inner: str) -> Path | None:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(list(spec.submodule_search_locations)[0]) / inner
    return path if path.is_file() else None


def make_samples(folder: Path) -> Path:
    """Write the sample files into ``folder`` (idempotent); return it."""
    folder.mkdir(parents=True, exist_ok=True)
    copied = 0
    for package, inner, name in PHOTOS:
        src = _package_file(package, inner)
        if src is None:
            continue
        dst = folder / name
        if not dst.exists():
            shutil.copyfile(src, dst)
        copied += 1
    for name, text in NOTES.items():
        (folder / name).write_text(text, encoding="utf-8")
    if copied == 0:
        raise MmragError(
            "no sample photos found: the demo copies them from scikit-image / scikit-learn / matplotlib. "
            'Install them: pip install "mmrag[dev]"'
        )
    return folder


def make_query_photo(data: Path, out: Path) -> Path | None:
    """A new photo to search with: ``rocket.jpg`` cropped, mirrored and recompressed."""
    from PIL import Image, ImageOps

    src = data / "rocket.jpg"
    if not src.is_file():
        return None
    im = Image.open(src).convert("RGB")
    w, h = im.size
    ImageOps.mirror(im.crop((w // 8, h // 10, w - w // 10, h - h // 8))).save(out, quality=60)
    return out


def found_by_line(hits: list[Any]) -> str:
    """One line: which list found each hit (``1 text->image``, ``2 lexical`` ...)."""
    parts = [f"{i} {(h.found_by or '?').replace('->', '→')}" for i, h in enumerate(hits, 1)]
    return "found by: " + ", ".join(parts) if parts else ""


__all__ = ["NOTES", "PHOTOS", "QUERIES", "found_by_line", "make_query_photo", "make_samples"]

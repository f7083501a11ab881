"""Sample data for ``mmrag demo``: real photos that ship inside installed
packages (scikit-image, scikit-learn, matplotlib) plus a few short notes.

The photos are copied under the names a camera gives (``IMG_0001.png`` ...),
which say nothing about what is in them (mmrag drops camera prefixes and
numbers from the words a file name contributes): every photo the demo finds
was found by its pixels (or by text printed in it), and every hit says which
channel found it. The demo prints which photo each name holds, so a reader can
check the hits.
"""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path
from typing import Any

from mmrag.errors import MmragError

# (package, path inside the package, what it shows)
PHOTOS: tuple[tuple[str, str, str], ...] = (
    ("skimage", "data/chelsea.png", "a tabby cat"),
    ("skimage", "data/coffee.png", "a cup of coffee"),
    ("skimage", "data/rocket.jpg", "a rocket on its launch pad"),
    ("skimage", "data/astronaut.png", "an astronaut"),
    ("skimage", "data/horse.png", "a horse (silhouette)"),
    ("skimage", "data/motorcycle_left.png", "a motorcycle"),
    ("skimage", "data/text.png", "printed text"),
    ("skimage", "data/page.png", "a scanned page"),
    ("skimage", "data/camera.png", "a man with a camera"),
    ("skimage", "data/coins.png", "old coins"),
    ("sklearn", "datasets/images/china.jpg", "a pagoda in China"),
    ("sklearn", "datasets/images/flower.jpg", "a flower"),
    ("matplotlib", "mpl-data/sample_data/grace_hopper.jpg", "Grace Hopper"),
)
ROCKET = 3  # PHOTOS[2]: the demo's query photo is made from it


def photo_name(number: int, inner: str) -> str:
    """The camera-style name of the ``number``-th photo (from 1): ``IMG_0003.jpg``."""
    return f"IMG_{number:04d}{Path(inner).suffix}"


NAMES = tuple(photo_name(i, inner) for i, (_, inner, _) in enumerate(PHOTOS, 1))  # PHOTOS' names in the demo folder
SHOWS = {name: shows for name, (_, _, shows) in zip(NAMES, PHOTOS)}
ROCKET_NAME = NAMES[ROCKET - 1]


def legend() -> list[str]:
    """``IMG_0001.png  a tabby cat (scikit-image data/chelsea.png)``, one line per photo."""
    return [f"{name}  {shows} ({package} {inner})" for name, (package, inner, shows) in zip(NAMES, PHOTOS)]


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
    path = Path(next(iter(spec.submodule_search_locations))) / inner
    return path if path.is_file() else None


def make_samples(folder: Path) -> Path:
    """Write the sample files into ``folder`` (idempotent); return it."""
    folder.mkdir(parents=True, exist_ok=True)
    copied = 0
    for name, (package, inner, _) in zip(NAMES, PHOTOS):
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
    """A new photo to search with: the rocket photo cropped, mirrored and recompressed."""
    from PIL import Image, ImageOps

    src = data / ROCKET_NAME
    if not src.is_file():
        return None
    im = Image.open(src).convert("RGB")
    w, h = im.size
    ImageOps.mirror(im.crop((w // 8, h // 10, w - w // 10, h - h // 8))).save(out, quality=60)
    return out


def shows_line(hits: list[Any]) -> str:
    """One line: what each photo among the hits shows (``2 a tabby cat, 3 a horse``), from ``PHOTOS``."""
    parts = [f"{i} {SHOWS[Path(h.source).name]}" for i, h in enumerate(hits, 1) if Path(h.source).name in SHOWS]
    return "the photos show: " + ", ".join(parts) if parts else ""


def found_by_line(hits: list[Any]) -> str:
    """One line: which list found each hit (``1 text->image``, ``2 lexical`` ...)."""
    parts = [f"{i} {(h.found_by or '?').replace('->', '→')}" for i, h in enumerate(hits, 1)]
    return "found by: " + ", ".join(parts) if parts else ""


__all__ = ["NAMES", "NOTES", "PHOTOS", "QUERIES", "ROCKET", "ROCKET_NAME", "SHOWS", "found_by_line", "legend", "make_query_photo", "make_samples", "photo_name",
           "shows_line"]

"""Sample data for ``mmrag demo``: real photos that ship inside installed
packages (scikit-image, scikit-learn, matplotlib) plus a few short notes.

File names are descriptive on purpose: in the offline space an image without
an image tower is found through its OCR text and file-name words.
"""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

from mmrag.errors import MmragError

# (package, path inside the package, name in the demo folder)
PHOTOS: tuple[tuple[str, str, str], ...] = (
    ("skimage", "data/chelsea.png", "cat-chelsea-tabby.png"),
    ("skimage", "data/coffee.png", "coffee-cup-on-saucer.png"),
    ("skimage", "data/rocket.jpg", "rocket-launch-pad.jpg"),
    ("skimage", "data/astronaut.png", "astronaut-portrait.png"),
    ("skimage", "data/horse.png", "horse-silhouette.png"),
    ("skimage", "data/motorcycle_left.png", "motorcycle-stereo-photo.png"),
    ("skimage", "data/text.png", "handwritten-math-notes.png"),
    ("skimage", "data/page.png", "page-scan-book.png"),
    ("sklearn", "datasets/images/china.jpg", "china-summer-palace-pagoda.jpg"),
    ("sklearn", "datasets/images/flower.jpg", "flower-close-up.jpg"),
    ("matplotlib", "mpl-data/sample_data/grace_hopper.jpg", "grace-hopper-portrait.jpg"),
)

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


__all__ = ["NOTES", "PHOTOS", "make_samples"]

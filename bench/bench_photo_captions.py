"""Captions find real photos by their pixels: the shipped image towers side by side (``--towers``).

14 real photos (scikit-image and scikit-learn) are copied under neutral names
(``photo_00.png`` ... by a fixed shuffle), so neither the file name nor the
text channel can tell them apart; one index per tower is built through the
real ``Engine.add`` (LanceDB folder, every channel), and 15 plain captions
(one per photo, plus a second wording for two) are searched with the default
fused search. Printed: each caption's top hit per tower, and the rate at
which the right photo comes first, both towers in one run.

    python bench/bench_photo_captions.py [--work /tmp/photo-captions] [--towers lite0b,lite0c]

Not a test: prints a markdown table.
"""

from __future__ import annotations

import argparse
import random
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests.conftest.package_file

from tests.conftest import package_file

import mmrag
from mmrag.config import load_config
from mmrag.space.text import BACKBONE_CHOICES, TOWER_BACKBONE_B

PHOTOS = [("skimage", f"data/{n}") for n in (
    "astronaut.png", "brick.png", "camera.png", "chelsea.png", "coffee.png", "coins.png", "horse.png",
    "hubble_deep_field.jpg", "moon.png", "motorcycle_left.png", "retina.jpg", "rocket.jpg",
)] + [("sklearn", "datasets/images/china.jpg"), ("sklearn", "datasets/images/flower.jpg")]

CAPTIONS = {  # caption -> the photo it describes
    "a cat": "chelsea.png", "a cup of coffee": "coffee.png", "a rocket": "rocket.jpg",
    "a rocket launch": "rocket.jpg", "a motorcycle": "motorcycle_left.png", "a horse": "horse.png",
    "coins": "coins.png", "a flower": "flower.jpg", "the moon": "moon.png", "an astronaut": "astronaut.png",
    "a person": "astronaut.png", "a brick wall": "brick.png", "a camera": "camera.png",
    "a galaxy": "hubble_deep_field.jpg", "a city skyline": "china.jpg",
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--work", type=Path, default=Path("/tmp/photo-captions"))
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--towers", default=",".join(BACKBONE_CHOICES), help="comma-separated space.image_model values")
    args = ap.parse_args()
    shutil.rmtree(args.work, ignore_errors=True)
    photos = args.work / "photos"
    photos.mkdir(parents=True)
    order = list(range(len(PHOTOS)))
    random.Random(args.seed).shuffle(order)
    neutral: dict[str, str] = {}
    for i, (package, inner) in zip(order, PHOTOS):
        target = photos / f"photo_{i:02d}{Path(inner).suffix}"
        shutil.copyfile(package_file(package, inner), target)
        neutral[target.name] = Path(inner).name
    towers = {f"{c} (the default)" if c == TOWER_BACKBONE_B else c: c for c in args.towers.split(",")}
    found: dict[str, dict[str, tuple[str, str]]] = {}
    for label, choice in towers.items():
        index = args.work / f"index-{choice}"
        t0 = time.perf_counter()
        eng = mmrag.Engine.open(str(index), load_config({"index": str(index), "space.name": "minilm",
                                                         "space.image_model": choice}, environ={}))
        report = eng.add([photos])
        assert not report.failed, report.failed
        found[label] = {}
        for caption in CAPTIONS:
            top = eng.search(caption, k=1)[0]
            found[label][caption] = (neutral[Path(top.source).name], top.found_by)
        eng.close()
        print(f"{label}: indexed and searched in {time.perf_counter() - t0:.0f} s", flush=True)
    print("\n| caption | right photo | " + " | ".join(f"top hit, {t}" for t in towers) + " |")
    print("|---|---|" + "---|" * len(towers))
    for caption, want in CAPTIONS.items():
        cells = [f"{'**' if found[t][caption][0] == want else ''}{found[t][caption][0]}"
                 f"{'**' if found[t][caption][0] == want else ''} ({found[t][caption][1]})" for t in towers]
        print(f"| {caption} | {want} | " + " | ".join(cells) + " |")
    rates = [sum(found[t][c][0] == w for c, w in CAPTIONS.items()) for t in towers]
    print("| **right photo first** | | " + " | ".join(f"**{r} / {len(CAPTIONS)}**" for r in rates) + " |")
    print(f"\nchance: 1 / {len(PHOTOS)} per caption")


if __name__ == "__main__":
    main()

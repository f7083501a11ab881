#!/usr/bin/env python
"""Captioned pictures nobody here trained the image tower on: GCompris' drawings and photos.

Debian's ``gcompris-qt-data`` (GPL-3 game; pictures CC-BY-SA / CC0 / public domain,
credited in each folder's README inside the package) ships, inside Qt ``.rcc`` files:

- **drawings**: the hand-drawn words of the vocabulary activity (``lang``:
  ``giraffe.webp``, ``brain.webp``, ``eleven.webp``), the memory game's animals
  (``01_cat.svg``) and the baby-match objects (``bicycle.svg``);
- **photos**: the categorization activity's tools, fishes, monuments,
  renewable-energy and household photos, and the world animals (Wikimedia
  Commons and publicdomainpictures.net photos).

Each picture is copied under the hash of its bytes (``3f9a0c1e2b4d.webp``), so a
search finds it by its pixels, never by its file name, and captioned from its
original name: ``measuringTape3.webp`` -> "measuring tape", ``01_cat.svg`` ->
"cat", ``leaningTowerOfPisa.webp`` -> "leaning tower of pisa". Names that are not
an English word for what is drawn were left out by name alone, before any run
(``SKIP``: ``fusee``, ``raquette``, ``tuxhelico``, ...). Nothing here chooses a
picture by how it scores.

No head, PCA or mix trained on any of them. The drawings are used for nothing
else. The photos (not the drawings) fitted the zero-shot classifier
(``scripts/fit_classify.py``), whose per-part temperatures are the default
tower's flatness gate: four numbers of the photo rows are in-sample.

    apt-get download gcompris-qt-data && dpkg -x gcompris-qt-data_*.deb /tmp/gcompris-deb
    python scripts/make_gcompris_image_pairs.py --deb-root /tmp/gcompris-deb --out .cache/train

Writes ``OUT/gcompris-images/{drawings,photos}/<hash>.<ext>`` and
``OUT/pairs/gcompris_drawings.eval.jsonl``, ``OUT/pairs/gcompris_photos.eval.jsonl``
(paths relative to the pairs folder, as the other ``*.eval.jsonl`` sets).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from classify_data import unpack_rcc

RCC = ("lang", "memory", "babymatch", "categorization", "explore_world_animals")
DRAWINGS = (
    "lang/resource/words_sample",
    "memory/resource",
    "babymatch/resource/images",
)
PHOTOS = (
    "categorization/resource/images/tools",
    "categorization/resource/images/fishes",
    "categorization/resource/images/monuments",
    "categorization/resource/images/renewable",
    "categorization/resource/images/others",
    "explore_world_animals/resource/animals",
)
# Not an English word for the thing drawn (French, a mascot, a game card), chosen from the names alone.
SKIP = {
    "fusee", "rape", "raquette", "eggpot", "postpoint", "windflag", "sound", "tuxhelico", "tuxplane",
    "bluebaby", "greenbaby", "backcard", "background", "emptycard", "tux", "child", "question", "memory",
    "babymatch", "lang", "cutting tool", "buffetset", "monument",
}
PICTURES = {".webp", ".svg", ".png", ".jpg", ".jpeg"}


def caption(stem: str) -> str:
    """A plain caption from a file name: no ordinal prefix or number suffix, camelCase and ``_``/``-`` split."""
    s = re.sub(r"^\d+_", "", stem)
    s = re.sub(r"\d+$", "", s)
    s = re.sub(r"(?<=[a-z])(?=[A-Z])", " ", s)
    s = re.sub(r"[_\-]+", " ", s)
    return " ".join(s.lower().split())


def collect(acts: Path, folders: tuple[str, ...], out: Path, pairs_dir: Path) -> list[dict[str, str]]:
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    for folder in folders:
        for p in sorted((acts / folder).iterdir()):
            if p.suffix.lower() not in PICTURES:
                continue
            cap = caption(p.stem)
            if not cap or cap in SKIP or cap.replace(" ", "") in SKIP:
                continue
            data = p.read_bytes()
            dest = out / f"{hashlib.sha1(data).hexdigest()[:12]}{p.suffix.lower()}"
            if not dest.exists():
                dest.write_bytes(data)
            rel = Path("..") / dest.relative_to(pairs_dir.parent)
            rows.append({"a": str(rel), "b": cap, "collection": "gcompris", "origin": f"{folder}/{p.name}"})
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--deb-root", type=Path, required=True, help="where `dpkg -x gcompris-qt-data_*.deb` put the package")
    ap.add_argument("--out", type=Path, default=Path(".cache/train"))
    ap.add_argument("--work", type=Path, default=None, help="where the .rcc files are unpacked (default OUT/gcompris-rcc)")
    args = ap.parse_args(argv)
    rcc = args.deb_root / "usr/share/gcompris-qt/rcc"
    if not rcc.is_dir():
        raise SystemExit(f"error: {rcc} not found: run `apt-get download gcompris-qt-data && dpkg -x gcompris-qt-data_*.deb {args.deb_root}`")
    work = args.work or args.out / "gcompris-rcc"
    acts = work / "gcompris/src/activities"
    for name in RCC:
        if not (acts / name).is_dir():
            unpack_rcc(rcc / f"{name}.rcc", work)
    pairs_dir = args.out / "pairs"
    pairs_dir.mkdir(parents=True, exist_ok=True)
    images = args.out / "gcompris-images"
    for which, folders in (("drawings", DRAWINGS), ("photos", PHOTOS)):
        if (images / which).exists():
            shutil.rmtree(images / which)
        rows = collect(acts, folders, images / which, pairs_dir)
        path = pairs_dir / f"gcompris_{which}.eval.jsonl"
        path.write_text("".join(json.dumps(r) + "\n" for r in rows))
        print(f"{path}: {len(rows)} pictures, {len({r['b'] for r in rows})} distinct captions")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

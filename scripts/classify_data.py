"""Labelled picture sets for fitting and measuring zero-shot classification (all offline, made by others).

Fit sets (``fit_classify.py``; never the figures' test sets):

- **GCompris photos**: Debian ``gcompris-qt-data`` ships real photos (Wikimedia
  Commons, CC/PD, credited in each folder's README) inside Qt ``.rcc``
  resource files: the categorization activity's fishes, tools, monuments and
  renewable-energy pictures and household objects, and the farm and world
  animals. Labels: the folder (category) and the object's name from its file
  name (``measuringTape3.webp`` -> "measuring tape"). 162 photos.
  ``apt-get download gcompris-qt-data && dpkg -x gcompris-qt-data_*.deb DIR``.
- **OpenMoji** (npm ``openmoji``; never used to train the shipped head): the
  emoji whose code point falls in hash half 0, labelled by group and name; tags
  stand in for a picture's own words.

Test sets (``bench/bench_classify.py``): **Twemoji** in hash half 1 (disjoint
code points from the OpenMoji fit half; groups from the Noto ``emoji.json``,
names from ``unicodedata``), the **19 real photos** of scikit-image and
scikit-learn with labels written here, and sklearn's digits.
"""

from __future__ import annotations

import json
import re
import struct
import unicodedata
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np


@dataclass(frozen=True)
class Item:
    path: str
    category: str
    name: str
    text: str = ""  # the picture's own words (tags, title), if any


def half(code: str) -> int:
    """Which hash half a code point falls in (fit 0 / test 1), the same for every emoji set."""
    return zlib.crc32(code.lower().encode()) % 2


def unpack_rcc(path: Path, out: Path) -> None:
    """Unpack a Qt ``.rcc`` resource file (formats 1-3; zlib or zstd entries) into ``out``."""
    b = path.read_bytes()
    if b[:4] != b"qres":
        raise ValueError(f"{path} is not a Qt resource file")
    ver, tree, data, names = struct.unpack(">IIII", b[4:20])
    node = 22 if ver >= 2 else 14

    def name(off: int) -> str:
        n = struct.unpack(">H", b[names + off:names + off + 2])[0]
        return b[names + off + 6:names + off + 6 + 2 * n].decode("utf-16-be")

    stack = [(0, out)]
    while stack:
        i, prefix = stack.pop()
        o = tree + i * node
        noff, flags = struct.unpack(">IH", b[o:o + 6])
        here = prefix / name(noff) if i else prefix
        if flags & 2:
            count, first = struct.unpack(">II", b[o + 6:o + 14])
            stack += [(c, here) for c in range(first, first + count)]
            continue
        doff = struct.unpack(">I", b[o + 10:o + 14])[0]
        size = struct.unpack(">I", b[data + doff:data + doff + 4])[0]
        blob = b[data + doff + 4:data + doff + 4 + size]
        if flags & 1:
            blob = zlib.decompress(blob[4:])
        elif flags & 4:
            import zstandard

            blob = zstandard.ZstdDecompressor().decompress(blob, max_output_size=1 << 28)
        here.parent.mkdir(parents=True, exist_ok=True)
        here.write_bytes(blob)


NAMES = {"solar": "solar panel", "plier": "pliers", "screwDriver": "screwdriver", "measuringTape": "measuring tape",
         "sideCutter": "wire cutter", "nailCutter": "nail clipper", "spray": "spray bottle", "tweezer": "tweezers",
         "blackslate": "slate", "weighingMachine": "weighing scale", "erasers": "eraser", "spoons": "spoon",
         "scarlet_macaw": "macaw", "polar_bear": "polar bear", "dragon": "komodo dragon", "windmill": "wind turbine",
         "bulb": "light bulb"}
GCOMPRIS = (("categorization/resource/images/fishes", "fish"), ("categorization/resource/images/tools", "tool"),
            ("categorization/resource/images/monuments", "monument"), ("categorization/resource/images/renewable", "renewable energy"),
            ("categorization/resource/images/others", ""), ("explore_world_animals/resource/animals", "animal"),
            ("explore_farm_animals/resource/animals", "animal"))


def gcompris_photos(deb_root: Path, work: Path) -> list[Item]:
    """The GCompris photos (``deb_root``: where ``dpkg -x`` put the package), unpacked once into ``work``."""
    rcc = deb_root / "usr/share/gcompris-qt/rcc"
    acts = work / "gcompris/src/activities"
    for name in ("categorization", "explore_world_animals", "explore_farm_animals"):
        if not (acts / name).is_dir():
            unpack_rcc(rcc / f"{name}.rcc", work)
    items = []
    for folder, cat in GCOMPRIS:
        for p in sorted((acts / folder).glob("*.webp")):
            stem = re.sub(r"\d+$", "", p.stem)
            if stem in ("cuttingTool", "buffetset", "farm-animals"):  # no one object in the picture
                continue
            name = "monument" if cat == "monument" else NAMES.get(stem, stem.replace("_", " "))
            items.append(Item(str(p), cat or "object", name))
    return items


OPENMOJI_GROUPS = {"people-body": "People & Body", "objects": "Objects", "symbols": "Symbols", "travel-places": "Travel & Places",
                   "smileys-emotion": "Smileys & Emotion", "animals-nature": "Animals & Nature", "food-drink": "Food & Drink",
                   "activities": "Activities"}


def category_label(cat: str) -> str:
    return cat.replace("&", "and").lower()


def openmoji_items(package: Path, which: int = 0) -> list[Item]:
    """OpenMoji emoji (no skin-tone variants) in hash half ``which``: group, name and tags."""
    rows = json.loads((package / "data/openmoji.json").read_text(encoding="utf-8"))
    svg = package / "color/svg"
    return [Item(str(svg / f"{e['hexcode']}.svg"), category_label(OPENMOJI_GROUPS[e["group"]]), e["annotation"], e.get("tags", ""))
            for e in rows if e["group"] in OPENMOJI_GROUPS and not e["skintone"] and half(e["hexcode"]) == which
            and (svg / f"{e['hexcode']}.svg").is_file()]


def twemoji_items(package: Path, noto_json: Path, which: int = 1) -> list[Item]:
    """Twemoji SVGs in hash half ``which`` with their Noto category and (single code points) Unicode name."""
    cats = {e["unified"].lower(): e["category"] for e in json.loads(noto_json.read_text(encoding="utf-8"))
            if e.get("category") not in ("Component", "Flags")}
    out = []
    for p in sorted(package.rglob("*.svg")):
        if p.stem in cats and half(p.stem) == which:
            try:
                name = unicodedata.name(chr(int(p.stem, 16))).lower() if "-" not in p.stem else ""
            except ValueError:
                name = ""
            out.append(Item(str(p), category_label(cats[p.stem]), name))
    return out


# the real photos of scikit-image / scikit-learn, labels written by hand (what a person would call the picture)
PHOTOS = (("skimage", "data/chelsea.png", "cat"), ("skimage", "data/coffee.png", "coffee"), ("skimage", "data/rocket.jpg", "rocket"),
          ("skimage", "data/astronaut.png", "astronaut"), ("skimage", "data/motorcycle_left.png", "motorcycle"),
          ("skimage", "data/camera.png", "camera"), ("skimage", "data/coins.png", "coins"), ("skimage", "data/moon.png", "moon"),
          ("skimage", "data/page.png", "text"), ("skimage", "data/text.png", "text"), ("skimage", "data/brick.png", "brick wall"),
          ("skimage", "data/grass.png", "grass"), ("skimage", "data/gravel.png", "gravel"),
          ("skimage", "data/hubble_deep_field.jpg", "galaxy"), ("skimage", "data/retina.jpg", "eye"),
          ("skimage", "data/clock_motion.png", "clock"), ("skimage", "data/horse.png", "horse"),
          ("sklearn", "datasets/images/china.jpg", "temple"), ("sklearn", "datasets/images/flower.jpg", "flower"))


def real_photos() -> list[Item]:
    import importlib

    out = []
    for pkg, inner, label in PHOTOS:
        path = Path(importlib.import_module(pkg).__file__).parent / inner  # type: ignore[arg-type]
        out.append(Item(str(path), label, label))
    return out


def among(names: Sequence[str], k: int = 10, seed: int = 0) -> list[tuple[list[str], int]]:
    """Per item: its name among ``k - 1`` other names of the set (shuffled), and where it is."""
    rng = np.random.default_rng(seed)
    pool = sorted(set(names))
    out = []
    for n in names:
        others = [u for u in rng.permutation(pool)[: k + 2] if u != n][: k - 1]
        labels = [str(x) for x in rng.permutation([n, *others])]
        out.append((labels, labels.index(n)))
    return out


@dataclass
class Encoded:
    """A set's pictures through the space: the tower's parts, its one vector, and their own words."""

    parts: dict[str, np.ndarray]  # conse / head / image (the tower's fused vector)
    text: np.ndarray
    has_text: np.ndarray


def encode_items(space, config, items: Sequence[Item], batch: int = 64, log=print) -> Encoded:  # type: ignore[no-untyped-def]
    """Every picture once through the backbone (parts and the fused vector share the pass)."""
    from mmrag.classify import image_parts, text_part
    from mmrag.query import _load_image

    chunks: dict[str, list[np.ndarray]] = {}
    for s in range(0, len(items), batch):
        pils = [_load_image(it.path, config)[0] for it in items[s:s + batch]]
        got = image_parts(space, pils)
        for k, v in got.items():
            chunks.setdefault(k, []).append(v)
        log(f"  {min(s + batch, len(items))}/{len(items)} pictures")
    text, has = text_part(space, [it.text for it in items])
    return Encoded({k: np.concatenate(v) for k, v in chunks.items()}, text, has)


def make_task(space, enc: Encoded, labels: Sequence[Sequence[str]], y: Sequence[int], templates: Sequence[str],  # type: ignore[no-untyped-def]
              use_text: bool = False, keep: np.ndarray | None = None):
    """A ``classify_model.Task``: per part, each picture's cosines to its own label list."""
    from mmrag.classify import label_vectors
    from mmrag.classify_model import Task

    keep = np.ones(len(y), bool) if keep is None else keep
    uniq = sorted({lab for labs in labels for lab in labs})
    vecs = dict(zip(uniq, label_vectors(space, uniq, templates)))
    lv = np.stack([np.stack([vecs[lab] for lab in labs]) for labs in labels])  # (n, L, d)
    parts = dict(enc.parts) | ({"text": enc.text} if use_text else {})
    cos = {k: np.einsum("nd,nld->nl", v[keep], lv) for k, v in parts.items()}
    return Task(cos, np.asarray(y), enc.has_text[keep] if use_text else None)


def fixed(items: Sequence[Item], attr: str = "category") -> tuple[list[list[str]], list[int]]:
    """One label list for the whole set (its sorted values of ``attr``) and each item's index in it."""
    labels = sorted({getattr(it, attr) for it in items})
    return [labels] * len(items), [labels.index(getattr(it, attr)) for it in items]


def named(items: Sequence[Item], k: int = 10, seed: int = 0) -> tuple[list[list[str]], list[int]]:
    pairs = among([it.name for it in items], k, seed)
    return [p[0] for p in pairs], [p[1] for p in pairs]


__all__ = ["Encoded", "Item", "among", "encode_items", "fixed", "gcompris_photos", "half", "make_task", "named", "openmoji_items", "real_photos", "twemoji_items", "unpack_rcc"]

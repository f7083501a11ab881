"""Pairs files, held-out splits and image decoding for training.

A pairs file lists matching items ``{a, b}``: ``a`` is a path (an image) or a
text, ``b`` is usually a caption. Formats:

- JSONL: one object per line, ``{"a": "img/sheep.png", "b": "a sheep"}``
- CSV: a header row with columns ``a`` and ``b``
- a folder: every image (or sound: wav, flac, ogg, mp3 ...) with a sidecar
  ``NAME.txt`` (one caption per line), otherwise the file name itself
  (``red_apple.png`` → "red apple", ``dog-bark.wav`` → "dog bark")

Relative paths are resolved against the pairs file's folder. Several rows may
share one ``a`` (several captions of one picture): they form one *group*,
and a held-out split never cuts a group in two.

A JSONL row may also list ``hard_negatives``: files known to be *wrong* for
caption ``b`` (``mmrag feedback --export`` writes the query's wrong hits
there). A group keeps the union of its rows' negatives (minus ``a`` itself);
the bind trainers put them into the loss's text→item denominator
(``losses.py``).
"""

from __future__ import annotations

import csv
import hashlib
import json
import re
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mmrag.errors import TrainingError
from mmrag.ingest.captions import PICTURE_SUFFIXES
from mmrag.ingest.heif import HEIC_HINT, heif_support, is_heif
from mmrag.space.pixels import to_square_rgb

IMAGE_SUFFIXES = PICTURE_SUFFIXES  # the pictures ``mmrag add`` reads: a folder of pairs takes the same files
AUDIO_SUFFIXES = {".wav", ".flac", ".ogg", ".oga", ".opus", ".mp3", ".m4a", ".aac", ".aiff", ".aif", ".wma"}
MEDIA_SUFFIXES = IMAGE_SUFFIXES | AUDIO_SUFFIXES
MAX_IMAGE_PIXELS = 64_000_000  # decompression-bomb guard for training images


@dataclass(frozen=True)
class Pair:
    a: str
    b: str
    negatives: tuple[str, ...] = ()  # files wrong for caption b (hard negatives)


@dataclass(frozen=True)
class Group:
    """One ``a`` item with all of its ``b`` captions (first is the plain one) and hard negatives."""

    a: str
    captions: tuple[str, ...]
    negatives: tuple[str, ...] = ()


def _resolve(value: str, base: Path) -> str:
    p = Path(value)
    if p.suffix.lower() in MEDIA_SUFFIXES and not p.is_absolute():
        return str((base / p).resolve())
    return value


def read_pairs(path: str | Path) -> list[Pair]:
    """Read a JSONL/CSV pairs file or a folder of images (see module doc)."""
    src = Path(path)
    if not src.exists():
        raise TrainingError(f"pairs file {src} does not exist: pass a JSONL/CSV file with columns a,b or a folder of images")
    if src.is_dir():
        return _folder_pairs(src)
    base = src.parent
    pairs: list[Pair] = []
    if src.suffix.lower() == ".csv":
        with src.open(newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh)
            if not reader.fieldnames or not {"a", "b"} <= set(reader.fieldnames):
                raise TrainingError(f"{src}: a CSV pairs file needs a header row with columns 'a' and 'b'")
            for n, row in enumerate(reader, start=2):
                pairs.append(_pair(row.get("a"), row.get("b"), base, f"{src}:{n}"))
    else:
        with src.open(encoding="utf-8") as fh:
            for n, line in enumerate(fh, start=1):
                if not line.strip():
                    continue
                try:
                    obj = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise TrainingError(f"{src}:{n}: not valid JSON ({exc.msg}); each line must be {{\"a\": ..., \"b\": ...}}") from None
                if not isinstance(obj, dict):
                    raise TrainingError(f"{src}:{n}: each line must be a JSON object with keys 'a' and 'b'")
                pair = _pair(obj.get("a"), obj.get("b"), base, f"{src}:{n}")
                negs = _negatives(obj.get("hard_negatives"), base, f"{src}:{n}")
                pairs.append(Pair(pair.a, pair.b, negs) if negs else pair)
    if not pairs:
        raise TrainingError(f"{src} holds no pairs: add lines like {{\"a\": \"img.png\", \"b\": \"a caption\"}}")
    return pairs


def _pair(a: object, b: object, base: Path, where: str) -> Pair:
    if not isinstance(a, str) or not isinstance(b, str) or not a.strip() or not b.strip():
        raise TrainingError(f"{where}: both 'a' and 'b' must be non-empty strings")
    return Pair(_resolve(a.strip(), base), _resolve(b.strip(), base))


def _negatives(value: object, base: Path, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise TrainingError(f"{where}: 'hard_negatives' must be a list of file paths (the items wrong for 'b'), e.g. [\"b.png\"]")
    return tuple(dict.fromkeys(_resolve(v.strip(), base) for v in value))


def caption_from_name(name: str) -> str:
    words = re.sub(r"[_\-.]+", " ", Path(name).stem)
    words = re.sub(r"\d+", " ", words)
    return " ".join(words.split())


def _folder_pairs(folder: Path) -> list[Pair]:
    pairs: list[Pair] = []
    for img in sorted(p for p in folder.rglob("*") if p.suffix.lower() in MEDIA_SUFFIXES and p.is_file()):
        side = img.with_suffix(".txt")
        caps = [c.strip() for c in side.read_text(encoding="utf-8").splitlines() if c.strip()] if side.exists() else []
        caps = caps or [caption_from_name(img.name)]
        pairs.extend(Pair(str(img.resolve()), c) for c in caps if c)
    if not pairs:
        raise TrainingError(
            f"{folder} holds no pictures or sounds: put images (png, jpg, svg ...) or sounds (wav, flac, ogg ...) there, "
            "optionally with NAME.txt captions"
        )
    return pairs


def group_pairs(pairs: Iterable[Pair]) -> list[Group]:
    """Group rows by ``a`` keeping first-seen order (and caption order); negatives are pooled per ``a``."""
    order: dict[str, list[str]] = {}
    negs: dict[str, dict[str, None]] = {}
    for p in pairs:
        caps = order.setdefault(p.a, [])
        if p.b not in caps:
            caps.append(p.b)
        pool = negs.setdefault(p.a, {})
        pool.update((n, None) for n in p.negatives if n != p.a)
    return [Group(a, tuple(c), tuple(negs[a])) for a, c in order.items()]


def split_groups(groups: Sequence[Group], holdout: float, seed: int) -> tuple[list[Group], list[Group]]:
    """Deterministic held-out split by group: ``(train, heldout)``."""
    if not 0.0 <= holdout < 1.0:
        raise TrainingError(f"--holdout must be in [0, 1), got {holdout}")
    rng = np.random.default_rng(seed)
    idx = rng.permutation(len(groups))
    n_held = round(holdout * len(groups))
    if holdout > 0 and n_held < 2 and len(groups) >= 4:
        n_held = 2
    held = sorted(idx[:n_held].tolist())
    train = sorted(idx[n_held:].tolist())
    return [groups[i] for i in train], [groups[i] for i in held]


def is_image_path(value: str) -> bool:
    return Path(value).suffix.lower() in IMAGE_SUFFIXES


def is_audio_path(value: str) -> bool:
    return Path(value).suffix.lower() in AUDIO_SUFFIXES


def load_image(path: str | Path, size: int, max_pixels: int = MAX_IMAGE_PIXELS) -> np.ndarray:
    """Decode a picture (raster or SVG) to ``(size, size, 3)`` uint8 RGB.

    Transparency is flattened onto white; the picture is letterboxed (aspect
    kept) onto a white square. Raises ``TrainingError`` for unreadable files
    and for rasters above ``max_pixels`` (decompression bombs).
    """
    from PIL import Image

    p = Path(path)
    try:
        if p.suffix.lower() in (".svg", ".svgz"):
            im = _render_svg(p, size)
        else:
            with p.open("rb") as fh:
                head = fh.read(16)
            if is_heif(head) and not heif_support():  # an iPhone's photo: pillow-heif's reader (the heic extra)
                raise TrainingError(f"{p}: {HEIC_HINT}")
            with warnings.catch_warnings():
                warnings.simplefilter("error", Image.DecompressionBombWarning)
                im = Image.open(p)
                if im.width * im.height > max_pixels:
                    raise TrainingError(f"{p}: {im.width}x{im.height} pixels exceeds the {max_pixels} pixel limit")
                im.draft("RGB", (size, size))
                im.load()
        return to_square_rgb(im, size)
    except TrainingError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise TrainingError(f"{p}: refused as a decompression bomb ({exc})") from None
    except Exception as exc:  # noqa: BLE001 - any decoder failure is one bad file
        raise TrainingError(f"{p}: cannot read this picture ({type(exc).__name__}: {exc})") from None


def _render_svg(path: Path, size: int):  # -> PIL.Image.Image
    import io

    from PIL import Image

    from mmrag.ingest.svg import resvg_png  # on a thread with room for deeply nested drawings

    data = resvg_png(svg_path=str(path), width=size * 2, background="#ffffff")
    return Image.open(io.BytesIO(data))


def fingerprint(items: Sequence[str], *extra: object) -> str:
    """A short stable hash of a list of strings (cache keys)."""
    h = hashlib.sha256()
    for it in items:
        h.update(it.encode("utf-8", "surrogatepass"))
        h.update(b"\0")
    for e in extra:
        h.update(repr(e).encode())
    return h.hexdigest()[:16]


__all__ = [
    "AUDIO_SUFFIXES",
    "Group",
    "Pair",
    "caption_from_name",
    "fingerprint",
    "group_pairs",
    "is_audio_path",
    "is_image_path",
    "load_image",
    "read_pairs",
    "split_groups",
    "to_square_rgb",
]

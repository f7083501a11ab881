"""Which columns of a record file are the id, the text, the pictures and the fields.

A mapping comes from three places, later ones winning key by key:

1. **auto** (from the header and the first ``SAMPLE_ROWS`` rows): an id-like
   column with unique values (``id``, ``sku``, ``*_id`` ...), picture columns
   (names like ``image``/``photo``, or values ending in ``.png``/``.jpg`` ...),
   text columns (values that are not numbers, dates, yes/no or links), a title
   (``title``/``name``/``product`` ..., else the first text column), every
   non-picture column kept as a typed field;
2. a **sidecar** next to the file, ``catalogue.mmrag.toml`` (or
   ``catalogue.csv.mmrag.toml``)::

       id = "sku"
       text = ["title", "description"]
       image = ["photo"]
       title = "title"
       fields = ["title", "price", "brand", "link", "added"]   # default: all but pictures
       sheet = "Products"            # .xlsx: only this sheet
       image_root = "pictures"       # relative picture paths start here (default: the file's folder)
       fetch_urls = false            # http(s) pictures are fetched only when true
       [types]
       price = "number"              # text | number | date | bool | link
       added = "date"

3. **flags**: ``mmrag add cat.csv --map id=sku --map text=title,description
   --map image=photo --map type.price=number`` (``ingest.record_map``, keys
   joined with ``;``).
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from mmrag.errors import IngestError
from mmrag.fields import TYPES, field_name, guess_type, infer_type

SAMPLE_ROWS = 200
KEYS = ("id", "text", "image", "title", "fields", "sheet", "image_root", "fetch_urls", "types")
_ID_NAMES = ("id", "sku", "uid", "uuid", "key", "code", "item_id", "product_id", "article", "ean", "isbn")
_TITLE_NAMES = ("title", "name", "product", "product_name", "item", "item_name", "label", "heading")
_IMAGE_NAME = re.compile(r"(image|img|photo|picture|pic|thumbnail|thumb)", re.IGNORECASE)
_IMAGE_VALUE = re.compile(r"\.(png|jpe?g|webp|gif|bmp|tiff?)(\?.*)?$", re.IGNORECASE)
_LONG_TEXT = ("description", "desc", "details", "summary", "text", "body", "caption", "about", "notes")


@dataclass(frozen=True)
class RecordMapping:
    """A resolved mapping. Column names are the file's own (headers, JSON keys)."""

    id: str | None
    text: tuple[str, ...]
    image: tuple[str, ...]
    title: str | None
    fields: tuple[str, ...]
    types: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    names: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))  # column -> field name
    sheet: str | None = None
    image_root: Path | None = None
    fetch_urls: bool = False

    @functools.cached_property
    def fingerprint_value(self) -> str:
        return self.fingerprint()

    def fingerprint(self) -> str:
        """Changes when the mapping changes (then every row is rebuilt)."""
        data = [self.id, self.text, self.image, self.title, self.fields, sorted(self.types.items()),
                str(self.image_root or ""), self.fetch_urls]
        return hashlib.blake2b(json.dumps(data, default=str).encode(), digest_size=8).hexdigest()

    def describe(self) -> str:
        return (f"id={self.id or '(row content)'}; text={','.join(self.text) or '-'}; "
                f"image={','.join(self.image) or '-'}; title={self.title or '-'}; "
                "fields=" + ",".join(f"{c}:{self.types.get(c, 'text')}" for c in self.fields))


def sidecar_path(path: Path) -> Path | None:
    for cand in (path.with_name(path.stem + ".mmrag.toml"), path.with_name(path.name + ".mmrag.toml")):
        if cand.is_file():
            return cand
    return None


def is_sidecar(path: Path) -> bool:
    return path.name.endswith(".mmrag.toml")


def read_sidecar(path: Path) -> dict[str, Any]:
    side = sidecar_path(path)
    if side is None:
        return {}
    try:
        data = tomllib.loads(side.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise IngestError(str(path), f"cannot read its mapping {side.name} ({exc}); fix the TOML") from None
    unknown = sorted(set(data) - set(KEYS))
    if unknown:
        raise IngestError(str(path), f"{side.name} has unknown keys {unknown}; known keys: {', '.join(KEYS)}")
    return data


def parse_flags(spec: str) -> dict[str, Any]:
    """``"id=sku;text=title,description;type.price=number;fetch_urls=true"`` -> a mapping dict."""
    out: dict[str, Any] = {}
    for part in (p.strip() for p in spec.split(";")):
        if not part:
            continue
        key, eq, value = part.partition("=")
        key, value = key.strip().lower(), value.strip()
        if not eq:
            raise IngestError("--map", f"'{part}' is not KEY=VALUE (keys: {', '.join(KEYS)}, type.COLUMN)")
        if key.startswith("type."):
            out.setdefault("types", {})[key[5:]] = value
        elif key in ("text", "image", "fields"):
            out[key] = [v.strip() for v in value.split(",") if v.strip()]
        elif key == "fetch_urls":
            out[key] = value.lower() in ("1", "true", "yes", "on")
        elif key in KEYS:
            out[key] = value
        else:
            raise IngestError("--map", f"unknown mapping key '{key}' (keys: {', '.join(KEYS)}, type.COLUMN)")
    return out


def _as_list(value: Any, key: str, source: str) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, Sequence) and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise IngestError(source, f"mapping key '{key}' must be a column name or a list of names")


def resolve(
    path: Path, header: Sequence[str], sample: Sequence[Mapping[str, Any]], flags: str = "", fetch_urls: bool = False,
    defaults: Mapping[str, Any] | None = None,
) -> RecordMapping:
    """The mapping for ``path``: auto < ``defaults`` (a format's own, e.g. a calendar's) < sidecar < flags.
    ``IngestError`` for a column not in the header."""
    source = str(path)
    given: dict[str, Any] = {**(defaults or {}), **read_sidecar(path), **parse_flags(flags)}
    if "types" in given:
        given["types"] = {**read_sidecar(path).get("types", {}), **parse_flags(flags).get("types", {})}
    cols = list(header)
    lower = {c.lower(): c for c in cols}

    def column(name: str, key: str) -> str:
        if name in cols:
            return name
        if name.lower() in lower:
            return lower[name.lower()]
        raise IngestError(source, f"the mapping's {key} names column '{name}', which is not in the file "
                                  f"(columns: {', '.join(cols[:40])})")

    samples = {c: [r.get(c) for r in sample] for c in cols}
    types: dict[str, str] = {c: infer_type(samples[c]) for c in cols}
    for c, t in dict(given.get("types", {})).items():
        if t not in TYPES:
            raise IngestError(source, f"type '{t}' for column '{c}' is not one of {', '.join(TYPES)}")
        types[column(c, "types")] = t

    if "image" in given:
        image = tuple(column(c, "image") for c in _as_list(given["image"], "image", source))
    else:
        image = tuple(c for c in cols if _looks_like_image(c, samples[c]))
    if "id" in given:
        ident: str | None = column(str(given["id"]), "id") if given["id"] else None
    else:
        ident = _guess_id(cols, samples)
    if "text" in given:
        text = tuple(column(c, "text") for c in _as_list(given["text"], "text", source))
    else:
        text = tuple(c for c in cols if c not in image and c != ident and types[c] == "text"
                     and any(guess_type(v) == "text" for v in samples[c]))
    if "title" in given:
        title: str | None = column(str(given["title"]), "title")
    else:
        title = next((lower[n] for n in _TITLE_NAMES if n in lower and lower[n] not in image), None)
        title = title or (text[0] if text else None)
    if "fields" in given:
        kept = tuple(column(c, "fields") for c in _as_list(given["fields"], "fields", source))
    else:
        kept = tuple(c for c in cols if c not in image)
    names = _field_names(cols)
    root = given.get("image_root")
    return RecordMapping(
        id=ident, text=text, image=image, title=title, fields=kept,
        types=MappingProxyType({c: types[c] for c in cols}), names=MappingProxyType(names),
        sheet=given.get("sheet") or None,
        image_root=(path.parent / str(root)) if root else None,
        fetch_urls=bool(given.get("fetch_urls", fetch_urls)),
    )


def _field_names(cols: Iterable[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    used: set[str] = set()
    for i, c in enumerate(cols):
        name = field_name(c, i)
        base, n = name, 2
        while name in used:
            name, n = f"{base}_{n}", n + 1
        used.add(name)
        out[c] = name
    return out


def _looks_like_image(column: str, values: Sequence[Any]) -> bool:
    filled = [v for v in values if isinstance(v, str) and v.strip()]
    if not filled:
        return False
    pictures = sum(1 for v in filled if _IMAGE_VALUE.search(v.strip()))
    return pictures * 2 >= len(filled) or (_IMAGE_NAME.search(column) is not None and pictures > 0)


def _guess_id(cols: Sequence[str], samples: Mapping[str, list[Any]]) -> str | None:
    def unique(c: str) -> bool:
        vals = [str(v).strip() for v in samples[c] if v is not None and str(v).strip()]
        return bool(vals) and len(vals) == len(samples[c]) and len(set(vals)) == len(vals)

    lower = {c.lower().strip(): c for c in cols}
    for name in _ID_NAMES:
        if name in lower and unique(lower[name]):
            return lower[name]
    for c in cols:
        low = c.lower().strip()
        if low.endswith(("_id", " id")) and unique(c):
            return c
    return None


def is_long_text(column: str) -> bool:
    return column.lower().strip() in _LONG_TEXT


__all__ = [
    "SAMPLE_ROWS",
    "RecordMapping",
    "is_long_text",
    "is_sidecar",
    "parse_flags",
    "read_sidecar",
    "resolve",
    "sidecar_path",
]

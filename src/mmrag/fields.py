"""Typed fields of records (catalogue rows, table rows): names, types, values, display.

A record keeps its columns as *fields*: a flat JSON object whose values are
``int``/``float`` (type ``number``) or strings (types ``text``, ``link``,
``date``, and ``bool`` stored as ``"yes"``/``"no"``). Dates are stored as ISO 8601 text (``2024-05-01`` or
``2024-05-01T09:30:00``) so that comparing them as strings compares them as
dates, in every store. Pure functions only; no I/O.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from collections.abc import Iterable, Mapping
from typing import Any

TYPES = ("text", "number", "date", "bool", "link")
_NAME_BAD = re.compile(r"[^0-9a-z_]+")
_NUMBER = re.compile(r"[-+]?(?:\d{1,3}(?:,\d{3})+|\d+)?(?:\.\d+)?(?:[eE][-+]?\d+)?")
_CURRENCY = "$€£¥₹"
_DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M")
_TRUE, _FALSE = {"true", "yes"}, {"false", "no"}
_LINK = re.compile(r"^(?:https?|ftp)://\S+$", re.IGNORECASE)
MAX_TEXT_CHARS = 8_000  # one field value; longer text is cut (it still counts for the row hash)


def field_name(raw: object, position: int = 0) -> str:
    """A column header as a filter-friendly name: ``"Unit Price ($)"`` -> ``unit_price``."""
    name = _NAME_BAD.sub("_", str(raw or "").strip().lower()).strip("_")
    if not name:
        return f"col{position + 1}"
    return f"f_{name}" if name[0].isdigit() else name


def is_link(value: object) -> bool:
    return isinstance(value, str) and _LINK.match(value.strip()) is not None


def _parse_number(text: str) -> int | float | None:
    s = text.strip().strip(_CURRENCY).strip()
    if not s or _NUMBER.fullmatch(s) is None or not any(c.isdigit() for c in s):
        return None
    s = s.replace(",", "")
    try:
        if re.fullmatch(r"[-+]?\d+", s):
            return int(s)
        value = float(s)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


_ISO_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})")


def _parse_date(text: str) -> str | None:
    s = text.strip()
    if len(s) < 8 or not s[:4].isdigit():
        return None
    m = _ISO_DATE.fullmatch(s)
    if m:  # the common case, without strptime
        try:
            return dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3))).isoformat()
        except ValueError:
            return None
    for fmt in _DATE_FORMATS:
        try:
            value = dt.datetime.strptime(s, fmt)
        except ValueError:
            continue
        return value.date().isoformat() if fmt in ("%Y-%m-%d", "%Y/%m/%d") else value.isoformat()
    try:  # 2024-05-01T09:30:00+02:00 and friends
        return dt.datetime.fromisoformat(s).isoformat()
    except ValueError:
        return None


def guess_type(value: object) -> str | None:
    """The narrowest type ``value`` fits, or ``None`` for an empty value."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, (dt.date, dt.datetime)):
        return "date"
    if not isinstance(value, str):
        return "text"
    s = value.strip()
    if s.lower() in _TRUE | _FALSE:
        return "bool"
    if _parse_number(s) is not None:
        return "number"
    if _parse_date(s) is not None:
        return "date"
    if is_link(s):
        return "link"
    return "text"


def infer_type(values: Iterable[object]) -> str:
    """One type for a column from sample values: the type all non-empty values share, else ``text``."""
    seen = {t for t in (guess_type(v) for v in values) if t is not None}
    if len(seen) == 1:
        return seen.pop()
    return "text"


def convert(value: object, kind: str) -> Any:
    """``value`` as a stored field of type ``kind``; ``None`` for empty; ``ValueError`` saying why not."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if kind == "number":
        if isinstance(value, bool):
            raise ValueError(f"{value!r} is a yes/no value, not a number")
        if isinstance(value, (int, float)):
            if not math.isfinite(value):
                raise ValueError(f"{value!r} is not a finite number")
            return value
        number = _parse_number(str(value))
        if number is None:
            raise ValueError(f"{_show(value)} is not a number")
        return number
    if kind == "date":
        if isinstance(value, dt.datetime):
            return value.isoformat()
        if isinstance(value, dt.date):
            return value.isoformat()
        date = _parse_date(str(value))
        if date is None:
            raise ValueError(f"{_show(value)} is not a date (use YYYY-MM-DD)")
        return date
    if kind == "bool":  # stored as "yes"/"no": the same filter (in_stock = 'yes') works in every store
        if isinstance(value, bool):
            return "yes" if value else "no"
        s = str(value).strip().lower()
        if s in _TRUE:
            return "yes"
        if s in _FALSE:
            return "no"
        raise ValueError(f"{_show(value)} is not yes/no (true, false, yes, no)")
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value if v is not None)[:MAX_TEXT_CHARS]
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False, default=str)[:MAX_TEXT_CHARS]
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).strip()
    if kind == "link" and not is_link(text):
        raise ValueError(f"{_show(value)} is not a link (http://... or https://...)")
    return text[:MAX_TEXT_CHARS]


def _show(value: object) -> str:
    text = repr(value) if not isinstance(value, str) else "'" + value[:60] + ("…'" if len(value) > 60 else "'")
    return text


def format_value(value: object) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.2f}" if not value.is_integer() else str(int(value))
    return str(value)


def reads_as(raw: str, value: object) -> bool:
    """Whether the cell text ``raw`` is the stored field ``value`` (``"89.00"`` is 89, ``"2024/05/01"`` is
    ``"2024-05-01"``, ``"Yes"`` is ``"yes"``) (pure)."""
    text = " ".join(raw.split())
    if value is None or not text:
        return False
    if text in (" ".join(str(value).split()), " ".join(format_value(value).split())):
        return True
    for kind in ("number", "date", "bool"):
        try:
            if convert(text, kind) == value:
                return True
        except ValueError:
            continue
    return False


def format_fields(fields: Mapping[str, Any], skip: Iterable[str] = (), limit: int = 12) -> str:
    """``price: 24.50; brand: Acme; link: https://...`` (at most ``limit`` fields, long values cut)."""
    skipped = set(skip)
    parts = []
    for name, value in fields.items():
        if name in skipped or value is None or value == "":
            continue
        text = " ".join(format_value(value).split())
        if len(text) > 200:
            text = text[:200].rsplit(" ", 1)[0] + " …"
        parts.append(f"{name}: {text}")
        if len(parts) >= limit:
            break
    return "; ".join(parts)


def links(fields: Mapping[str, Any]) -> list[tuple[str, str]]:
    """``(name, url)`` of every link-valued field."""
    return [(k, v.strip()) for k, v in fields.items() if is_link(v)]


def dumps(fields: Mapping[str, Any]) -> str:
    """The stored form: compact JSON, keys in the given order."""
    return json.dumps(dict(fields), ensure_ascii=False, separators=(",", ":"), default=str)


def loads(text: str | None) -> dict[str, Any]:
    if not text:
        return {}
    try:
        value = json.loads(text)
    except (TypeError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


__all__ = [
    "TYPES",
    "convert",
    "dumps",
    "field_name",
    "format_fields",
    "format_value",
    "guess_type",
    "infer_type",
    "is_link",
    "links",
    "loads",
    "reads_as",
]

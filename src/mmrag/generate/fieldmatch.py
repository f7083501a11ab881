"""Answer a numeric question from the typed fields of retrieved records (no model).

"which item costs less than 20?", "shoes under 100", "rings over 500 euros":
``answer_from_fields`` finds the comparison in the question, picks the
numeric field it is about (a field named in the question; else a price-like
field when the question speaks of cost; else the only numeric field), and
lists the retrieved records whose value satisfies it, each cited::

    Items with price under 20: Team baseball cap (price 18) [3]; Graduation mortarboard (price 15) [5].

It only ever reads values that are in the context, so every number it states
is cited to the row it came from. ``None`` when the question has no
comparison or no context record has the field.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from mmrag.fields import format_value
from mmrag.generate.prompt import ContextItem

_OPS = {
    "less than": "<", "cheaper than": "<", "under": "<", "below": "<", "lower than": "<", "smaller than": "<",
    "at most": "<=", "no more than": "<=", "up to": "<=", "max": "<=",
    "more than": ">", "over": ">", "above": ">", "greater than": ">", "higher than": ">", "bigger than": ">",
    "at least": ">=", "no less than": ">=", "min": ">=",
    "<=": "<=", ">=": ">=", "<": "<", ">": ">",
}
_WORDS = {"<": "under", "<=": "at most", ">": "over", ">=": "at least"}
_CONSTRAINT = re.compile(
    r"(" + "|".join(re.escape(k) for k in sorted(_OPS, key=len, reverse=True)) + r")\s*[$€£¥]?\s*(-?\d+(?:\.\d+)?)",
    re.IGNORECASE,
)
_PRICE_WORDS = {"cost", "costs", "price", "priced", "cheap", "cheaper", "expensive", "pay", "euro", "euros",
                "dollar", "dollars", "pound", "pounds", "$", "€", "£", "budget", "afford"}
_PRICE_FIELDS = ("price", "cost", "amount", "unit_price", "price_eur", "price_usd", "msrp", "sale_price")
_WORD = re.compile(r"[^\W_]+|[$€£]", re.UNICODE)


@dataclass(frozen=True)
class Constraint:
    op: str
    value: float


def find_constraint(question: str) -> Constraint | None:
    m = _CONSTRAINT.search(question)
    return Constraint(_OPS[m.group(1).lower()], float(m.group(2))) if m else None


def _numeric(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def pick_field(question: str, items: Sequence[ContextItem]) -> str | None:
    """The numeric field the question is about."""
    names: dict[str, None] = {}
    for item in items:
        for k, v in item.hit.fields.items():
            if _numeric(v) is not None:
                names[k] = None
    if not names:
        return None
    words = {w.lower() for w in _WORD.findall(question)}
    for name in names:
        parts = set(name.split("_"))
        if name in words or parts & words or any(w.rstrip("s") == name for w in words):
            return name
    if words & _PRICE_WORDS:
        for name in _PRICE_FIELDS:
            if name in names:
                return name
        priced = [n for n in names if any(p in n for p in ("price", "cost"))]
        if priced:
            return priced[0]
    return next(iter(names)) if len(names) == 1 else None


def _name(item: ContextItem, field: str) -> str:
    title = item.hit.meta.get("title")
    if title:
        return title
    for k, v in item.hit.fields.items():
        if k != field and isinstance(v, str) and v.strip():
            return v.strip()[:80]
    return item.hit.label()


def answer_from_fields(question: str, items: Sequence[ContextItem]) -> list[str] | None:
    """Answer pieces (with citations) for a comparison question, or ``None``."""
    constraint = find_constraint(question)
    if constraint is None:
        return None
    field = pick_field(question, items)
    if field is None:
        return None
    test = {"<": float.__lt__, "<=": float.__le__, ">": float.__gt__, ">=": float.__ge__}[constraint.op]
    matches = []
    for item in items:
        value = _numeric(item.hit.fields.get(field))
        if value is not None and test(value, constraint.value):
            matches.append((item, item.hit.fields[field]))
    if not matches:
        return None
    bound = format_value(constraint.value)
    lead = f"Items with {field} {_WORDS[constraint.op]} {bound}:"
    listed = [f"{_name(item, field)} ({field} {format_value(value)}) [{item.number}]" for item, value in matches[:8]]
    return [lead + " " + "; ".join(listed) + "."]


__all__ = ["Constraint", "answer_from_fields", "find_constraint", "pick_field"]

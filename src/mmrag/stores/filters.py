"""mmrag's filter dialect: parse once, render per backend, evaluate in Python.

The dialect (``--where``) is a small SQL-like language::

    source LIKE '%2024%' AND modality = 'image'
    page >= 3 OR (t0 > 60 AND channel IN ('text', 'image'))
    NOT (source NOT LIKE 'notes/%') AND id NOT IN ('a', 'b')

- comparisons ``= == != <> < <= > >=`` between a column and a literal;
- ``[NOT] LIKE 'pattern'`` on string columns: ``%`` any run of characters,
  ``_`` one character, ``\\`` escapes the next character (``\\%``, ``\\_``,
  ``\\\\``) -- the same rules LanceDB and Milvus apply;
- ``[NOT] IN (literal, ...)``; ``AND``, ``OR``, ``NOT``, parentheses;
- string literals in single quotes (``''`` is a quote), integers, floats.

Only the columns of ``FILTER_COLUMNS`` may appear, with literals of the
column's kind (a float literal on an int column is an error, not a silent
rounding). Backend text is rendered *only* from the parsed tree, so user text
can never reach LanceDB or Milvus as raw SQL.

Any other name is a record field (``price < 50 AND brand = 'Acme'``): a key of
the row's ``fields`` JSON. A number literal compares the value as a number,
a string literal as text (ISO dates compare as dates). A row without the
field, or with a value of the other type, matches neither the comparison nor
its ``NOT`` (SQL's NULL logic, which LanceDB and Milvus both apply).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from mmrag.stores.base import FILTER_COLUMNS, fields_view
from mmrag.stores.filter_parse import (
    ANY,
    FIELD_PREFIX,
    MAX_DEPTH,
    MAX_IN_VALUES,
    MAX_LENGTH,
    ONE,
    And,
    Cmp,
    In,
    Like,
    Literal,
    Node,
    Not,
    Or,
    field_of,
    parse,
    parse_optional,
)


# -- rendering -----------------------------------------------------------------
def _lance_lit(value: Literal, kind: str) -> str:
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    return repr(float(value)) if kind == "float" else str(int(value))


def _like_text(pattern: tuple[str, ...]) -> str:
    parts = []
    for piece in pattern:
        if piece == ANY:
            parts.append("%")
        elif piece == ONE:
            parts.append("_")
        else:
            parts.append("\\" + piece if piece in "%_\\" else piece)
    return "".join(parts)


def _lance_field(name: str, numeric: bool) -> str:
    # names are [a-z0-9_] (the tokenizer), so they need no escaping inside the quotes
    text = f"json_get_string(`fields`, '{name}')"
    return f"try_cast({text} AS DOUBLE)" if numeric else text


def _lance_field_node(node: Cmp | Like | In, name: str) -> str:
    if isinstance(node, Cmp):
        numeric = not isinstance(node.value, str)
        return f"{_lance_field(name, numeric)} {node.op} {_lance_lit(node.value, 'float' if numeric else 'str')}"
    if isinstance(node, Like):
        pat = "'" + _like_text(node.pattern).replace("'", "''") + "'"
        return f"{_lance_field(name, False)} {'NOT LIKE' if node.negated else 'LIKE'} {pat}"
    groups = []
    for numeric in (True, False):
        vals = [v for v in node.values if isinstance(v, str) != numeric]
        if vals:
            lits = ", ".join(_lance_lit(v, "float" if numeric else "str") for v in vals)
            groups.append(f"{_lance_field(name, numeric)} IN ({lits})")
    inner = groups[0] if len(groups) == 1 else "(" + " OR ".join(groups) + ")"
    return f"(NOT {inner})" if node.negated else inner


def to_lance(node: Node) -> str:
    """Render as LanceDB (DataFusion) SQL."""
    if isinstance(node, (Cmp, Like, In)) and field_of(node.column) is not None:
        return _lance_field_node(node, field_of(node.column) or "")
    if isinstance(node, Cmp):
        kind = FILTER_COLUMNS[node.column]
        return f"`{node.column}` {node.op} {_lance_lit(node.value, kind)}"
    if isinstance(node, Like):
        pat = "'" + _like_text(node.pattern).replace("'", "''") + "'"
        return f"`{node.column}` {'NOT LIKE' if node.negated else 'LIKE'} {pat}"
    if isinstance(node, In):
        kind = FILTER_COLUMNS[node.column]
        vals = ", ".join(_lance_lit(v, kind) for v in node.values)
        return f"`{node.column}` {'NOT IN' if node.negated else 'IN'} ({vals})"
    if isinstance(node, And):
        return "(" + " AND ".join(to_lance(i) for i in node.items) + ")"
    if isinstance(node, Or):
        return "(" + " OR ".join(to_lance(i) for i in node.items) + ")"
    return f"(NOT ({to_lance(node.item)}))"


def _milvus_str(value: str) -> str:
    return (
        '"'
        + value.replace("\\", "\\\\")
        .replace('"', '\\"')
        .replace("\n", "\\n")
        .replace("\r", "\\r")
        .replace("\t", "\\t")
        + '"'
    )


def _milvus_lit(value: Literal, kind: str) -> str:
    if isinstance(value, str):
        return _milvus_str(value)
    return repr(float(value)) if kind == "float" else str(int(value))


_MILVUS_OPS = {"=": "==", "!=": "!=", "<": "<", "<=": "<=", ">": ">", ">=": ">="}


def to_milvus(node: Node, prefix_only: bool = False) -> str:
    """Render as a Milvus boolean expression.

    ``prefix_only``: the server matches only ``LIKE 'abc%'`` and plain
    equality patterns (Milvus before 2.4); any other LIKE is rendered as
    "true" where it counts positively and "false" where it is negated.

    Milvus mis-matches LIKE patterns holding a literal backslash next to
    wildcards, so such a LIKE is rendered loosely: the backslash becomes
    ``_`` where the LIKE counts positively and the LIKE becomes "false"
    where it is negated. The expression then selects a superset of the true
    rows; ``milvus_is_exact`` says when a Python re-check is needed.
    """
    return _milvus(node, True, prefix_only)


def _prefix_pattern(pattern: tuple[str, ...]) -> bool:
    """Literal text without escapes, optionally followed by one trailing ``%`` (what every Milvus matches)."""
    body = pattern[:-1] if pattern and pattern[-1] == ANY else pattern
    return all(p not in (ANY, ONE) and p not in "%_\\" for p in body)


def milvus_is_exact(node: Node | None, prefix_only: bool = False) -> bool:
    """``False`` when ``to_milvus(node)`` selects a superset (re-check with ``predicate``)."""
    if node is None or isinstance(node, (Cmp, In)):
        return True
    if isinstance(node, Like):
        return "\\" not in node.pattern and (not prefix_only or _prefix_pattern(node.pattern))
    if isinstance(node, (And, Or)):
        return all(milvus_is_exact(i, prefix_only) for i in node.items)
    return milvus_is_exact(node.item, prefix_only)


def _milvus_field_lit(value: Literal) -> str:
    return _milvus_str(value) if isinstance(value, str) else repr(value) if isinstance(value, float) else str(value)


def _milvus(node: Node, positive: bool, prefix_only: bool = False) -> str:
    name = field_of(node.column) if isinstance(node, (Cmp, Like, In)) else None
    if name is not None and not isinstance(node, Like):
        ref = f'fields["{name}"]'
        if isinstance(node, Cmp):
            return f"{ref} {_MILVUS_OPS[node.op]} {_milvus_field_lit(node.value)}"
        assert isinstance(node, In)
        alts = " or ".join(f"{ref} == {_milvus_field_lit(v)}" for v in node.values)  # Milvus: no IN on JSON keys
        return f"(not ({alts}))" if node.negated else f"({alts})"
    if isinstance(node, Cmp):
        kind = FILTER_COLUMNS[node.column]
        return f"{node.column} {_MILVUS_OPS[node.op]} {_milvus_lit(node.value, kind)}"
    if isinstance(node, Like):
        pattern = node.pattern
        if prefix_only and not _prefix_pattern(pattern):  # the server cannot match it: widen
            return '(not (id == ""))' if positive else 'id == ""'
        if "\\" in pattern:
            if positive != node.negated:  # counts positively: widen the backslash to "any one character"
                pattern = tuple(ONE if p == "\\" else p for p in pattern)
            else:
                return 'id == ""' if not node.negated else '(not (id == ""))'  # ids are never empty
        ref = node.column if name is None else f'fields["{name}"]'
        expr = f"{ref} like {_milvus_str(_like_text(pattern))}"
        return f"(not ({expr}))" if node.negated else expr
    if isinstance(node, In):
        kind = FILTER_COLUMNS[node.column]
        vals = ", ".join(_milvus_lit(v, kind) for v in node.values)
        return f"{node.column} {'not in' if node.negated else 'in'} [{vals}]"
    if isinstance(node, And):
        return "(" + " and ".join(_milvus(i, positive, prefix_only) for i in node.items) + ")"
    if isinstance(node, Or):
        return "(" + " or ".join(_milvus(i, positive, prefix_only) for i in node.items) + ")"
    return f"(not ({_milvus(node.item, not positive, prefix_only)}))"


# -- evaluation in Python --------------------------------------------------------
def like_regex(pattern: tuple[str, ...]) -> re.Pattern[str]:
    body = "".join(".*" if p == ANY else "." if p == ONE else re.escape(p) for p in pattern)
    return re.compile(body, re.DOTALL)


_CMP: dict[str, Callable[[Any, Any], bool]] = {
    "=": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
}


def _getter(column: str) -> Callable[[Any], Any]:
    def get(row: Any) -> Any:
        return row[column] if isinstance(row, Mapping) else getattr(row, column)

    return get


def _has_fields(node: Node) -> bool:
    if isinstance(node, (Cmp, Like, In)):
        return field_of(node.column) is not None
    if isinstance(node, (And, Or)):
        return any(_has_fields(i) for i in node.items)
    return _has_fields(node.item)


def _field_value(row: Any, name: str) -> Any:
    raw = row.get("fields") if isinstance(row, Mapping) else getattr(row, "fields", None)
    return (raw if isinstance(raw, Mapping) else fields_view(raw)).get(name)


def _as_number(value: Any) -> float | None:
    """The value as the stores' ``try_cast(... AS DOUBLE)`` sees it."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        return float(value)
    try:
        return float(str(value).strip())
    except ValueError:
        return None


def _compare(value: Any, op: str, literal: Literal) -> bool | None:
    if isinstance(literal, str):
        return None if not isinstance(value, str) else _CMP[op](value, literal)
    number = _as_number(value)
    return None if number is None else _CMP[op](number, float(literal))


Tri = Callable[[Any], "bool | None"]


def _tri(node: Node) -> Tri:
    """Three-valued evaluation (True / False / None = unknown), as SQL does with NULL."""
    name = field_of(node.column) if isinstance(node, (Cmp, Like, In)) else None
    if name is not None:
        if isinstance(node, Cmp):
            op, lit = node.op, node.value
            return lambda row: _compare(_field_value(row, name), op, lit)
        if isinstance(node, Like):
            rx, neg = like_regex(node.pattern), node.negated

            def like(row: Any) -> bool | None:
                value = _field_value(row, name)
                return None if not isinstance(value, str) else (rx.fullmatch(value) is None) == neg

            return like
        assert isinstance(node, In)
        values, negated = node.values, node.negated

        def within(row: Any) -> bool | None:
            value = _field_value(row, name)
            found = [_compare(value, "=", v) for v in values]
            hit = True if any(f is True for f in found) else None if all(f is None for f in found) else False
            return hit if hit is None or not negated else not hit

        return within
    if isinstance(node, (And, Or)):
        parts = [_tri(i) for i in node.items]
        stop = isinstance(node, Or)  # Or: any True wins; And: any False wins

        def combine(row: Any) -> bool | None:
            unknown = False
            for part in parts:
                got = part(row)
                if got is stop:
                    return stop
                unknown = unknown or got is None
            return None if unknown else not stop

        return combine
    if isinstance(node, Not):
        inner = _tri(node.item)

        def negate(row: Any) -> bool | None:
            got = inner(row)
            return None if got is None else not got

        return negate
    plain = predicate(node)
    return plain


def predicate(node: Node | None) -> Callable[[Any], bool]:
    """A function ``row -> bool`` over a mapping or an object with the columns as attributes."""
    if node is None:
        return lambda row: True
    if _has_fields(node):
        tri = _tri(node)
        return lambda row: tri(row) is True
    if isinstance(node, Cmp):
        get, fn, value = _getter(node.column), _CMP[node.op], node.value
        return lambda row: fn(get(row), value)
    if isinstance(node, Like):
        get, rx, neg = _getter(node.column), like_regex(node.pattern), node.negated
        return lambda row: (rx.fullmatch(get(row)) is None) == neg
    if isinstance(node, In):
        get, values, neg = _getter(node.column), frozenset(node.values), node.negated
        return lambda row: (get(row) in values) != neg
    if isinstance(node, And):
        parts = [predicate(i) for i in node.items]
        return lambda row: all(p(row) for p in parts)
    if isinstance(node, Or):
        parts = [predicate(i) for i in node.items]
        return lambda row: any(p(row) for p in parts)
    inner = predicate(node.item)
    return lambda row: not inner(row)


def mask(node: Node | None, columns: Mapping[str, np.ndarray]) -> np.ndarray:
    """Vectorised evaluation over equal-length column arrays; a boolean array."""
    n = len(next(iter(columns.values()))) if columns else 0
    if node is None:
        return np.ones(n, dtype=bool)
    if _has_fields(node):
        test, names = predicate(node), list(columns)
        rows = ({k: columns[k][i] for k in names} for i in range(n))
        return np.fromiter((test(r) for r in rows), dtype=bool, count=n)
    if isinstance(node, Cmp):
        return np.asarray(_CMP[node.op](np.asarray(columns[node.column]), node.value), dtype=bool)
    if isinstance(node, Like):
        rx = like_regex(node.pattern)
        hits = np.fromiter((rx.fullmatch(v) is not None for v in columns[node.column]), dtype=bool, count=n)
        return ~hits if node.negated else hits
    if isinstance(node, In):
        hits = np.isin(np.asarray(columns[node.column]), list(node.values))
        return ~hits if node.negated else hits
    if isinstance(node, (And, Or)):
        parts = [mask(i, columns) for i in node.items]
        return np.logical_and.reduce(parts) if isinstance(node, And) else np.logical_or.reduce(parts)
    return ~mask(node.item, columns)


def split_column(node: Node | None, column: str) -> tuple[frozenset[Literal] | None, Node | None]:
    """Pull top-level ``column = v`` / ``column IN (...)`` conjuncts out of ``node``.

    Returns ``(allowed values or None when unconstrained, the rest or None)``;
    ``allowed AND rest`` is equivalent to ``node``. Used to pick per-channel
    indexes and post-filter the remainder.
    """
    if node is None:
        return None, None
    items = node.items if isinstance(node, And) else (node,)
    allowed: frozenset[Literal] | None = None
    rest: list[Node] = []
    for item in items:
        values: frozenset[Literal] | None = None
        if isinstance(item, Cmp) and item.column == column and item.op == "=":
            values = frozenset([item.value])
        elif isinstance(item, In) and item.column == column and not item.negated:
            values = frozenset(item.values)
        if values is None:
            rest.append(item)
        else:
            allowed = values if allowed is None else allowed & values
    remainder: Node | None = None if not rest else rest[0] if len(rest) == 1 else And(tuple(rest))
    return allowed, remainder


__all__ = [
    "ANY",
    "FIELD_PREFIX",
    "MAX_DEPTH",
    "MAX_IN_VALUES",
    "MAX_LENGTH",
    "ONE",
    "And",
    "Cmp",
    "In",
    "Like",
    "Literal",
    "Node",
    "Not",
    "Or",
    "field_of",
    "mask",
    "milvus_is_exact",
    "parse",
    "parse_optional",
    "predicate",
    "split_column",
    "to_lance",
    "to_milvus",
]

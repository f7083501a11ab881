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
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

from mmrag.errors import FilterError
from mmrag.stores.base import FILTER_COLUMNS

Literal = str | int | float
MAX_LENGTH = 20_000
MAX_DEPTH = 64
MAX_IN_VALUES = 10_000
_INT64 = (-(2**63), 2**63 - 1)
_OPS = {"=": "=", "==": "=", "!=": "!=", "<>": "!=", "<": "<", "<=": "<=", ">": ">", ">=": ">="}
_KEYWORDS = {"AND", "OR", "NOT", "LIKE", "IN"}


# -- the tree ------------------------------------------------------------
@dataclass(frozen=True)
class Cmp:
    column: str
    op: str  # one of = != < <= > >=
    value: Literal


@dataclass(frozen=True)
class Like:
    column: str
    pattern: tuple[str, ...]  # literal characters, "%" = any run (as "\0%"), "_" = one ("\0_")
    negated: bool = False


@dataclass(frozen=True)
class In:
    column: str
    values: tuple[Literal, ...]
    negated: bool = False


@dataclass(frozen=True)
class And:
    items: tuple[Node, ...]


@dataclass(frozen=True)
class Or:
    items: tuple[Node, ...]


@dataclass(frozen=True)
class Not:
    item: Node


Node = Cmp | Like | In | And | Or | Not
ANY, ONE = "\0%", "\0_"  # wildcard tokens inside Like.pattern


# -- tokenizer -------------------------------------------------------------
_TOKEN = re.compile(
    r"""(?P<ws>\s+)
      | (?P<num>-?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)
      | (?P<str>'(?:[^']|'')*')
      | (?P<ident>[A-Za-z_][A-Za-z0-9_]*)
      | (?P<op>==|!=|<>|<=|>=|=|<|>)
      | (?P<punct>[(),])""",
    re.VERBOSE,
)


@dataclass(frozen=True)
class _Tok:
    kind: str  # num | str | ident | kw | op | punct | end
    text: str
    pos: int


def _fail(src: str, pos: int, message: str) -> FilterError:
    start = max(0, pos - 30)
    shown = ("..." if start else "") + src[start : pos + 40] + ("..." if pos + 40 < len(src) else "")
    caret = " " * (pos - start + (3 if start else 0)) + "^"
    return FilterError(
        f"bad filter at position {pos}: {message}\n  {shown}\n  {caret}\n"
        f"Known columns: {', '.join(FILTER_COLUMNS)}. Strings go in single quotes, e.g. "
        "source LIKE '%report%' AND page >= 3."
    )


def _tokens(src: str) -> list[_Tok]:
    out: list[_Tok] = []
    pos = 0
    while pos < len(src):
        m = _TOKEN.match(src, pos)
        if m is None:
            what = "an unterminated string literal" if src[pos] == "'" else f"unexpected character {src[pos]!r}"
            raise _fail(src, pos, what)
        kind = m.lastgroup or ""
        if kind != "ws":
            text = m.group()
            if kind == "ident" and text.upper() in _KEYWORDS:
                out.append(_Tok("kw", text.upper(), pos))
            else:
                out.append(_Tok(kind, text, pos))
        pos = m.end()
    out.append(_Tok("end", "", len(src)))
    return out


# -- parser ------------------------------------------------------------------
class _Parser:
    def __init__(self, src: str) -> None:
        self.src = src
        self.toks = _tokens(src)
        self.i = 0

    def peek(self) -> _Tok:
        return self.toks[self.i]

    def take(self) -> _Tok:
        tok = self.toks[self.i]
        self.i += 1
        return tok

    def expect(self, kind: str, text: str | None, what: str) -> _Tok:
        tok = self.peek()
        if tok.kind != kind or (text is not None and tok.text != text):
            raise _fail(self.src, tok.pos, f"expected {what}, got {_describe(tok)}")
        return self.take()

    def parse(self) -> Node:
        node = self.expr(0)
        tok = self.peek()
        if tok.kind != "end":
            raise _fail(self.src, tok.pos, f"expected AND, OR or the end, got {_describe(tok)}")
        return node

    def expr(self, depth: int) -> Node:
        items = [self.conj(depth)]
        while self.peek().kind == "kw" and self.peek().text == "OR":
            self.take()
            items.append(self.conj(depth))
        return items[0] if len(items) == 1 else Or(tuple(items))

    def conj(self, depth: int) -> Node:
        items = [self.unary(depth)]
        while self.peek().kind == "kw" and self.peek().text == "AND":
            self.take()
            items.append(self.unary(depth))
        return items[0] if len(items) == 1 else And(tuple(items))

    def unary(self, depth: int) -> Node:
        if depth > MAX_DEPTH:
            raise _fail(self.src, self.peek().pos, f"nested deeper than {MAX_DEPTH} levels")
        tok = self.peek()
        if tok.kind == "kw" and tok.text == "NOT":
            self.take()
            return Not(self.unary(depth + 1))
        if tok.kind == "punct" and tok.text == "(":
            self.take()
            node = self.expr(depth + 1)
            self.expect("punct", ")", "')'")
            return node
        return self.comparison()

    def comparison(self) -> Node:
        tok = self.peek()
        if tok.kind != "ident":
            raise _fail(self.src, tok.pos, f"expected a column name, got {_describe(tok)}")
        column = tok.text.lower()
        if column not in FILTER_COLUMNS:
            raise _fail(self.src, tok.pos, f"unknown column '{tok.text}'")
        self.take()
        kind = FILTER_COLUMNS[column]
        nxt = self.peek()
        negated = False
        if nxt.kind == "kw" and nxt.text == "NOT":
            self.take()
            negated = True
            nxt = self.peek()
            if not (nxt.kind == "kw" and nxt.text in ("LIKE", "IN")):
                raise _fail(self.src, nxt.pos, f"expected LIKE or IN after NOT, got {_describe(nxt)}")
        if nxt.kind == "kw" and nxt.text == "LIKE":
            self.take()
            if kind != "str":
                raise _fail(self.src, nxt.pos, f"LIKE needs a text column; '{column}' is a number")
            lit = self.expect("str", None, "a quoted pattern after LIKE")
            return Like(column, _pattern(self.src, lit), negated)
        if nxt.kind == "kw" and nxt.text == "IN":
            self.take()
            self.expect("punct", "(", "'(' after IN")
            values = [self.literal(column, kind)]
            while self.peek().kind == "punct" and self.peek().text == ",":
                self.take()
                values.append(self.literal(column, kind))
                if len(values) > MAX_IN_VALUES:
                    raise _fail(self.src, self.peek().pos, f"more than {MAX_IN_VALUES} values in IN (...)")
            self.expect("punct", ")", "',' or ')' in the IN list")
            return In(column, tuple(values), negated)
        if nxt.kind == "op":
            self.take()
            return Cmp(column, _OPS[nxt.text], self.literal(column, kind))
        raise _fail(self.src, nxt.pos, f"expected an operator (=, !=, <, <=, >, >=, LIKE, IN) after '{column}', "
                    f"got {_describe(nxt)}")

    def literal(self, column: str, kind: str) -> Literal:
        tok = self.take()
        if tok.kind == "str":
            if kind != "str":
                raise _fail(self.src, tok.pos, f"'{column}' is a number; compare it to a number, not {tok.text}")
            return tok.text[1:-1].replace("''", "'")
        if tok.kind == "num":
            if kind == "str":
                raise _fail(self.src, tok.pos, f"'{column}' is text; quote the value: '{tok.text}'")
            is_int = re.fullmatch(r"-?\d+", tok.text) is not None
            if kind == "int":
                if not is_int:
                    raise _fail(self.src, tok.pos, f"'{column}' holds whole numbers; got {tok.text}")
                value = int(tok.text)
                if not _INT64[0] <= value <= _INT64[1]:
                    raise _fail(self.src, tok.pos, f"{tok.text} is out of the 64-bit integer range")
                return value
            number = float(tok.text)
            if not math.isfinite(number):
                raise _fail(self.src, tok.pos, f"{tok.text} is not a finite number")
            return number
        raise _fail(self.src, tok.pos, f"expected a value for '{column}', got {_describe(tok)}")


def _describe(tok: _Tok) -> str:
    return "the end of the filter" if tok.kind == "end" else repr(tok.text)


def _pattern(src: str, tok: _Tok) -> tuple[str, ...]:
    raw = tok.text[1:-1].replace("''", "'")
    out: list[str] = []
    i = 0
    while i < len(raw):
        ch = raw[i]
        if ch == "\\":
            if i + 1 >= len(raw):
                raise _fail(src, tok.pos, "a LIKE pattern may not end with a lone backslash; write \\\\ for one")
            out.append(raw[i + 1])
            i += 2
            continue
        out.append(ANY if ch == "%" else ONE if ch == "_" else ch)
        i += 1
    return tuple(out)


@lru_cache(maxsize=512)
def parse(where: str) -> Node:
    """Parse a filter; raise ``FilterError`` saying where and what was expected."""
    if not isinstance(where, str):
        raise FilterError(f"a filter must be a string, got {type(where).__name__}. Pass e.g. \"page >= 3\".")
    if len(where) > MAX_LENGTH:
        raise FilterError(f"filter is {len(where)} characters long (limit {MAX_LENGTH}). Shorten it.")
    if not where.strip():
        raise FilterError("empty filter. Pass None for no filter, or e.g. \"modality = 'image'\".")
    return _Parser(where).parse()


def parse_optional(where: str | None) -> Node | None:
    return None if where is None or (isinstance(where, str) and not where.strip()) else parse(where)


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


def to_lance(node: Node) -> str:
    """Render as LanceDB (DataFusion) SQL."""
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
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r") \
        .replace("\t", "\\t") + '"'


def _milvus_lit(value: Literal, kind: str) -> str:
    if isinstance(value, str):
        return _milvus_str(value)
    return repr(float(value)) if kind == "float" else str(int(value))


_MILVUS_OPS = {"=": "==", "!=": "!=", "<": "<", "<=": "<=", ">": ">", ">=": ">="}


def to_milvus(node: Node) -> str:
    """Render as a Milvus boolean expression.

    Milvus mis-matches LIKE patterns holding a literal backslash next to
    wildcards, so such a LIKE is rendered loosely: the backslash becomes
    ``_`` where the LIKE counts positively and the LIKE becomes "false"
    where it is negated. The expression then selects a superset of the true
    rows; ``milvus_is_exact`` says when a Python re-check is needed.
    """
    return _milvus(node, True)


def milvus_is_exact(node: Node | None) -> bool:
    """``False`` when ``to_milvus(node)`` selects a superset (re-check with ``predicate``)."""
    if node is None or isinstance(node, (Cmp, In)):
        return True
    if isinstance(node, Like):
        return "\\" not in node.pattern
    if isinstance(node, (And, Or)):
        return all(milvus_is_exact(i) for i in node.items)
    return milvus_is_exact(node.item)


def _milvus(node: Node, positive: bool) -> str:
    if isinstance(node, Cmp):
        kind = FILTER_COLUMNS[node.column]
        return f"{node.column} {_MILVUS_OPS[node.op]} {_milvus_lit(node.value, kind)}"
    if isinstance(node, Like):
        pattern = node.pattern
        if "\\" in pattern:
            if positive != node.negated:  # counts positively: widen the backslash to "any one character"
                pattern = tuple(ONE if p == "\\" else p for p in pattern)
            else:
                return 'id == ""' if not node.negated else '(not (id == ""))'  # ids are never empty
        expr = f"{node.column} like {_milvus_str(_like_text(pattern))}"
        return f"(not ({expr}))" if node.negated else expr
    if isinstance(node, In):
        kind = FILTER_COLUMNS[node.column]
        vals = ", ".join(_milvus_lit(v, kind) for v in node.values)
        return f"{node.column} {'not in' if node.negated else 'in'} [{vals}]"
    if isinstance(node, And):
        return "(" + " and ".join(_milvus(i, positive) for i in node.items) + ")"
    if isinstance(node, Or):
        return "(" + " or ".join(_milvus(i, positive) for i in node.items) + ")"
    return f"(not ({_milvus(node.item, not positive)}))"


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


def predicate(node: Node | None) -> Callable[[Any], bool]:
    """A function ``row -> bool`` over a mapping or an object with the columns as attributes."""
    if node is None:
        return lambda row: True
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
    "And", "Cmp", "In", "Like", "Node", "Not", "Or",
    "mask", "milvus_is_exact", "parse", "parse_optional", "predicate", "split_column", "to_lance", "to_milvus",
]

"""The filter dialect's tree and parser (the grammar is in ``stores/filters.py``).

``parse`` turns a ``--where`` string into a small tree of frozen nodes, or
raises ``FilterError`` saying where and what was expected. Everything a
backend ever sees is rendered from this tree.

A name written ``fields.name`` is a record field: its node's column is
``"fields.<name>"`` (``FIELD_PREFIX``) and it takes string and number
literals alike (the stores compare numbers as numbers; dates are ISO text, so
they compare as dates). Users write bare names (``price < 50``):
``qualify_fields`` rewrites the names an index knows as fields before the
filter reaches a store, so a typo still fails as an unknown column.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import lru_cache

from mmrag.errors import FilterError
from mmrag.stores.base import FILTER_COLUMNS

Literal = str | int | float
MAX_LENGTH = 20_000
MAX_DEPTH = 64
MAX_IN_VALUES = 10_000
_INT64 = (-(2**63), 2**63 - 1)
_OPS = {"=": "=", "==": "=", "!=": "!=", "<>": "!=", "<": "<", "<=": "<=", ">": ">", ">=": ">="}
_KEYWORDS = {"AND", "OR", "NOT", "LIKE", "IN"}
FIELD_PREFIX = "fields."


def field_of(column: str) -> str | None:
    """The record field a node column names (``"fields.price"`` -> ``"price"``), else ``None``."""
    return column[len(FIELD_PREFIX) :] if column.startswith(FIELD_PREFIX) else None


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
      | (?P<ident>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)?)
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
        f"Known columns: {', '.join(FILTER_COLUMNS)}, and record fields by name (price, brand ...). "
        "Strings go in single quotes, e.g. "
        "source LIKE '%report%' AND page >= 3."
    )


def _tokens(src: str) -> list[_Tok]:
    out: list[_Tok] = []
    pos = 0
    while pos < len(src):
        m = _TOKEN.match(src, pos)
        if m is None:
            what = (
                "an unterminated string literal" if src[pos] == "'" else f"unexpected character {src[pos]!r}"
            )
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
        if "." in column:
            head, _, name = column.partition(".")
            if head != "fields":
                raise _fail(self.src, tok.pos, f"unknown column '{tok.text}' (only fields.NAME has a dot)")
            column = FIELD_PREFIX + name
        elif column not in FILTER_COLUMNS:
            raise _fail(self.src, tok.pos, f"unknown column '{tok.text}'")
        self.take()
        kind = FILTER_COLUMNS.get(column, "any")
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
            if kind not in ("str", "any"):
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
        raise _fail(
            self.src,
            nxt.pos,
            f"expected an operator (=, !=, <, <=, >, >=, LIKE, IN) after '{column}', got {_describe(nxt)}",
        )

    def literal(self, column: str, kind: str) -> Literal:
        tok = self.take()
        if tok.kind == "str":
            if kind not in ("str", "any"):
                raise _fail(
                    self.src, tok.pos, f"'{column}' is a number; compare it to a number, not {tok.text}"
                )
            return tok.text[1:-1].replace("''", "'")
        if tok.kind == "num":
            if kind == "str":
                raise _fail(self.src, tok.pos, f"'{column}' is text; quote the value: '{tok.text}'")
            is_int = re.fullmatch(r"-?\d+", tok.text) is not None
            if kind == "any" and is_int and _INT64[0] <= int(tok.text) <= _INT64[1]:
                return int(tok.text)
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
                raise _fail(
                    src, tok.pos, "a LIKE pattern may not end with a lone backslash; write \\\\ for one"
                )
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
        raise FilterError(f'a filter must be a string, got {type(where).__name__}. Pass e.g. "page >= 3".')
    if len(where) > MAX_LENGTH:
        raise FilterError(f"filter is {len(where)} characters long (limit {MAX_LENGTH}). Shorten it.")
    if not where.strip():
        raise FilterError("empty filter. Pass None for no filter, or e.g. \"modality = 'image'\".")
    return _Parser(where).parse()


def qualify_fields(where: str, fields: frozenset[str] | set[str]) -> str:
    """``price < 50 AND source LIKE '%x%'`` -> ``fields.price < 50 AND source LIKE '%x%'``
    for every bare name in ``fields`` that is not a built-in column (those win)."""
    if not where or not fields:
        return where
    out, last = [], 0
    for tok in _tokens(where):
        if tok.kind == "ident" and "." not in tok.text:
            name = tok.text.lower()
            if name not in FILTER_COLUMNS and name in fields:
                out.append(where[last : tok.pos] + FIELD_PREFIX + name)
                last = tok.pos + len(tok.text)
    return "".join(out) + where[last:]


def parse_optional(where: str | None) -> Node | None:
    return None if where is None or (isinstance(where, str) and not where.strip()) else parse(where)


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
    "parse",
    "parse_optional",
    "qualify_fields",
]

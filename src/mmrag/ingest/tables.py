"""Tables inside documents, kept as rows with their header (not only as flattened text).

``html_tables`` reads ``<table>`` elements with the standard library's
``html.parser`` (``<th>``/``<td>``, ``colspan``, ``<caption>``, nested tables
read separately). ``markdown_tables`` reads a Markdown file's (GitHub) pipe
tables: a header line, its delimiter row, its rows. ``pdf_tables`` finds ruled-or-aligned tables on a PDF page
from pypdfium2's character boxes: lines are grouped by baseline, cells split
at wide horizontal gaps, and a run of at least three lines with the same
number (>= 2) of cells whose columns line up is a table, its first line the
header. ``table_segments`` turns each data row into one text segment with
typed fields (a column's type is inferred over the whole table), cited as
``page.html table 1 row 3`` / ``report.pdf p. 2 table 1 row 3``.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any

from mmrag.fields import convert, field_name, guess_type, infer_type
from mmrag.markdown import as_read, is_table_rule, table_cells
from mmrag.types import Modality, Segment, Span

MAX_TABLE_ROWS = 5_000
MAX_TABLE_COLUMNS = 100  # a row's fields beyond this many are not kept (a hostile line of 100,000 bars)
MIN_PDF_GAP = 2.2  # a gap wider than this many average character widths starts a new cell
WORD_GAP = 0.25  # a gap wider than this many average character widths is a space between words


@dataclass
class Table:
    header: list[str]
    rows: list[list[str]]
    caption: str = ""
    headed: bool = True  # False: the page's table had no header line; ``header`` is "column 1", "column 2", ...

    @property
    def lines(self) -> list[list[str]]:
        """The table's lines as the page shows them: its header line (if it had one), then its rows."""
        return [self.header, *self.rows] if self.headed else list(self.rows)


@dataclass
class _Open:
    rows: list[list[str]] = field(default_factory=list)
    header_rows: int = 0
    caption: str = ""
    cell: list[str] | None = None
    cell_is_th: bool = False
    colspan: int = 1
    row_all_th: bool = True
    in_thead: bool = False
    in_caption: bool = False


class _TableParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[_Open] = []
        self.done: list[Table] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table":
            self.stack.append(_Open())
            return
        if not self.stack:
            return
        t = self.stack[-1]
        if tag == "thead":
            t.in_thead = True
        elif tag == "caption":
            t.in_caption = True
        elif tag == "tr":
            self._end_cell(t)
            t.rows.append([])
            t.row_all_th = True
        elif tag in ("td", "th"):
            self._end_cell(t)
            if not t.rows:
                t.rows.append([])
            t.cell, t.cell_is_th = [], tag == "th"
            try:
                t.colspan = max(1, min(50, int(dict(attrs).get("colspan") or 1)))
            except ValueError:
                t.colspan = 1
        elif tag == "br" and t.cell is not None:
            t.cell.append(" ")

    def _end_cell(self, t: _Open) -> None:
        if t.cell is None:
            return
        text = " ".join("".join(t.cell).split())
        t.rows[-1].extend([text] * t.colspan)
        t.row_all_th = t.row_all_th and t.cell_is_th
        t.cell = None

    def handle_endtag(self, tag: str) -> None:
        if not self.stack:
            return
        t = self.stack[-1]
        if tag in ("td", "th"):
            self._end_cell(t)
        elif tag == "tr":
            self._end_cell(t)
            if t.rows and (t.in_thead or (t.row_all_th and len(t.rows) == t.header_rows + 1)) and t.rows[-1]:
                t.header_rows = len(t.rows)
        elif tag == "thead":
            t.in_thead = False
        elif tag == "caption":
            t.in_caption = False
        elif tag == "table":
            self._end_cell(t)
            self.stack.pop()
            table = _finish(t)
            if table is not None:
                self.done.append(table)

    def handle_data(self, data: str) -> None:
        if not self.stack:
            return
        t = self.stack[-1]
        if t.in_caption:
            t.caption += data
        elif t.cell is not None:
            t.cell.append(data)


def _finish(t: _Open) -> Table | None:
    rows = [r for r in t.rows if any(c.strip() for c in r)]
    if len(rows) < 2:
        return None
    split = max(1, t.header_rows) if t.header_rows else 1
    header = rows[split - 1]
    body = [r for r in rows[split:]][:MAX_TABLE_ROWS]
    if len(header) < 2 or not body:
        return None  # a layout table, not data
    return Table(header, body, " ".join(t.caption.split()))


def html_tables(markup: str) -> list[Table]:
    """The data tables of an HTML page, in document order of their end tags."""
    from mmrag.ingest.text import read_html

    parser = _TableParser()
    with contextlib.suppress(Exception):  # html.parser is lenient; a broken page just has fewer tables
        read_html(parser, markup)
    return parser.done


# -- Markdown ----------------------------------------------------------------------------
def markdown_tables(text: str) -> list[Table]:
    """The pipe tables of a Markdown file (GitHub's): a line of cells, the delimiter row under it with as many
    (``|---|:---:|``), then each line up to a blank one or one with no ``|``; a row's cells beyond the
    header's are dropped and missing ones empty, as GitHub shows them; cells read as they read (links as
    their words, ``**bold**`` without its stars); tables inside fenced code are code, and a table of one
    column is a list, as an HTML page's is (``_finish``) (pure)."""
    lines = text.split("\n")
    tables: list[Table] = []
    fenced = False
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.lstrip().startswith(("```", "~~~")):
            fenced = not fenced
        elif (not fenced and "|" in line and i + 1 < len(lines) and "|" in lines[i + 1] and is_table_rule(lines[i + 1])
              and len(line) - len(line.lstrip(" ")) < 4):
            header = [as_read(cell) for cell in table_cells(line)][:MAX_TABLE_COLUMNS]
            if len(header) >= 2 and len(table_cells(lines[i + 1])[:MAX_TABLE_COLUMNS]) == len(header):
                rows: list[list[str]] = []
                j = i + 2
                while j < len(lines) and "|" in lines[j] and lines[j].strip() and len(rows) < MAX_TABLE_ROWS:
                    cells = [as_read(cell) for cell in table_cells(lines[j])][: len(header)]
                    rows.append(cells + [""] * (len(header) - len(cells)))
                    j += 1
                if rows:
                    tables.append(Table(header, rows))
                i = j
                continue
        i += 1
    return tables


# -- PDF ---------------------------------------------------------------------------------
def _page_lines(textpage: Any) -> list[list[tuple[float, float, str]]]:
    """Characters grouped into lines: each line a list of ``(left, right, char)`` sorted by x."""
    n = textpage.count_chars()
    whole = textpage.get_text_range() if n > 0 else ""  # one read, not one per character (it was 40 % of a
    # manual page's reading); a character outside the Basic Multilingual Plane counts twice in the text,
    # and then the page is read character by character as before
    char = whole.__getitem__ if len(whole) == n else (lambda i: textpage.get_text_range(i, 1))
    return lines_of(textpage, (char(i) for i in range(n)))


def lines_of(textpage: Any, chars: Iterable[str]) -> list[list[tuple[float, float, str]]]:
    """The page's characters (``chars``: the i-th is pdfium's i-th) grouped into lines by where their boxes
    stand, each line a list of ``(left, right, char)`` sorted by x."""
    placed = []
    for i, ch in enumerate(chars):
        if not ch.strip():  # spaces too: most PDFs have no space glyphs, and pdfium's generated ones
            continue  # sit off the line (zero-height boxes); word gaps are measured instead (_cells)
        left, bottom, right, top = textpage.get_charbox(i, loose=True)
        placed.append(((bottom + top) / 2, top - bottom, left, right, ch))
    placed.sort(key=lambda c: (-round(c[0], 0), c[2]))
    lines: list[list[tuple[float, float, str]]] = []
    base: float | None = None
    for mid, height, left, right, ch in placed:
        if base is None or abs(mid - base) > max(2.0, height * 0.5):
            lines.append([])
            base = mid
        lines[-1].append((left, right, ch))
    return [sorted(line) for line in lines if line]


def _cells(line: list[tuple[float, float, str]]) -> list[tuple[float, str]]:
    """``(left x, text)`` of each cell: a gap wider than ``MIN_PDF_GAP`` character widths splits
    cells, one wider than ``WORD_GAP`` widths separates words."""
    widths = [r - l for l, r, c in line if c.strip() and r > l]
    avg = sum(widths) / len(widths) if widths else 5.0
    cells: list[tuple[float, list[str]]] = []
    last_right: float | None = None
    for left, right, ch in line:
        if not ch.strip():
            continue
        if last_right is None or left - last_right > MIN_PDF_GAP * avg:
            cells.append((left, []))
        elif left - last_right > WORD_GAP * avg:
            cells[-1][1].append(" ")
        cells[-1][1].append(ch)
        last_right = max(right, last_right or right)
    return [(x, " ".join("".join(t).split())) for x, t in cells if "".join(t).strip()]


def pdf_tables(textpage: Any, tolerance: float = 12.0) -> list[Table]:
    """Aligned tables on one pypdfium2 text page (see the module docstring)."""
    rows = [cells for cells in (_cells(line) for line in _page_lines(textpage)) if cells]
    tables: list[Table] = []
    i = 0
    while i < len(rows):
        first = rows[i]
        j = i + 1
        texts = [[t for _, t in first]]  # the header, then each full row; wrapped cells joined to theirs
        if len(first) >= 2:
            xs = [x for x, _ in first]
            while j < len(rows):
                if len(rows[j]) == len(first) and all(
                    abs(x - y) <= tolerance or _right_aligned(rows[j], first, k) for k, (x, y) in enumerate(zip((x for x, _ in rows[j]), xs))
                ):
                    texts.append([t for _, t in rows[j]])
                elif (columns := _wrapped(rows[j], xs, tolerance)) is not None:
                    for column, (_, t) in zip(columns, rows[j], strict=True):
                        texts[-1][column] = _joined(texts[-1][column], t)
                else:
                    break
                j += 1
        head, body = texts[0], texts[1:]
        if len(body) >= 2 and (len(first) >= 3 or _has_typed_column(body)):  # two text columns: a page layout
            if _is_data_row(head, body):  # no header line: the first row is data, columns get plain names
                tables.append(Table([f"column {k}" for k in range(1, len(head) + 1)], [head, *body], headed=False))
            else:
                tables.append(Table(head, body))
            i = j
        else:
            i += 1
    return tables


def _wrapped(row: Sequence[tuple[float, str]], xs: Sequence[float], tolerance: float) -> list[int] | None:
    """The columns of a line that continues the row above it (a cell's text wrapped onto a second line, as a
    LaTeX ``p{}`` column or a word processor's table wraps a long URL), or ``None``: fewer cells than the
    table has columns, each starting under a column other than the first (a line at the first column's
    start is as likely the paragraph after the table), in order (pure)."""
    if not 0 < len(row) < len(xs):
        return None
    columns: list[int] = []
    for x, _ in row:
        near = [k for k in range(1, len(xs)) if abs(x - xs[k]) <= tolerance]
        if not near or (columns and near[0] <= columns[-1]):
            return None
        columns.append(near[0])
    return columns


_BREAKS = ("\ufffe", "\u00ad", "\x02")  # what pdfium and producers write for a word hyphenated at a line's end


def _joined(before: str, more: str) -> str:
    """A wrapped cell's two lines as one: with a space between words; without one inside a word hyphenated
    at the line's end (``checksum`` + soft hyphen + ``ming``) or a URL or path broken at a slash (``http:`` +
    ``//example.org/``) (pure)."""
    if before.endswith(_BREAKS):
        return before.rstrip("".join(_BREAKS)) + more
    if before.endswith("/") or more.startswith("/"):
        return before + more
    return f"{before} {more}"


def _is_data_row(first: list[str], body: list[list[str]]) -> bool:
    """A first line with a number or date where the column below holds numbers or dates is a
    data row, not a header ("4  CARD32  ALIAS_LIST_OFFSET" above more of the same). Years as
    headers ("Item  2023  2024") stay headers."""
    typed = [c for c in range(len(first)) if infer_type(r[c] for r in body) in ("number", "date")]
    hits = [first[c].strip() for c in typed if guess_type(first[c]) == infer_type(r[c] for r in body)]
    return bool(hits) and not all(re.fullmatch(r"(19|20)\d\d", h) for h in hits)


def _has_typed_column(body: list[list[str]]) -> bool:
    return any(infer_type(r[c] for r in body) in ("number", "date") for c in range(len(body[0])))


def _right_aligned(row: Sequence[tuple[float, str]], header: Sequence[tuple[float, str]], k: int) -> bool:
    """Numbers are often right-aligned under their header: accept a cell that starts within its header's span."""
    x = row[k][0]
    start = header[k][0]
    end = header[k + 1][0] if k + 1 < len(header) else start + 200.0
    return start - 2.0 <= x < end


# -- segments ------------------------------------------------------------------------------
def table_segments(
    source: str, tables: Sequence[Table], page: int | None = None, first_number: int = 1, page_unit: str = ""
) -> Iterator[Segment]:
    """One text segment per data row, with typed fields named after the header; ``page_unit``: the
    source's word for a page when it is not "p." (``slide``)."""
    for t_index, table in enumerate(tables, first_number):
        width = len(table.header)
        names: list[str] = []
        for i, raw in enumerate(table.header):
            name = field_name(raw, i)
            while name in names:
                name += "_2"
            names.append(name)
        rows = [(r + [""] * width)[:width] for r in table.rows]
        types = [infer_type(r[c] for r in rows) for c in range(width)]
        title_col = next((c for c in range(width) if types[c] == "text"), 0)
        for r_index, row in enumerate(rows, 1):
            fields: dict[str, Any] = {}
            for c in range(width):
                try:
                    value = convert(row[c], types[c])
                except ValueError:
                    value = row[c].strip() or None
                if value is not None:
                    fields[names[c]] = value
            text = "; ".join(f"{h}: {v}" for h, v in zip(table.header, row) if v.strip())
            if table.caption:
                text = f"{table.caption}. {text}"
            title = row[title_col].strip()[:200]
            meta = {"kind": "table_row", "table": str(t_index), "row": str(r_index), "part": f"table{t_index}:row{r_index}",
                    "field_order": ",".join(fields)}
            if title:
                meta["title"] = title
            if page_unit:
                meta["page_unit"] = page_unit
            yield Segment(source=source, modality=Modality.TEXT, span=Span(page=page), text=text, meta=meta,
                          fields=fields)


def field_types(segments: Sequence[Segment]) -> dict[str, str]:
    """``{field: type}`` over segments' fields (for the index's field registry)."""
    out: dict[str, str] = {}
    for seg in segments:
        for name, value in seg.fields.items():
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                kind = "number"
            else:
                kind = guess_type(value) or "text"
                kind = "text" if kind == "number" else kind
            out[name] = kind if out.get(name, kind) == kind else "text"
    return out


__all__ = ["Table", "field_types", "html_tables", "markdown_tables", "pdf_tables", "table_segments"]

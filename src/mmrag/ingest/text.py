"""Loaders for plain text (``.txt``, markdown, rst, csv, code ...) and HTML.

Both decode robustly (BOMs, UTF-8, then charset detection, then latin-1),
extract the text a reader sees, and cut it into word-window chunks whose
``Span(start, end)`` are character offsets into that extracted text (for
plain text files this is the decoded file itself, markup included; a Markdown
file's link reference definitions are blanked to spaces, so every other
character keeps its offset).
"""

from __future__ import annotations

import codecs
import itertools
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from types import MappingProxyType

from mmrag.config import IngestConfig
from mmrag.errors import IngestError
from mmrag.ingest.chunking import check_params, iter_chunks, sectioned
from mmrag.ingest.compressed import SUFFIXES, UnpackError, codec_of, decompress, inner_suffix
from mmrag.ingest.markup import read_markup
from mmrag.ingest.sources import check_size
from mmrag.ingest.subtitles import looks_like_subtitles, subtitle_text
from mmrag.markdown import (
    CELL_BAR,
    Trail,
    headings,
    hidden_blanked,
    links_as_text,
    literal_lines,
    signature_name,
    term_lead,
    trail_words,
)
from mmrag.types import PLAIN_FORMATS, Modality, Segment, Span

MAX_TEXT_MB = 256.0  # text is held in memory whole; larger files must be split first
MAX_TITLE_CHARS = 200

# NUL and other C0 controls become spaces (one for one, so offsets hold): stores choke on them.
_CONTROLS = {c: " " for c in [*range(32), 127] if chr(c) not in "\t\n\r\f"}
_MARKDOWN_EXTS = {".md", ".markdown", ".mdx", ".mkd", ".mdown"}
_ATX = re.compile(r"^[ ]{0,3}#{1,6}[ \t]+(.+?)(?:[ \t]+#+)?[ \t]*$", re.MULTILINE)
_SETEXT = re.compile(r"^[ ]{0,3}(\S[^\n]*?)[ \t]*\r?\n[ ]{0,3}(?:=+|-+|~+|\^+)[ \t]*$", re.MULTILINE)
_FRONT = re.compile(r"\A---[ \t]*\r?\n(.*?)^(?:---|\.\.\.)[ \t]*$", re.DOTALL | re.MULTILINE)
_FRONT_TITLE = re.compile(r"^title:[ \t]*[\"']?(.+?)[\"']?[ \t]*\r?$", re.MULTILINE)
_CJK_CODECS = {
    "big5",
    "big5hkscs",
    "cp950",
    "gb2312",
    "gbk",
    "gb18030",
    "hz",
    "shift_jis",
    "cp932",
    "euc_jp",
    "euc_jis_2004",
    "euc_kr",
    "cp949",
    "johab",
    "iso2022_jp",
    "iso2022_kr",
}
_META_CHARSET = re.compile(rb"<meta[^>]+charset\s*=\s*[\"']?\s*([A-Za-z0-9._:-]+)", re.IGNORECASE)


def decode_text(data: bytes) -> tuple[str, str]:
    """``(text, encoding)``: BOM, else strict UTF-8, else detected, else latin-1."""
    for bom, codec in (
        (b"\xef\xbb\xbf", "utf-8-sig"),
        (b"\xff\xfe\x00\x00", "utf-32"),
        (b"\x00\x00\xfe\xff", "utf-32"),
        (b"\xff\xfe", "utf-16"),
        (b"\xfe\xff", "utf-16"),
    ):
        if data.startswith(bom):
            return data.decode(codec, errors="replace"), codec
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        from charset_normalizer import from_bytes
    except ImportError:  # optional: latin-1 decodes anything
        from_bytes = None  # type: ignore[assignment]
    if from_bytes is not None:
        matches = list(from_bytes(data[: 1 << 18]))
        if matches:
            best = matches[0]
            # Short Western text often ties between cp1250/cp1252/...: prefer cp1252.
            for m in matches:
                if m.encoding == "cp1252" and (m.chaos, -m.coherence) <= (best.chaos, -best.coherence):
                    best = m
            if best.encoding in _CJK_CODECS and _isolated_high_bytes(data):
                try:  # a few accented letters in Western text, not double-byte CJK
                    return data.decode("cp1252"), "cp1252"
                except UnicodeDecodeError:
                    pass
            return data.decode(best.encoding, errors="replace"), best.encoding
    return data.decode("latin-1"), "latin-1"


def _isolated_high_bytes(data: bytes) -> bool:
    """True when most non-ASCII bytes stand alone between ASCII ones (accents in
    Western text) rather than in pairs and runs (double-byte CJK encodings)."""
    sample = data[: 1 << 16]
    high = [i for i, b in enumerate(sample) if b >= 0x80]
    if not high:
        return False
    alone = sum(
        1 for i in high if (i == 0 or sample[i - 1] < 0x80) and (i + 1 >= len(sample) or sample[i + 1] < 0x80)
    )
    return alone * 4 >= len(high) * 3


def read_source(path: Path, config: IngestConfig) -> bytes:
    """The file's bytes after the size checks (a ``.gz``/``.bz2``/``.xz`` file's decompressed,
    ``ingest/compressed.py``), or ``IngestError``."""
    source = str(path)
    size = check_size(path, config)
    if size > MAX_TEXT_MB * 2**20:
        raise IngestError(
            source,
            f"text file is {size / 2**20:.0f} MB; text files over {MAX_TEXT_MB:g} MB are refused "
            "because they are read whole: split the file into smaller ones",
        )
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise IngestError(
            source, f"cannot read the file ({exc.strerror or exc}); check its permissions"
        ) from None
    codec = codec_of(data[:8], path.suffix)
    if codec is not None:
        try:
            return decompress(data, int(MAX_TEXT_MB * 2**20), codec)
        except UnpackError as exc:
            raise IngestError(source, f"not read: {exc}; decompress it to see what it holds") from None
    return data


def find_title(text: str, markdown: bool = True) -> str | None:
    """YAML front-matter ``title:``, else the first ATX (``# T``) or setext/rst heading."""
    head = text[:20_000]
    front = _FRONT.match(head)
    if front:
        m = _FRONT_TITLE.search(front.group(1))
        if m:
            return _clean_title(m.group(1))
        head = head[front.end() :]
    found = [mm for mm in (_ATX.search(head) if markdown else None, _SETEXT.search(head)) if mm]
    if not found:
        return None
    first = min(found, key=lambda mm: mm.start())
    return _clean_title(first.group(1))


def _clean_title(raw: str) -> str | None:
    title = links_as_text(re.sub(r"[*_`]+", "", raw))  # [text](url) -> text
    title = " ".join(title.split())[:MAX_TITLE_CHARS]
    return title or None


def text_segments(
    source: str, text: str, meta: Mapping[str, str], config: IngestConfig, sections: bool = True, setext: bool = False
) -> Iterator[Segment]:
    """Chunks of ``text`` as ``Modality.TEXT`` segments (shared by other loaders). With ``sections`` (the
    text is Markdown, as every reader but plain text writes it), each chunk's ``meta["section"]`` names the
    headings in force where most of its words are (``Install > From source``; ``chunking.sectioned``), the
    document's title left out; the text tower reads the title and the innermost heading before the chunk
    (``pipeline.embedded_text``). ``setext``: a Markdown file a person wrote, whose underlined titles (``Install``
    over ``-------``) are headings too; the readers write marked ones only (``markdown.headings``)."""
    frozen = MappingProxyType(dict(meta))
    metas: dict[Trail, Mapping[str, str]] = {(): frozen}
    chunks = iter_chunks(text, config.chunk_words, config.chunk_overlap, setext)
    for ch, trail in sectioned(headings(text, setext), chunks) if sections else ((c, ()) for c in chunks):
        if trail not in metas:
            words = trail_words(trail, frozen.get("title", ""))
            metas[trail] = MappingProxyType({**frozen, "section": words}) if words else frozen
        yield Segment(
            source=source,
            modality=Modality.TEXT,
            span=Span(start=ch.start, end=ch.end),
            text=ch.text,
            meta=metas[trail],
        )


def rtf_text(source: str, rtf: str) -> str:
    """The words of a Rich Text document (striprtf, BSD-3: control words, font tables and pictures
    dropped, ``\\par`` as line breaks, ``\\'e9`` and ``\\u233`` escapes decoded)."""
    from striprtf.striprtf import rtf_to_text

    try:
        return str(rtf_to_text(rtf, errors="replace"))
    except Exception as exc:  # noqa: BLE001 - a damaged RTF: say so for this file
        raise IngestError(source, f"not a readable RTF document ({type(exc).__name__}: {exc}); save it again") from None


def _require_text(source: str, text: str) -> None:
    if not text.strip():
        raise IngestError(source, "no text to index: the file is empty or holds only whitespace")


class TextLoader:
    """Plain text, Markdown, Rich Text (RTF), subtitles, the markup documents ``markup.read_markup`` reads (reST,
    AsciiDoc, Org, LaTeX, Info manuals, manual pages), source code: chunks of the decoded file."""

    kinds: tuple[str, ...] = ("text",)

    def load(self, path: Path, config: IngestConfig) -> Iterator[Segment]:
        path = Path(path)
        source = str(path)
        check_params(config.chunk_words, config.chunk_overlap)
        text, encoding = decode_text(read_source(path, config))
        ext = inner_suffix(path) if path.suffix.lower() in SUFFIXES else path.suffix.lower()  # notes.md.gz: Markdown
        fmt = "markdown" if ext in _MARKDOWN_EXTS else "text"
        page_title: str | None = None
        if text.lstrip("\ufeff \t\r\n").startswith("{\\rtf"):  # Rich Text (WordPad, TextEdit): its words, not its markup
            text, fmt = rtf_text(source, text), "rtf"
        elif ext in (".srt", ".vtt") and looks_like_subtitles(text):  # the cues' words, not their numbers and times
            text, fmt = subtitle_text(text), "subtitles"
        elif (markup := read_markup(source, text, ext)) is not None:  # reST, AsciiDoc, Org, LaTeX, Info, roff
            text, page_title, fmt = markup.text, markup.title, markup.format
        text = text.translate(_CONTROLS)
        if fmt == "markdown":  # its link definitions are no text (offsets kept); comments stay, hidden when shown
            text = hidden_blanked(text, comments=False)
        _require_text(source, text)
        meta = {"format": fmt, "encoding": encoding}
        title = page_title or find_title(text)  # every reader above writes Markdown
        if title:
            meta["title"] = title
        # plain text: "# x" is a comment, no heading; a Markdown file: "Install" over "-------" is one too
        segments = text_segments(source, text, meta, config, sections=fmt not in PLAIN_FORMATS, setext=fmt == "markdown")
        if fmt == "markdown" and "|" in text:  # its pipe tables also as rows with their header, as a page's
            from mmrag.ingest.tables import markdown_tables, table_segments

            return itertools.chain(segments, table_segments(source, markdown_tables(text)))
        return segments


# ---------------------------------------------------------------- HTML

_SKIP = {"script", "style", "noscript", "template", "iframe", "object", "canvas", "select", "datalist"}
_HEAD_ONLY = {"title", "meta", "link", "base", "style", "script", "noscript", "template"}
_HEADINGS = {"h1", "h2", "h3", "h4", "h5", "h6"}
_BLOCK = {
    "address", "article", "aside", "blockquote", "dd", "details", "dialog", "div", "dl", "dt", "fieldset",
    "figcaption", "figure", "footer", "form", "header", "hr", "li", "main", "nav", "ol", "p", "pre",
    "section", "summary", "table", "tbody", "thead", "tfoot", "tr", "ul", "caption",
    *_HEADINGS,
}  # fmt: skip
_NAV_ROLES = {"navigation", "search", "menu", "menubar"}  # a site's menus and search box; an app's menu of commands
_POPUP_CLASS = re.compile(r"(?:^|[-_\s])popup(?:$|[-_\s])", re.IGNORECASE)  # shown on demand (mdBook's theme list);
# a class, never an id: a heading's id is its words ("popup-menus")
_CHROME_IDS = {"mdbook-help-container"}  # mdBook's keyboard help, in every page, shown on demand
_CHROME_TAGS = {"rustdoc-topbar", "rustdoc-toolbar"}  # rustdoc's (cargo doc's) bars over every page: the item's name again
_SKIP_CLASS = re.compile(r"(?:^|[-_\s])skip(?:$|[-_\s]|link)", re.IGNORECASE)  # "Skip to main content": a link for
# keyboard users to jump over the menus (rustdoc's skip-main-content, WordPress' and GOV.UK's skip-link)
_FENCED = re.compile(r"(```\n.*?\n```)", re.DOTALL)
_HEADING_SPACES = re.compile(r"(?m)^(#{1,6})[ \t]{2,}")
_VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
# around a <dt>'s text, and where a <dd> starts, while the page is read (never left in the text)
_TERM_OPEN, _TERM_CLOSE, _DEFINITION = "\x02", "\x03", "\x04"
_MARK = re.compile("\x02([^\x02\x03\x04]*)\x03|\x04")  # a whole term, or where a definition starts
_MARKS = re.compile("[\x02\x03\x04]")
_OWN_HEADING = "\x05"  # before the "#" of a heading the reader writes; a line of the page's that reads as one is escaped
_NO_MARKS = str.maketrans("\x02\x03\x04\x05", "    ")  # a page's own control characters never pass for the marks
MAX_TERM_CHARS = 160  # a longer <dt> (a function's whole signature, a sentence) stays a line of its own
MAX_ROW_CHARS = 1_000  # a table row with more text than this (a layout table's page in a cell) keeps its lines
_ROW_BREAKERS = ("\x02", "\x03", "\x04", _OWN_HEADING, "```")  # a term, a definition, a heading, code: a page, not a row


_PERMALINKS = {"", "¶", "#", "§", "🔗", "⚓", "\u200b"}  # what a heading's own link shows (Sphinx, MkDocs, VitePress)


@dataclass
class _OpenTable:
    """A ``<table>`` being read: where its open row starts in ``parts`` (-1: none open), where each of its cells
    starts, whether a table opened inside the row, and where the last row written as a line ends."""

    parts: list[str]  # the list the row's places index (an ``<a>``'s text is read into a list of its own)
    row_at: int = -1
    cells: list[int] = field(default_factory=list)
    nested: bool = False
    line_end: int = -1


def _skip_link(attrs: list[tuple[str, str | None]]) -> bool:
    """An ``<a>`` that only jumps over a page's menus to its text ("Skip to main content"): a link to a place in
    the page whose class names it a skip link (pure)."""
    d = {k: v or "" for k, v in attrs}
    return d.get("href", "").startswith("#") and bool(_SKIP_CLASS.search(d.get("class", "")))


def _cell_line(cell: str) -> str:
    """A table cell's text on one line: its paragraphs, list items and ``<br>`` lines joined by ``; `` (by a
    space after one that ends with a stop), each line's whitespace collapsed (pure)."""
    out = ""
    for line in cell.split("\n"):
        line = " ".join(line.split())
        if line:
            out = line if not out else out + (" " if out[-1] in ".!?:;," else "; ") + line
    return out


def row_line(cells: list[str]) -> str | None:
    """A data table's row as one line of ``a | b`` cells (``CELL_BAR``, as the other readers write a table), each
    cell's text on one line (``_cell_line``: a Sphinx cell's ``<p>``, a list's items, a ``<br>``); ``None`` when it
    is no data row: fewer than two cells with text, more than ``MAX_ROW_CHARS`` of it, or a cell holding a
    heading, code or a definition list (a layout table's page) (pure)."""
    if any(mark in cell for cell in cells for mark in _ROW_BREAKERS):
        return None
    texts = [_cell_line(cell) for cell in cells]
    if sum(1 for t in texts if t) < 2 or sum(map(len, texts)) > MAX_ROW_CHARS:
        return None
    return CELL_BAR.join(texts)


class _VisibleText(HTMLParser):
    """Collects what a browser shows: no script/style/head, blocks on new lines. A link whose whole text is
    a permalink mark (the ``¶`` documentation generators put after each heading and definition) is left
    out. ``markdown`` (a page of its own, not a mail's body or a book's section): h1-h6 are written as
    Markdown headings (``## Install``) and ``<pre>`` blocks fenced (```` ``` ````), as the other document
    loaders write theirs (``mmrag.markdown``), and navigation (``<nav>``, ``role="navigation"``, ``"search"``,
    ``"menu"`` or ``"menubar"``: a site's menus, a documentation sidebar's table of contents; an element whose
    class names it a ``popup``, and mdBook's keyboard help: shown only on demand; rustdoc's top bar; a "Skip to
    main content" link, ``_skip_link``; a button in a heading, rustdoc's "Copy item path") is left out: it repeats
    on every page and answers nothing. A data table's rows are written a line each, ``a | b``
    (``row_line``)."""

    def __init__(self, markdown: bool = False) -> None:
        super().__init__(convert_charrefs=True)
        self.markdown = markdown
        self.nav: str | None = None  # the tag of the navigation element being left out ...
        self.nav_depth = 0  # ... and how deep inside it (the same tag nested)
        self.pre_at = -1  # where the open <pre> block's text starts in ``parts`` (markdown)
        self.outside_link: list[str] | None = None  # the parts before an open <a>; its own text is held apart
        self.heading_at = -1  # where the open heading's text starts in ``parts`` (-1: none open)
        self.term_open = False  # a <dt>'s text is being read (its end tag may be omitted)
        self.parts: list[str] = []
        self.tables: list[_OpenTable] = []  # the tables open, innermost last
        self.skip = 0
        self.in_head = False  # </head> may be omitted: any body element ends the head
        self.pre = 0
        self.in_title = False
        self.in_h1 = False
        self.title = ""
        self.h1 = ""
        self.description = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "head":
            self.in_head = True
        elif tag not in _HEAD_ONLY:
            self.in_head = False
        if tag == "title":
            self.in_title = True
        elif tag == "meta":
            d = {k.lower(): (v or "") for k, v in attrs}
            if d.get("name", "").lower() in ("description", "og:description") and not self.description:
                self.description = " ".join(d.get("content", "").split())
        if self.nav is not None:
            self.nav_depth += tag == self.nav
            return
        if self.markdown and tag not in _VOID and (tag == "nav" or tag in _CHROME_TAGS or any(
                k == "role" and v in _NAV_ROLES or k == "class" and v and _POPUP_CLASS.search(v) or k == "id" and v in _CHROME_IDS
                for k, v in attrs) or tag == "a" and _skip_link(attrs) or tag == "button" and self.heading_at >= 0):
            self.nav, self.nav_depth = tag, 1
            return
        if tag in _SKIP:
            self.skip += 1
        elif tag == "br":
            self.parts.append("\n")
        elif tag in _BLOCK:
            if tag in ("tr", "thead", "tbody", "tfoot") and self.tables:
                self._end_row()
                if tag == "tr" and self._row_follows():
                    self.tables[-1].row_at, self.tables[-1].parts = len(self.parts), self.parts
                    return
            level = int(tag[1]) if tag in _HEADINGS and self.markdown and not self.pre else 0
            self.parts.append("\n\n" + _OWN_HEADING + "#" * level + " " if level else "\n\n" if tag[0] == "h" or tag == "p" else "\n")
            if tag in ("dt", "dd") and self.markdown and not self.pre:
                if self.term_open:  # </dt> may be omitted: the next <dt> or the <dd> ends the term
                    self.parts.insert(len(self.parts) - 1, _TERM_CLOSE)
                self.parts.append(_TERM_OPEN if tag == "dt" else _DEFINITION)
                self.term_open = tag == "dt"
            self.heading_at = len(self.parts) if level else -1
            if tag == "pre" and self.markdown and not self.pre:
                self.parts.append("```\n")
                self.pre_at = len(self.parts)
            self.pre += tag == "pre"
            self.in_h1 = self.in_h1 or tag == "h1"
            if tag == "table":
                if self.tables and self.tables[-1].row_at >= 0:
                    self.tables[-1].nested = True
                self.tables.append(_OpenTable(self.parts))
            elif tag == "tr" and self.tables:
                self.tables[-1].row_at, self.tables[-1].parts = len(self.parts), self.parts
        elif tag in ("td", "th"):
            if self.tables:
                t = self.tables[-1]
                if t.row_at < 0:  # a cell with no <tr> before it
                    t.row_at, t.parts = len(self.parts), self.parts
                t.cells.append(len(self.parts))
            self.parts.append("\t")
        elif tag == "a" and self.outside_link is None:
            self.outside_link, self.parts = self.parts, []

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in _SKIP:  # <div/> must not open a skip region
            self.handle_starttag(tag, attrs)
            if tag not in _VOID:
                self.handle_endtag(tag)

    def handle_endtag(self, tag: str) -> None:
        if self.nav is not None:
            if tag == self.nav:
                self.nav_depth -= 1
                if self.nav_depth <= 0:
                    self.nav = None
            return
        if tag == "title":
            self.in_title = False
        elif tag == "head":
            self.in_head = False
        if tag in _SKIP:
            self.skip = max(0, self.skip - 1)
        elif tag == "a":
            self._close_link()
        elif tag in _BLOCK:
            if tag in ("tr", "thead", "tbody", "tfoot", "table") and self.tables:
                self._end_row()
                if tag == "table":
                    self.tables.pop()
            if tag in _HEADINGS and 0 < self.heading_at <= len(self.parts) and not "".join(self.parts[self.heading_at:]).strip():
                self.parts[self.heading_at - 1] = "\n\n"  # <h2></h2>, or a heading of only a permalink: no mark
            self.heading_at = -1
            if tag == "dt" and self.markdown and not self.pre and self.term_open:
                self.parts.append(_TERM_CLOSE)
                self.term_open = False
            self.parts.append("\n\n" if tag[0] == "h" or tag == "p" else "\n")
            if tag == "pre":
                self.pre = max(0, self.pre - 1)
                if not self.pre and 0 < self.pre_at <= len(self.parts):
                    code = "".join(self.parts[self.pre_at:]).strip("\n")
                    if code.strip():
                        self.parts[self.pre_at:] = [code, "\n```\n\n"]
                    else:  # an empty block: no fence
                        self.parts[self.pre_at - 1:] = ["\n"]
                    self.pre_at = -1
            if tag == "h1":
                self.in_h1 = False

    def handle_data(self, data: str) -> None:
        if self.in_title:
            self.title += data
        if self.skip or self.in_head or self.in_title or self.nav is not None:
            return
        if self.in_h1:
            self.h1 += data
        data = data.translate(_NO_MARKS)
        self.parts.append(data if self.pre else re.sub(r"\s+", " ", data))

    def _end_row(self) -> None:
        """The open row of the innermost table written as one ``a | b`` line where it is a data row
        (``row_line``); a row in a table inside it, or in ``<pre>``, or one whose places an ``<a>`` moved, is
        left as it was read (its cells on lines of their own)."""
        t = self.tables[-1]
        at, cells, t.row_at, t.cells, nested, t.nested = t.row_at, t.cells, -1, [], t.nested, False
        parts = self.parts
        if at < 0 or not cells or nested or self.pre or parts is not t.parts or cells[-1] > len(parts):
            return
        if "".join(parts[at:cells[0]]).strip():
            return
        line = row_line(["".join(parts[a:b]) for a, b in zip(cells, [*cells[1:], len(parts)], strict=True)])
        if line is not None:
            parts[at:] = [line]
            t.line_end = len(parts)

    def _row_follows(self) -> bool:
        """Whether a ``<tr>`` comes right after the table's last row written as a line (only whitespace and
        the rows' own ``<tbody>``-like breaks between them): it then starts on the next line, no blank line
        between two rows of one table."""
        t = self.tables[-1]
        if t.line_end < 0 or self.parts is not t.parts or t.line_end > len(self.parts):
            return False
        if "".join(self.parts[t.line_end:]).strip():
            return False
        self.parts[t.line_end:] = ["\n"]
        return True

    def _close_link(self) -> None:
        if self.outside_link is None:
            return
        inside, self.parts, self.outside_link = self.parts, self.outside_link, None
        if "".join(inside).strip() not in _PERMALINKS or any("\n" in part for part in inside):
            self.parts.extend(inside)

    def text(self) -> str:
        self._close_link()  # an <a> never closed
        pieces = _FENCED.split("".join(self.parts))  # a fenced code block keeps its indentation
        raw = "".join(p if i % 2 else _trimmed(_own_headings(p)) for i, p in enumerate(pieces))
        raw = _MARKS.sub("", _definitions(raw))
        raw = re.sub(r"\n{3,}", "\n\n", raw)
        return raw.strip()


def _definitions(raw: str) -> str:
    """A definition list's term (``<dt>dialout</dt><dd>Full and direct access to serial ports.``) written at the
    start of its definition's first line (``dialout: Full and direct access ...``), as a glossary is read aloud:
    the sentence then names what it defines, so an answer quoting it says which group, option or word it is.
    Terms of one definition are joined (``-v, --verbose: ...``). A term that is long or spans lines, or one
    before a heading, code or a table, stays on its own line; so do terms with no definition after them (a
    table of contents written as a list of ``<dt>``). A long API signature (``json.dumps(obj, *, skipkeys=False,
    ...)``) stays a line and its name starts the description (``json.dumps: Serialize obj ...``). One pass over the marks (a regular expression over runs
    of terms went quadratic on a page of 16,000 ``<dt>`` with no ``<dd>``: 13 s)."""
    out: list[str] = []
    pending: list[str] = []  # the raw texts of the terms read since the last text or definition
    pos, lead = 0, False
    for m in _MARK.finditer(raw):
        between = raw[pos:m.start()]
        if lead:  # the definition's text follows "term: " with no break
            between, lead = between.lstrip(), False
        if between.strip() or not pending:
            out.append(_term_lines(pending) + between if pending else between)
            pending = []
        if m.group(0) == _DEFINITION:
            if pending:
                names = [" ".join(t.split()) for t in pending if t.strip()]
                term, after = ", ".join(names), raw[m.end():m.end() + 64].lstrip()[:3]
                prose = bool(after) and not after.startswith(("#", "```")) and after[0] not in "\t\x02\x03\x04"
                one_line = bool(term) and len(term) <= MAX_TERM_CHARS and not any("\n" in t.strip() for t in pending)
                name = signature_name(term) if prose and not one_line else None
                if prose and one_line:
                    out.append(term_lead(term))
                elif name:  # an API entry's long signature stays a line, a paragraph apart; its name starts the text
                    out.append(_term_lines(names) + "\n" + term_lead(name))
                else:
                    out.append(_term_lines(names))
                lead, pending = prose and (one_line or name is not None), []
        else:
            pending.append(m.group(1))
        pos = m.end()
    tail = raw[pos:].lstrip() if lead else raw[pos:]
    out.append(_term_lines(pending) + tail)
    return "".join(out)


def _term_lines(terms: list[str]) -> str:
    """Terms left on lines of their own (their whitespace collapsed)."""
    names = [" ".join(t.split()) for t in terms if t.strip()]
    return "\n".join(names) + "\n" if names else ""


def _own_headings(text: str) -> str:
    """The page's text with its ``<h1>``-``<h6>`` as the only heading lines: a line of its own words that would
    read as one (``<p># of guests: 12</p>``) escaped (``markdown.literal_lines``), the headings' marks dropped."""
    return literal_lines(text).replace(_OWN_HEADING, "") if "#" in text else text


def _trimmed(text: str) -> str:
    """No spaces around line breaks, one space after a heading's marks (``<h1> Title</h1>``)."""
    return _HEADING_SPACES.sub(r"\1 ", re.sub(r"[ \t]*\n[ \t]*", "\n", text))


def _html_encoding(data: bytes) -> str | None:
    m = _META_CHARSET.search(data[:4096])
    if not m:
        return None
    try:
        return codecs.lookup(m.group(1).decode("ascii")).name
    except (LookupError, UnicodeDecodeError):
        return None


def stray_brackets_escaped(markup: str) -> str:
    """``markup`` with each ``<`` that cannot open a tag written ``&lt;``: one with another ``<`` before any
    ``>``, or no ``>`` after it (``a<b a<b ...``, ``x < y < z``). Python 3.11's ``HTMLParser`` scans from such a
    ``<`` to the end of the text looking for the tag's end, once per ``<``: 8,000 ``a<b `` took 4.8 s, 40,000
    minutes. Comments (``<!-- <div>old</div> -->``) are kept as they are; one never closed runs to the end of the
    page, as a browser reads it, and is cut there (the parser would scan for its ``-->`` again from each
    ``<`` after it). One pass (pure)."""
    if "<" not in markup:
        return markup
    out: list[str] = []
    starts = [m.start() for m in re.finditer("<", markup)]
    pos, gt, comment_end = 0, -1, -1
    for k, i in enumerate(starts):
        if i < comment_end:
            continue
        if markup.startswith("<!--", i):
            end = markup.find("-->", i + 4)
            if end < 0:  # a comment never closed runs to the end, as a browser reads it (shows nothing of it)
                out.append(markup[pos:i])
                return "".join(out)
            comment_end = end + 3
            continue
        if gt <= i:
            gt = markup.find(">", i + 1)
            gt = len(markup) + 1 if gt < 0 else gt
        following = starts[k + 1] if k + 1 < len(starts) else len(markup)
        if gt > following or gt > len(markup):
            out.append(markup[pos:i])
            out.append("&lt;")
            pos = i + 1
    out.append(markup[pos:])
    return "".join(out)


def read_html(parser: HTMLParser, markup: str) -> None:
    """Feed a whole page to one of mmrag's ``HTMLParser`` readers (the text's, the tables', an e-book's pictures')
    and close it; every one reads it through ``stray_brackets_escaped``, so none can stall on a hostile page."""
    parser.feed(stray_brackets_escaped(markup))
    parser.close()


def html_to_text(markup: str, markdown: bool = False) -> tuple[str, Mapping[str, str]]:
    """Visible text of an HTML document and its ``title``/``description``; ``markdown``: headings and code
    blocks written as Markdown, navigation left out (``_VisibleText``)."""
    parser = _VisibleText(markdown)
    read_html(parser, markup)
    meta: dict[str, str] = {}
    title = " ".join((parser.title or parser.h1).split())[:MAX_TITLE_CHARS]
    if title:
        meta["title"] = title
    if parser.description:
        meta["description"] = parser.description[:1000]
    return parser.text().translate(_CONTROLS), meta


class HtmlLoader:
    """HTML pages: visible text (no script/style), title from ``<title>`` or ``<h1>``."""

    kinds: tuple[str, ...] = ("html",)

    def load(self, path: Path, config: IngestConfig) -> Iterator[Segment]:
        path = Path(path)
        source = str(path)
        check_params(config.chunk_words, config.chunk_overlap)
        data = read_source(path, config)
        declared = (
            None if data.startswith((b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")) else _html_encoding(data)
        )
        if declared:
            markup, encoding = data.decode(declared, errors="replace"), declared
        else:
            markup, encoding = decode_text(data)
        try:
            text, html_meta = html_to_text(markup, markdown=True)
        except Exception as exc:  # noqa: BLE001 - html.parser is lenient; anything else is a bad file
            raise IngestError(source, f"cannot parse HTML ({exc}); check the file") from None
        if not text.strip():
            raise IngestError(source, "no visible text in this HTML page (empty, or only scripts/styles)")
        meta = {"format": "html", "encoding": encoding, **html_meta}
        from mmrag.ingest.tables import html_tables, table_segments  # tables also as rows with their header

        return itertools.chain(text_segments(source, text, meta, config), table_segments(source, html_tables(markup)))


__all__ = [
    "HtmlLoader",
    "TextLoader",
    "decode_text",
    "find_title",
    "html_to_text",
    "read_html",
    "read_source",
    "rtf_text",
    "stray_brackets_escaped",
    "text_segments",
]

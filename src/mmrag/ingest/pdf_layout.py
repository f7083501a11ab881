"""A PDF page as a person reads it: its titles told by their type, its paragraphs by where lines stop.

A PDF's text layer has no structure: a section title is one more line, so the chunks ran it into the first
sentence under it and the answers quoted it so ("Pngcairo The pngcairo terminal device generates output in
png"), and with no blank lines between paragraphs a list or a table's rows read as one sentence. What a
reader sees is the type and the shape: the body in one size, the titles larger, the smallest titles bold;
a paragraph's last line, a list's item, a row stop short of the column's edge; an option list's tag set a
gap apart from its text. ``read_lines`` samples each line's size, weight, font family and extent from pdfium
(three of its characters, never a generated space), and mends its spaces from where every character stands
(``respaced``); the rest is pure: ``body_style`` finds the type that sets most of the document's prose,
``heading_levels`` ranks the larger sizes (the largest is ``#``), ``paragraph_ends`` finds the lines that end a
paragraph, ``option_entry`` an option list's entries, and ``page_markdown`` writes the page with its titles as
Markdown headings (``## 3.16 Pragmas``, as every other reader writes them), each entry as ``-C: text`` and a
blank line after each paragraph. The size is the height of a character's loose
box (the font's ascent to descent at its effective size), not the font size operand, which a producer may
leave at 1 and scale by the text matrix.
"""

from __future__ import annotations

import ctypes
import re
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from functools import partial
from itertools import pairwise
from typing import Any

from mmrag.ingest.chunking import has_words
from mmrag.markdown import CELL_BAR, definition, is_heading, literal, without_heading_marks
from mmrag.option_terms import ascii_dashes, leads_with_option

HEADING_RATIO = 1.15  # a line set at least this much larger than the body is a heading ...
MAX_HEADING_WORDS = 16  # ... if it is short: a title, not a paragraph in a larger type
MAX_HEADING_LINES = 3  # a title wrapped over more lines than this is a large-type paragraph (a cover, a quote)
BOLD_WEIGHT = 600  # a font weight this heavy is bold ...
BOLD_OVER_BODY = 150  # ... and so is one this much heavier than the body's (gnuplot's titles: 570 over 345)
MAX_LEVELS = 6


@dataclass(frozen=True)
class PdfLine:
    """One line of a page's text layer: its text (as pdfium wrote it), its size in points (the smallest of
    its sampled characters; 0 when unknown), its weight (the lightest sampled; 0 when unknown) and where it
    starts and ends across the page."""

    text: str
    size: float = 0.0
    weight: int = 0
    left: float = 0.0  # where its first character starts and its last ends, in points (0, 0 when unknown)
    right: float = 0.0
    # for a line that starts with an option (an option list's entry?): where its first spaces are in ``text`` and
    # how wide each is, in points (from the character before to the one after)
    gaps: tuple[tuple[int, float], ...] = ()
    entry: bool = False  # written as an option list's entry (``tag: text``): never a title
    family: str = ""  # the font family of its middle character (``font_family``; "" when unknown)


@dataclass(frozen=True)
class BodyStyle:
    """The document's running text: the size and weight that set most of its characters, and the font family
    that sets most of them ("" when unknown)."""

    size: float
    weight: int
    family: str = ""


def _samples(text: str) -> list[int]:
    """Indexes of up to three characters of a line that are not spaces: its first, middle and last (pure)."""
    filled = [i for i, ch in enumerate(text) if not ch.isspace()]
    if not filled:
        return []
    return sorted({filled[0], filled[len(filled) // 2], filled[-1]})


_BOLD_NAMES = ("bold", "black", "heavy", "demi", "cmbx")  # font names of bold faces (cmbx: TeX's bold roman)


def _font_name(textpage: Any, index: int, pdfium_c: Any) -> str:
    """The name of a character's font, case-folded ("" when pdfium gives none)."""
    buf = ctypes.create_string_buffer(128)
    flags = ctypes.c_int(0)
    size = pdfium_c.FPDFText_GetFontInfo(textpage.raw, index, buf, len(buf), ctypes.byref(flags))
    return buf.value.decode("latin-1", "replace").casefold() if 0 < size <= len(buf) else ""


def _weight(textpage: Any, index: int, pdfium_c: Any) -> int:
    """A character's font weight; for a font that gives none (the standard fonts a PDF need not embed), 700
    when its name says bold (``Helvetica-Bold``), else 0."""
    weight = int(pdfium_c.FPDFText_GetFontWeight(textpage.raw, index))
    if weight > 0:
        return weight
    return 700 if any(word in _font_name(textpage, index, pdfium_c) for word in _BOLD_NAMES) else 0


_SUBSET = re.compile(r"^[A-Za-z]{6}\+")  # a subset's tag: ABCDEF+Times-Bold
_TEX_FONT = re.compile(r"^(?:cm|ec|sf|lm)[a-z]*\d+$")  # TeX's Computer Modern and EC fonts: cmr10, cmbx12, sftt1000
_FACE = re.compile(r"(?:bold|black|heavy|demi|semi|medium|medi|regular|regu|roman|book|light|italic|ital|oblique|"
                   r"slant(?:_\d+)?|condensed|narrow|psmt|mt|ps|\d+)$")


def font_family(name: str) -> str:
    """The family of a font's name, its face left out: ``ABCDEF+Times-Bold`` and ``Times-Roman`` -> ``times``,
    ``Arial-BoldMT`` and ``ArialMT`` -> ``arial``, ``NimbusSanL-Bold`` -> ``nimbussanl``; TeX's ``cmbx10`` and
    ``cmr10`` -> ``cm``, its typewriter ``cmtt10`` -> ``cmtt`` and sans ``cmss10`` -> ``cmss`` (pure)."""
    name = _SUBSET.sub("", name.strip()).casefold()
    if _TEX_FONT.match(name):
        return name[:2] + ("tt" if "tt" in name else "ss" if name[2:4] == "ss" else "")
    family = re.split(r"[-,]", name, maxsplit=1)[0]
    while (cut := _FACE.search(family)) and cut.start() > 0:
        family = family[: cut.start()]
    return family


SPACE_GAP = 0.16  # characters this far apart (a share of their line's height) stand a space apart ...
NO_GAP = 0.05  # ... and a space between characters that overlap by less than this (a kerned pair) is none
CHECK_PAGES = 3  # a document whose first pages with text need no space mended is read without measuring every character


def respaced(line: str, boxes: Sequence[tuple[float, float, float, float]]) -> tuple[str, list[int]]:
    """``line`` as it looks: a space where two characters stand a space apart but the text layer has none
    (``Youcan`` -> ``You can``: pdfium writes no space where a PostScript producer moved to the next word, as
    ``groff``'s, ``man -t``'s, pages do), and none where it has one between characters that touch or overlap a
    little (``giv en`` -> ``given``, a kerned pair; a glyph that reaches back over its space, an italic f, leaves
    a small gap, not an overlap, and keeps it); and, for each character of the result, its index in ``line`` (-1 for an added space).
    ``boxes``: each character's loose box (left, bottom, right, top; a height of 0 is unknown). Only characters
    side by side on one line, left to right, count: right-to-left and rotated text stay as written (pure)."""
    def beside(a: int, b: int) -> float | None:  # the gap from a to b in heights, when b follows a on the line
        (al, ab, ar, at), (bl, bb, _, bt) = boxes[a], boxes[b]
        height = max(at - ab, bt - bb)
        if at <= ab or bt <= bb or bb >= at or ab >= bt or bl < al:
            return None
        return (bl - ar) / height

    out: list[str] = []
    origin: list[int] = []
    last = len(line) - 1
    for i, ch in enumerate(line):
        if ch == " ":
            if 0 < i < last and line[i - 1] != " " and line[i + 1] != " ":
                gap = beside(i - 1, i + 1)
                if gap is not None and -NO_GAP < gap <= 0.0:
                    continue
        elif i and line[i - 1] != " ":
            gap = beside(i - 1, i)
            if gap is not None and gap >= SPACE_GAP:
                out.append(" ")
                origin.append(-1)
        out.append(ch)
        origin.append(i)
    return "".join(out), origin


def read_lines(textpage: Any, raw: str, pdfium_c: Any, respace: bool = True) -> list[PdfLine]:
    """The lines of ``raw`` (the page's ``get_text_range()``, lines ended by ``\\r\\n``) with their sizes and
    weights read from ``textpage``; without them (all 0) where pdfium's characters do not line up with the
    text (a character outside the Basic Multilingual Plane counts twice in the text). ``respace``: each line's
    spaces mended from where every character stands (``respaced``; two microseconds a character), else read
    as pdfium wrote them."""
    lines = raw.split("\r\n")
    if len(raw) != pdfium_c.FPDFText_CountChars(textpage.raw):
        return [PdfLine(line) for line in lines]
    rect = pdfium_c.FS_RECTF()

    def box(index: int) -> tuple[float, float, float, float]:
        if not pdfium_c.FPDFText_GetLooseCharBox(textpage.raw, index, ctypes.byref(rect)):
            return (0.0, 0.0, 0.0, 0.0)
        return (float(rect.left), float(rect.bottom), float(rect.right), float(rect.top))

    out: list[PdfLine] = []
    at = 0
    for line in lines:
        if respace and line:
            boxes = [box(at + i) for i in range(len(line))]
            text, origin = respaced(line, boxes)
        else:
            boxes, text, origin = [], line, list(range(len(line)))
        box_of = partial(_char_box, boxes, origin, at, box)  # the loose box of text's i-th character
        sizes: list[float] = []
        weights: list[int] = []
        xs: list[float] = []  # each sampled character's left and right
        samples = _samples(text)
        for i in samples:
            left, bottom, right, top = box_of(i)
            sizes.append(round((top - bottom) * 4) / 4)
            weights.append(_weight(textpage, at + origin[i], pdfium_c))
            xs.extend((left, right))
        middle = at + origin[samples[len(samples) // 2]] if samples else -1  # the family is its middle character's
        out.append(PdfLine(text, min(sizes, default=0.0), max(0, min(weights, default=0)),
                           xs[0] if xs else 0.0, xs[-1] if xs else 0.0, _gaps(text, box_of),
                           family=font_family(_font_name(textpage, middle, pdfium_c)) if samples else ""))
        at += len(line) + 2
    return out


def _char_box(boxes: Sequence[tuple[float, float, float, float]], origin: Sequence[int], at: int,
              box: Callable[[int], tuple[float, float, float, float]], i: int) -> tuple[float, float, float, float]:
    """The loose box of a line's i-th character as read (``origin``: its index in the line pdfium wrote, which
    starts at ``at`` on the page): from ``boxes`` when every character was measured, else measured now."""
    return boxes[origin[i]] if boxes else box(at + origin[i])


MAX_GAPS = 8  # the spaces measured on a line that starts with an option


def _gaps(line: str, box_of: Callable[[int], tuple[float, float, float, float]]) -> tuple[tuple[int, float], ...]:
    """Where the first ``MAX_GAPS`` single spaces of a line that starts with an option are, and their widths: an option
    list sets its tags apart from what they do by a wider gap than a space (groff's ``.TP``, LaTeX's
    ``description``); ``()`` for any other line (``option_entry`` reads no other). ``box_of(i)``: the loose box of
    the line's i-th character."""
    if not leads_with_option(line.lstrip()):
        return ()
    out: list[tuple[int, float]] = []
    for i in range(1, len(line) - 1):
        if line[i] == " " and line[i - 1] != " " and line[i + 1] != " ":
            out.append((i, round(box_of(i + 1)[0] - box_of(i - 1)[2], 2)))
            if len(out) >= MAX_GAPS:
                break
    return tuple(out)


PROSE_WORDS = 6  # a line with this many words of letters is prose (not code, not a table's row of numbers)
_LETTERS_WORD = re.compile(r"[^\W\d_]{2,}[,.;:!?)]?")


def _prose(line: PdfLine) -> bool:
    return sum(1 for word in line.text.split() if _LETTERS_WORD.fullmatch(word)) >= PROSE_WORDS


def body_style(pages: Iterable[Sequence[PdfLine]]) -> BodyStyle | None:
    """The size and the weight that set the most characters of the document's prose lines (of all its lines
    when it has no prose): a manual's code listing in a smaller type can outweigh its prose, and every short
    paragraph would read as a title. ``None`` when no line has a size (pure)."""
    styles: dict[bool, Counter[tuple[float, int, str]]] = {True: Counter(), False: Counter()}
    for lines in pages:
        for line in lines:
            if line.size > 0:
                styles[_prose(line)][(line.size, line.weight, line.family)] += len(line.text.strip())
    counts = styles[True] or styles[False]
    if not counts:
        return None
    sizes: Counter[float] = Counter()
    weights: Counter[int] = Counter()
    families: Counter[str] = Counter()
    for (size, weight, family), n in counts.items():
        sizes[size] += n
        weights[weight] += n
        families[family] += n
    return BodyStyle(sizes.most_common(1)[0][0], weights.most_common(1)[0][0], families.most_common(1)[0][0])


def _shaped(line: PdfLine) -> bool:
    """Whether a line could be a title: it has words and is short (pure)."""
    return has_words(line.text) and len(line.text.split()) <= MAX_HEADING_WORDS


def _bold(line: PdfLine, body: BodyStyle) -> bool:
    """Whether a line is bolder than the body: bold by weight, or by ``BOLD_OVER_BODY`` over a known body
    weight (pure)."""
    if body.weight >= BOLD_WEIGHT:
        return False
    return line.weight >= BOLD_WEIGHT or (body.weight > 0 and line.weight >= body.weight + BOLD_OVER_BODY)


def _larger(line: PdfLine, body: BodyStyle) -> bool:
    return line.size >= body.size * HEADING_RATIO


def heading_levels(pages: Iterable[Sequence[PdfLine]], body: BodyStyle) -> dict[float, int]:
    """Each size a title is set in, larger than the body, ranked: the largest is level 1; sizes past
    ``MAX_LEVELS - 1`` share the last level but one (bold titles at the body's size take the level after the
    largest number given) (pure)."""
    sizes = sorted({ln.size for lines in pages for ln in lines if _larger(ln, body) and _shaped(ln)}, reverse=True)
    return {size: min(rank + 1, MAX_LEVELS - 1) for rank, size in enumerate(sizes)}


def _level(line: PdfLine, body: BodyStyle, levels: dict[float, int], bold_level: int) -> int:
    """The heading level of one line (``bold_level`` for a bold title at the body's size, in the body's font
    family: a bold line in another family, a manual's command in bold sans or typewriter type, is code, not a
    title), 0 for running text (pure)."""
    if not _shaped(line):
        return 0
    if _larger(line, body):
        return levels.get(line.size, 0)
    if (_bold(line, body) and abs(line.size - body.size) <= 0.5 and not line.text.rstrip().endswith((".", ",", ";"))
            and not (line.family and body.family and line.family != body.family)):
        return bold_level
    return 0


COLUMN_SLACK = 40.0  # points: lines that start this close to each other share a column (an indent, not a column)
SHORT_LINE = 0.85  # a line that ends before this share of its column's width ends its paragraph


def _columns(lines: Sequence[PdfLine]) -> list[tuple[float, float]]:
    """For each line, where the lines of its column start and end: the leftmost start and the 90th percentile
    of the right ends of the lines that start within ``COLUMN_SLACK`` of it (two columns, an indented first
    line) (pure)."""
    out = []
    for line in lines:
        same = [o for o in lines if abs(o.left - line.left) <= COLUMN_SLACK]
        rights = sorted(o.right for o in same)
        out.append((min(o.left for o in same), rights[int(0.9 * (len(rights) - 1))]))
    return out


def paragraph_ends(lines: Sequence[PdfLine]) -> list[bool]:
    """Which lines end a paragraph: a line that stops short of its column's right edge (the last line of a
    paragraph, an item of a list, a row of a table, a line of code), unless the next line carries its sentence
    on (it starts in lower case and this line ends in no stop). A PDF's text layer has no blank lines between
    paragraphs, so without this the prompt ran a list or a table into one sentence. Lines with no position
    end nothing (pure)."""
    ends = [False] * len(lines)
    known = [i for i, line in enumerate(lines) if line.right > line.left and line.text.strip()]
    if len(known) < 3:
        return ends
    columns = _columns([lines[i] for i in known])
    for n, i in enumerate(known[:-1]):
        start, end = columns[n]
        if end <= start or lines[i].right >= start + SHORT_LINE * (end - start):
            continue
        after = lines[known[n + 1]].text.lstrip()
        ends[i] = not (lines[i].text.rstrip()[-1:] not in ".!?:;" and after[:1].islower())
    return ends


MAX_TAG_WORDS = 6  # an option list's tag has at most this many words ("-Wl linkOption[,linkOption]...")
WIDE_GAP = 1.3  # a gap this many times the line's usual space (and a tenth of an em wider) ends a tag ...
HANG = 1.5  # ... as does the line under a tag alone starting this many ems further right (a hanging indent)


def option_entry(line: PdfLine, after: PdfLine | None) -> int:
    """Where what an option does starts in ``line``, when the line is an option list's entry: the index after
    the wider gap that ends its tag (``−C   list entries by columns``, ``--iram-size <Value>   Causes the
    linker ...``), ``len(text)`` for a tag alone on its line over its text set further right (``−a, −−all`` over
    ``do not ignore entries ...``), else 0. A manual's option list is a definition list, which a PDF's text
    layer writes as lines; written as ``tag: text`` (``markdown.definition``), as the roff, HTML and reST
    readers write theirs, the search knows the entry of an asked option and the answer quotes it with its
    tag (pure)."""
    text = line.text.rstrip()
    if not leads_with_option(text.lstrip()) or line.size <= 0:
        return 0
    widths = [w for _, w in line.gaps]
    for k, (at, width) in enumerate(line.gaps[:MAX_TAG_WORDS]):
        rest = sorted(widths[k + 1:])
        usual = rest[len(rest) // 2] if rest else 0.3 * line.size
        if width >= WIDE_GAP * usual and width - usual >= 0.1 * line.size and _tag_like(text[:at]):
            return at + 1
    hangs = after is not None and after.right > after.left and after.left - line.left >= HANG * line.size
    return len(text) if hangs and _tag_like(text) else 0


_PLACEHOLDER = re.compile(r"[A-Z<\[{=]")  # FILE, <Value>, [=WHEN], linkOption[,linkOption]...


def _tag_like(text: str) -> bool:
    """Whether ``text`` reads as an option list's tag: at most ``MAX_TAG_WORDS`` words, options and their
    arguments' placeholders, at most one other word (``-o file``), not the end of a sentence (``−cftuvSUX nor
    −−sort is specified.`` starts with an option and is none) (pure)."""
    words = text.replace(",", " ").split()
    other = sum(1 for word in words if not leads_with_option(word) and not _PLACEHOLDER.search(word))
    ends_sentence = text[-1:] in ",;:!?" or (text.endswith(".") and not text.endswith("..."))
    return 0 < len(words) <= MAX_TAG_WORDS and other <= 1 and not ends_sentence


CONTENTS_SHARE = 0.6  # this share of a page's lines (8 at least) point to pages: a table of contents or an index
_PAGE_AT_END = re.compile(r"(?:\s|\.)(\d{1,4})\s*$")  # "Boxplot 64", "2D boxes . . . . 63"
_INDEX_ENTRY = re.compile(r",\s*\d{1,4}(?:[-–]\d{1,4})?(?:,\s*\d{1,4}(?:[-–]\d{1,4})?)*\s*$")  # "mttics, 172, 180"


def is_contents_page(lines: Sequence[str], continues: bool = False) -> bool:
    """Whether a page is a table of contents (most lines end with a page number, and the numbers rise) or a
    book's index (most lines end with ", 172, 180"). Their lines are titles and terms with page numbers: read
    as table rows and headings they were short, exact matches for every section's title, and crowded the
    sections themselves out of the answers. ``continues``: the page next to one that is, where three such
    lines are enough (the contents' last page: "V Bugs 303", "VI Index 303") (pure)."""
    filled: list[str] = []
    for line in (line.strip() for line in lines):
        if line.isdigit() and filled:  # a page number the text layer put on a line of its own
            filled[-1] += " " + line
        elif has_words(line):
            filled.append(line)
    if len(filled) < (3 if continues else 8):
        return False
    need = CONTENTS_SHARE * len(filled)
    if sum(1 for line in filled if _INDEX_ENTRY.search(line)) >= need:
        return True
    numbers = [int(m.group(1)) for m in map(_PAGE_AT_END.search, filled) if m]
    rising = sum(1 for a, b in pairwise(numbers) if b >= a)
    return len(numbers) >= need and len(set(numbers)) >= (1 if continues else 4) and rising >= 0.8 * (len(numbers) - 1)


_JUNK_TITLE = re.compile(r"(?i)^(?:untitled.*|document\d*|microsoft (?:word|powerpoint|excel) - .*|.*\.(?:docx?|pptx?|"
                         r"xlsx?|odt|tex|dvi|indd|qxd|pdf|ps|eps|txt|html?))$")


def document_title(metadata_title: str, first_page: str, name_words: str = "") -> str:
    """A PDF's title: its metadata's, unless that is empty or a producer's leftover ("Untitled", "Microsoft Word -
    report.docx"), else the first heading of its first page as read (``page_markdown``), else the words of its
    file's name (``name_words``: ``tar.pdf`` -> "tar"; a manual page printed with ``man -t`` has neither a title
    nor a heading its type tells, and its options never name their command), else "" (pure)."""
    title = " ".join(metadata_title.split())
    if has_words(title) and not _JUNK_TITLE.match(title):
        return title[:200]
    for line in first_page.split("\n"):
        if is_heading(line):
            return without_heading_marks(line).strip()[:200]
    return name_words[:200]


def _entries(lines: Sequence[PdfLine], ends: Sequence[bool]) -> tuple[list[PdfLine], list[bool]]:
    """The lines with each option list's entry (``option_entry``) written as one ``tag: text`` line (a tag alone
    and the line under it joined; the tag's dashes as typed, ``-r, --rate``, not as typeset, ``−r, −−rate``), and
    which of them end a paragraph (pure)."""
    out: list[PdfLine] = []
    out_ends: list[bool] = []
    i = 0
    while i < len(lines):
        line, end = lines[i], ends[i]
        after = lines[i + 1] if i + 1 < len(lines) else None
        cut = option_entry(line, after)
        text = line.text.rstrip()
        if cut and cut < len(text):
            line = replace(line, text=definition(ascii_dashes(text[:cut]), text[cut:]), entry=True)
        elif cut and after is not None:
            line, end = replace(line, text=definition(ascii_dashes(text), after.text), right=after.right, entry=True), ends[i + 1]
            i += 1
        if cut and out_ends:
            out_ends[-1] = True  # an entry starts a paragraph of its own
        out.append(line)
        out_ends.append(end)
        i += 1
    return out, out_ends


def page_markdown(lines: Sequence[PdfLine], body: BodyStyle | None, levels: dict[float, int]) -> str:
    """The page's text with its title lines as Markdown headings, each a paragraph of its own, and a blank
    line after each line that ends a paragraph (``paragraph_ends``). A title wrapped over two or three lines
    of one style is one heading; more lines than that in a title's style are left as text (a cover's large
    type, a pull quote). Without a body style (no sizes read), no headings (pure)."""
    lines, ends = _entries(lines, paragraph_ends(lines))
    if body is None:
        return "\n".join(literal(line.text) + ("\n" if end else "") for line, end in zip(lines, ends, strict=True))
    bold_level = min(max(levels.values(), default=0) + 1, MAX_LEVELS)  # after the largest number a size has
    marks = [0 if line.entry else _level(line, body, levels, bold_level) for line in lines]
    out: list[str] = []
    i = 0
    while i < len(lines):
        level = marks[i]
        j = i + 1
        while level and j < len(lines) and marks[j] == level and lines[j].size == lines[i].size:
            j += 1
        if level and j - i <= MAX_HEADING_LINES:
            words = " ".join(" ".join(line.text.split()) for line in lines[i:j])
            out.extend(["", "#" * level + " " + words, ""])
        else:
            for k in range(i, j):
                out.extend([literal(lines[k].text), ""] if ends[k] else [literal(lines[k].text)])
        i = j
    return "\n".join(out)


def plain_table_headers(body: str, headers: Iterable[Sequence[str]]) -> str:
    """``body`` (a page's Markdown) with each heading whose words are a table's header on the page written as a
    plain line: a header set bold at the body's size (``Name  Purpose  Where to get``) reads as a title, and the
    rows under it, and every chunk up to the next title, would be placed in a "section" named by the table's
    columns. ``headers``: the header cells of the tables the page's aligned rows form (``tables.pdf_tables``)
    (pure)."""
    wanted = {" ".join(" ".join(cells).split()).casefold() for cells in headers if len(cells) >= 2}
    if not wanted:
        return body
    lines = body.split("\n")
    for i, line in enumerate(lines):
        if is_heading(line):
            words = " ".join(without_heading_marks(line).split())
            if words.casefold() in wanted:
                lines[i] = literal(words)
    return "\n".join(lines)


def _letters(text: str) -> str:
    """``text``'s letters and digits, case folded: what a table's cells and the page's lines of it share
    whatever the spacing, wrapping, hyphenation and Markdown marks (pure)."""
    return "".join(ch for ch in text.casefold() if ch.isalnum())


def tables_as_rows(body: str, tables: Iterable[Sequence[Sequence[str]]]) -> str:
    """``body`` (a page's Markdown) with the lines that hold each table written as its rows, one ``a | b | c``
    line each between blank lines, as the office readers write a table (``office.add_table``). The page's
    text runs a table's lines together as prose: a cell that wraps splits a row over two lines and the last
    row runs into the paragraph after the table ("//example.org/horn/ lensfmt Lens file checker
    http://example.org/ All three run on ..."). ``tables``: each table's lines, header first where it has
    one (``tables.Table.lines``). A table is placed where a run of whole lines of ``body`` holds its cells'
    letters in order; one the page's text orders otherwise (columns read one after the other) is left as
    the page has it (pure)."""
    lines = body.split("\n")
    for table in tables:
        want = _letters("".join("".join(row) for row in table))
        if len(want) < 8:
            continue
        keys = [_letters(line) for line in lines]
        for i, key in enumerate(keys):
            if not key or not want.startswith(key):
                continue
            got, j = "", i
            while j < len(lines) and len(got) < len(want) and want.startswith(got + keys[j]):
                got += keys[j]
                j += 1
            if got == want:
                lines[i:j] = ["", *(CELL_BAR.join(" ".join(cell.split()) for cell in row) for row in table), ""]
                break
    return "\n".join(lines)


__all__ = ["BodyStyle", "PdfLine", "body_style", "document_title", "heading_levels", "is_contents_page", "option_entry",
           "page_markdown", "paragraph_ends", "plain_table_headers", "read_lines", "tables_as_rows"]

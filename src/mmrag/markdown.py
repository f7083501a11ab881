"""Markdown headings (``## Revenue``): one definition for the prompt, the extractive answer and the
result lines; how every reader writes a definition list's entry (``definition``) and how it is read back
(``defined_names``); a Markdown line as it reads (``as_read``).

Documents, slides, mail, books and notebooks are written with Markdown headings by their loaders
(``ingest/``), so every reader of a chunk's text needs to tell a heading line from prose: the prompt
gives it a paragraph of its own, the extractive answer never quotes it, a result line shows it
without its ``#`` marks (``as_shown``, which the server also sends to the page). (``ingest/text.py``'s
``find_title`` reads a heading's words with CommonMark's full rule.)
"""

from __future__ import annotations

import functools
import re

HEADING_MARK = r"#{1,6}[ \t]+"  # one to six "#" and a space or tab, at a line's start
_FENCE_AT = r"^[ \t]*(?:```|~~~)[^\n]*$"  # a fence line (with re.MULTILINE): a code block's first or last line
# a setext heading: a line of words over a line of "=" (level 1) or "-" (level 2); ``setext_level`` says when it is one
_SETEXT_RULE = r"[ ]{0,3}(=+|-+)[ \t]*\r?(?=\n|\Z)"
_SETEXT = r"([ ]{0,3}\S[^\n]*)\n" + _SETEXT_RULE
_HEADING = re.compile(HEADING_MARK + r"\S")
_HEADING_LINE = re.compile(r"(?m)^(" + HEADING_MARK + r"\S.*)$")
_MARKS = re.compile(r"(?m)^[ \t]*" + HEADING_MARK)


def literal(line: str) -> str:
    """A line of a document's own words as Markdown text: one that starts with ``#`` and a space (a listing's
    ``# comment``, a manual's root prompt ``# mount -a``, a paragraph "# of guests: 12") is escaped ``\\#``, so
    it never reads as a heading (``as_read`` shows it as written). Every reader that writes Markdown puts its
    text lines through this and writes only its own headings unescaped (pure)."""
    return _pattern("hash line").sub(r"\1\\\2", line, count=1) if "#" in line else line


def literal_lines(text: str) -> str:
    """``literal`` over every line of ``text`` (pure)."""
    return _pattern("hash line").sub(r"\1\\\2", text) if "#" in text else text


def is_heading(line: str) -> bool:
    """Whether ``line`` (a sentence or a line) is a Markdown heading (pure)."""
    return _HEADING.match(line) is not None


# a line of text over a line of one repeated mark is a title: a setext heading (Markdown: "Title" over "====="
# or "-----") or a reStructuredText section title (an overline above it, as rST allows, goes too); a line of
# marks alone (a thematic break "---", "***") is no text either
_RULE = re.compile(r"[ \t]*([=\-~^*+#_])\1{2,}[ \t]*")
_FENCE = re.compile(r"[ \t]*```[^`]*$")  # a fenced code block's first or last line: never a rule, and what it holds is code
_WORDY = re.compile(r"\w")


def underlined_as_headings(text: str) -> str:
    """Underlined titles (``Title`` over ``=====``; reStructuredText's ``:mod:`csv` --- CSV`` over its
    ``===``) as ``# Title`` heading lines, and lines of marks alone dropped, so a reader that joins
    hard-wrapped lines never runs a title and its rule into one sentence (pure; one pass over the lines)."""
    if "\n" not in text or not any(m * 3 in text for m in "=-~^*+#_"):
        return text
    lines = text.split("\n")
    code, fenced = [False] * len(lines), False  # inside a fenced code block (```): code, not titles
    for i, line in enumerate(lines):
        opens = _FENCE.match(line) is not None
        code[i] = fenced or opens
        if opens:
            fenced = not fenced
    rules = [not code[i] and _RULE.fullmatch(line) is not None for i, line in enumerate(lines)]
    out: list[str] = []
    for i, line in enumerate(lines):
        if rules[i]:
            continue
        under = i + 1 < len(lines) and rules[i + 1] and not code[i]
        out.append("# " + line.strip() if under and _WORDY.search(line) and not is_heading(line.strip()) else line)
    return "\n".join(out)


def headings_apart(text: str) -> str:
    """``text`` with underlined titles as heading lines (``underlined_as_headings``) and a blank line before
    and after each heading line, so a paragraph split keeps each heading a paragraph of its own (pure)."""
    return _HEADING_LINE.sub(r"\n\1\n", underlined_as_headings(text))


CELL_BAR = " | "  # between a table's cells where a reader writes a table as text (office, roff, AsciiDoc, PDF)


def rows_apart(text: str) -> str:
    """``text`` with a blank line before and after each line of a table written as text, so a paragraph split
    keeps each row a line of its own (joined up, ``Name | Purpose lampsim | Lamp simulator hornctl | ...`` ran
    every row into one sentence). A row is a Markdown table's line (``| a | b |``) or a line of ``a | b``
    cells next to a line with as many (a line of prose with one ``|`` in it is no row); lines inside a fenced
    code block are left as they are (pure)."""
    lines = text.split("\n")
    bars = [line.count(CELL_BAR) for line in lines]
    out: list[str] = []
    fenced = False
    for i, line in enumerate(lines):
        if line.lstrip().startswith(("```", "~~~")):
            fenced = not fenced
        row = not fenced and (line.lstrip().startswith("|") or bars[i] > 0 and (
            (i > 0 and bars[i - 1] == bars[i]) or (i + 1 < len(lines) and bars[i + 1] == bars[i])))
        out.extend(("", line, "") if row else (line,))
    return "\n".join(out)


_TABLE_RULE = re.compile(r"[ ]{0,3}\|?[ \t]*:?-+:?[ \t]*(?:\|[ \t]*:?-+:?[ \t]*)*\|?[ \t]*")
_CELL_SPLIT = re.compile(r"(?<!\\)\|")


def is_markdown_row(line: str) -> bool:
    """A Markdown (GitHub) table's line as people write one, a bar at either end (``| a | b |``); not a table
    row's record whose title is an operator (``|| — Example: expr || expr``) (pure)."""
    bare = line.strip(" \t\r")
    return len(bare) > 1 and bare[0] == "|" and bare[-1] == "|"


def is_table_rule(line: str) -> bool:
    """A Markdown table's delimiter row (``|---|:---:|``, ``--- | ---``) (pure)."""
    return "-" in line and _TABLE_RULE.fullmatch(line.rstrip("\r")) is not None


def table_cells(line: str) -> list[str]:
    """The cells of a Markdown (GitHub) table's line, stripped: split at each ``|`` not escaped (``\\|`` is
    a bar inside a cell, even in code), the bars at either end dropped (pure)."""
    inner = line.strip()
    inner = inner.removeprefix("|")
    inner = inner[:-1] if inner.endswith("|") and not inner.endswith("\\|") else inner
    return [" ".join(cell.replace("\\|", "|").split()) for cell in _CELL_SPLIT.split(inner)]


def definition(term: str, text: str) -> str:
    """A definition list's entry, a manual's option or a field as one line that starts with what it defines:
    ``definition("dialout", "Full and direct access to serial ports.")`` -> ``dialout: Full and direct access
    to serial ports.``; a term that ends in a colon or a dash gets no second colon. The readers write HTML's
    ``<dt>``/``<dd>``, roff's ``.TP`` tags, reStructuredText's definition, option and field lists, AsciiDoc's
    ``term::`` and Org's ``- term ::`` so, so a sentence quoted from the entry names it, and the extractive
    answer knows the entry of what a question asks about (``generate/extractive.label_matches``) (pure)."""
    term, text = " ".join(term.split()), text.strip()
    return term_lead(term) + text if term and text else term or text


def term_lead(term: str) -> str:
    """What goes before a definition's text: ``dialout: ``, or ``Parameters: `` for a term already ending
    in a colon or a dash (not a hyphen: cut's range ``N-`` is ``N-: from N'th byte ...``) (pure)."""
    return f"{term} " if term[-1:] in (":", "：", "—", "–") else f"{term}: "


@functools.cache
def _pattern(name: str) -> re.Pattern[str]:
    """The patterns of ``signature_name``, ``defined_names`` and ``as_read``, compiled when first used (this module
    is imported at every CLI start; they are used only to read and answer)."""
    return re.compile(*_PATTERNS[name])


_PATTERNS: dict[str, tuple[str, int]] = {
    "signature": (r"^(?:class |async |exception )?([A-Za-z_][\w.]{0,80})\(", 0),
    "defined": (r"^([^:\n]{1,160}?):\s+\S", 0),
    "image": (r"!\[([^\]\n]{0,300})\]\([^)\n]{0,2000}\)", 0),
    "link": (r"\[([^\]\n]{0,300})\]\([^)\n]{0,2000}\)", 0),
    # a reference link, full or collapsed (``[text][label]``, ``[`util.inspect()`][]``), not an index (``m[i][j]``)
    "reference link": (r"(?<![\w\]])\[([^\]\n]{1,300})\]\[[^\]\n]{0,300}\]", 0),
    # the tags a Markdown file or a note carries for layout (not a placeholder such as "cp <source> <dest>")
    "layout tag": ((r"</?(?:details|summary|br|p|div|span|a|img|b|i|em|strong|sub|sup|kbd|center|font|small|u|"
                    r"hr|table|tr|td|th|ul|ol|li|h[1-6])(?:\s[^<>\n]{0,300})?/?>"), re.IGNORECASE),
    # **bold** not inside a word (x**2 + y**2 is arithmetic); __bold__ only around words with a space between
    # them (__init__, __SDCC_mcs51 are names in code, manuals and PDFs, which are read by as_read too)
    "strong": (r"(?<![\w*])\*\*(?=\S)([^\n]{1,300}?)(?<=\S)\*\*(?![\w*])", 0),
    "strong_": (r"(?<![\w_])__(?=\S)((?:(?!__)[^\n]){0,300}? (?:(?!__)[^\n]){0,300}?)(?<=\S)__(?![\w_])", 0),
    "word": (r"[^\W_]", 0),
    "tag name": (r"</?([a-z0-9]+)", 0),
    # ``headings``: a heading line (its marks, its words) or a fence line; a heading's *emphasis* and `code`
    # marks (underscores are names: __init__)
    "heading or fence": (r"^(#{1,6})[ \t]+(\S[^\n]*)$|" + _FENCE_AT + r"|^" + _SETEXT_RULE, re.MULTILINE),
    "setext": (_SETEXT, 0),
    # what a setext heading's line cannot be: a list item, a quote, a table's row, HTML, a rule of marks
    "no title": (r"[ ]{0,3}(?:[-+*][ \t]|\d{1,9}[.)](?:[ \t]|$)|[>|<#]|```|~~~|[-=*_ \t]+\r?$)", 0),
    "emphasis": (r"[*`]+", 0),
    # ``literal``: a line that would read as a heading ("# a comment", "#"): its indent, its marks
    "hash line": (r"^([ \t]*)(#{1,6}(?:[ \t]|$))", re.MULTILINE),
    # ``hidden_blanked``: where an HTML comment opens, a link reference definition's line (``[label]: url "title"``),
    # or a fence line; what is blanked
    "hidden or fence": (r"<!--|^([ ]{0,3}\[[^\]\n]{1,999}\]:[ \t]*<?[^\s>]+>?(?:[ \t]+(?:\"[^\"\n]*\"|'[^'\n]*'|"
                        r"\([^)\n]*\)))?[ \t]*)$|" + _FENCE_AT, re.MULTILINE),
    "not newline": (r"[^\n]", 0),
}


def signature_name(term: str) -> str | None:
    """The name an API entry's signature defines (``shutil.rmtree(path, *, dir_fd=None)`` -> ``shutil.rmtree``;
    ``class Foo(Base)`` -> ``Foo``), else ``None`` (pure)."""
    m = _pattern("signature").match(term)
    return m.group(1) if m else None


def defined_names(line: str) -> list[str]:
    """What a line written by ``definition`` defines, read back: ``-k, --keep: Don't delete ...`` -> ``["-k",
    "--keep"]``, ``shutil.rmtree(path, ...): Delete ...`` -> ``["shutil.rmtree"]``; ``[]`` for a line that starts
    with no label (pure)."""
    m = _pattern("defined").match(line)
    if not m:
        return []
    name = signature_name(m.group(1))
    return [name] if name else m.group(1).split(", ")


def links_as_text(text: str) -> str:
    """Markdown pictures as their alt text and links as their text (``[libcbor.readthedocs.org](http://...)`` ->
    ``libcbor.readthedocs.org``, ``[`util.inspect()`][]`` -> ```util.inspect()```) (pure)."""
    if "][" in text:
        text = _pattern("reference link").sub(r"\1", text)
    return _pattern("link").sub(r"\1", _pattern("image").sub(r"\1", text)) if "](" in text else text


def as_read(line: str) -> str:
    """A line of prose as it reads, not as it is marked up: pictures and links as their words
    (``links_as_text``), ``**bold**`` without its stars, the layout tags a Markdown file carries (``</details>``)
    gone, a line's escaped ``\\#`` as ``#`` (a PDF's ``# comment`` line, written so as not to read as a heading),
    and a line of nothing but badges (pictures inside links) gone entirely; a Markdown table's row as its cells
    (``| a | b |`` -> ``a | b``), its delimiter row as nothing. Notes and READMEs are indexed as written; an
    answer quoting one read "[![Packaging status](https://...svg)](...)" (pure)."""
    if is_markdown_row(line):  # a Markdown table's row reads as its cells; its rule as nothing
        line = "" if is_table_rule(line) else CELL_BAR.join(cell for cell in table_cells(line) if cell)
    if "\\#" in line and line.lstrip(" \t").startswith("\\#"):  # "\\# a comment": a line that starts with "#" and is no heading
        line = line.replace("\\#", "#", 1)
    if "][" in line:
        line = _pattern("reference link").sub(r"\1", line)
    if "](" in line:
        bare = _pattern("link").sub(r"\1", _pattern("image").sub("", line))
        if not _pattern("word").search(_pattern("layout tag").sub("", bare)):  # tags and badges only
            return ""  # a row of badges ([![Build Status](...)](...) ...): pictures of words, no prose
        line = links_as_text(line)
    if "<" in line:
        line = without_layout_tags(line)
    if "**" in line or "__" in line:
        line = _pattern("strong_").sub(r"\1", _pattern("strong").sub(r"\1", line))
    return line


_VOID_TAGS = ("br", "hr", "img")


def without_layout_tags(line: str) -> str:
    """``line`` without the HTML a Markdown file carries for layout: a closing tag (``</details>``), a tag with
    attributes (``<p align="center">``), a void one (``<br>``), one closed on the same line (``<b>…</b>``), and
    every tag of a line that holds nothing else. A lone ``<font>`` or ``<p>`` among words is a placeholder (a
    manual's ``<font> is in the format "FontFace,FontSize"``) and stays (pure)."""
    tags = list(_pattern("layout tag").finditer(line))
    if not tags:
        return line
    if not _pattern("word").search(_pattern("layout tag").sub("", line)):
        return _pattern("layout tag").sub("", line)
    lowered = line.lower()

    def markup(m: re.Match[str]) -> bool:
        tag = m.group(0)
        name = _pattern("tag name").match(tag.lower())
        named = name.group(1) if name else ""
        return (tag.startswith("</") or " " in tag.strip("<>/") or tag.endswith("/>") or named in _VOID_TAGS
                or f"</{named}>" in lowered[m.end():])

    out, at = [], 0
    for m in tags:
        if markup(m):
            out.append(line[at : m.start()])
            at = m.end()
    return "".join(out) + line[at:]


def hidden_blanked(text: str, comments: bool = True) -> str:
    """Markdown as it shows, with every other character at its offset: each link reference definition
    (``[`util.inspect()`]: #utilinspect``, the hundreds of lines that end Node's docs) and, with ``comments``, each
    HTML comment (``<!-- YAML added: v10.0.0 -->``, ``<!-- markdownlint-disable -->``) as spaces, line breaks kept.
    A comment or a line inside a fenced code block is code (an HTML example) and stays; a comment never closed
    stays, as it is then text. One pass (pure).

    A Markdown file is indexed without its link definitions (a chunk of nothing else answers nothing) but with its
    comments, whose words stay searchable (a note's ``<!-- TODO: ask Ana -->``); the prompt, the extractive answer
    and result cards hide the comments (``as_shown``, ``generate/prompt.paragraphs``)."""
    if ("<!--" not in text or not comments) and "]:" not in text:
        return text
    out: list[str] = []
    at = pos = 0
    code = False
    closes = True  # a "-->" may still follow
    while (m := _pattern("hidden or fence").search(text, pos)) is not None:
        end = m.end()
        if m.group(0).startswith("<!--"):
            close = -1 if code or not closes or not comments else text.find("-->", m.end())
            if close < 0:  # inside code, or never closed (then no comment after it closes either)
                closes = closes and code
                pos = m.end()
                continue
            end = close + 3
        elif m.group(1) is None:  # a fence line
            code = not code
            pos = m.end()
            continue
        elif code:  # a link definition's look-alike in code
            pos = m.end()
            continue
        out.append(text[at : m.start()])
        out.append(_pattern("not newline").sub(" ", text[m.start() : end]))
        at = pos = end
    return "".join(out) + text[at:]


def without_heading_marks(text: str) -> str:
    """``text`` with the ``#`` marks of its heading lines dropped, their words kept (pure)."""
    return _MARKS.sub("", text)


_FENCE_LINE = re.compile("(?m)" + _FENCE_AT)

Trail = tuple[tuple[int, str], ...]  # the headings in force, outermost first: (level, words)
Heading = tuple[int, int, str]  # a heading of a text: (offset of its line, level, words)
MAX_TRAIL_WORDS_CHARS = 120  # a heading's words kept in a trail (a "heading" that is a whole paragraph is cut)


def _setext_title(text: str, at: int, line: str) -> bool:
    """Whether ``line``, starting at ``at`` in ``text`` and underlined by a line of ``=`` or ``-``, is a setext
    heading's words: a paragraph of that one line (the text's first line, or after a blank one), with letters
    or digits, not a list item, a quote, a table's row, HTML or a rule ("- item" over "---" is an item and a
    thematic break) (pure)."""
    if at > 0 and text[text.rfind("\n", 0, at - 1) + 1 : at].strip():  # the line before holds words: a paragraph's last line
        return False
    return _pattern("no title").match(line) is None and _pattern("word").search(line) is not None


def setext_level(text: str, at: int) -> int:
    """The level of the setext heading whose words are the line starting at ``at`` (``Install`` over ``=====``: 1,
    over ``-----``: 2), else 0. ``headings`` reads both kinds; the chunker cuts before a heading of either (pure)."""
    m = _pattern("setext").match(text, at)
    if m is None or not _setext_title(text, at, m.group(1)):
        return 0
    return 1 if m.group(2)[0] == "=" else 2


def _words(raw: str) -> str:
    """A heading's words as a trail keeps them: as read, no ``*``/`` ` `` marks, one line, cut (pure)."""
    return " ".join(_pattern("emphasis").sub("", as_read(raw.strip().rstrip("#"))).split())[:MAX_TRAIL_WORDS_CHARS]


def headings(text: str, setext: bool = False) -> list[Heading]:
    """Every Markdown heading of ``text`` as (offset of its line, level, words as read), in order: ATX
    (``## Install``) ones, and with ``setext`` (a Markdown file a person wrote) setext ones (``Install`` over
    ``-------``, ``setext_level``; the readers write ATX headings only, and a paragraph they write as one line
    over an example's ``---`` is none); lines inside a fence are code (``# a shell comment``), never headings
    (pure)."""
    out: list[Heading] = []
    code = False
    for m in _pattern("heading or fence").finditer(text):
        at = m.start()
        if m.group(1) is not None:
            words, level = _words(m.group(2).rstrip()), len(m.group(1))
        elif m.group(3) is not None:  # a rule: a setext heading's when the line above is its words
            if not setext:
                continue
            at = text.rfind("\n", 0, m.start() - 1) + 1
            ok = m.start() > 0 and not code and _setext_title(text, at, text[at : m.start() - 1])
            words, level = _words(text[at : m.start() - 1]) if ok else "", 1 if m.group(3)[0] == "=" else 2
        else:  # a fence line
            code = not code
            continue
        if words and not code:
            out.append((at, level, words))
    return out


def under(trail: Trail, level: int, words: str) -> Trail:
    """The trail after a heading of ``level``: it ends the headings of its level and deeper (pure)."""
    return tuple(h for h in trail if h[0] < level) + ((level, words),)


def trail_words(trail: Trail, title: str = "") -> str:
    """The headings of a trail as one line, outermost first (``Plotting styles > Image``); the outermost left
    out when it is the document's ``title``, which results show anyway (pure)."""
    if trail and title and trail[0][1].casefold() == title.casefold():
        trail = trail[1:]
    return " > ".join(words for _, words in trail)


def _without_setext_rules(text: str) -> str:
    """``text`` without the rule line under each setext heading's words (``=====`` under ``Install``) (pure)."""
    if "==" not in text and "--" not in text:
        return text
    out, at = [], 0
    for h, _, _ in headings(text, setext=True):
        if text[h] != "#":  # a setext heading (an ATX one starts its line with "#"; a setext title never does)
            title_end = text.find("\n", h)
            rule_end = text.find("\n", title_end + 1)
            out.append(text[at:title_end])
            at = rule_end if rule_end >= 0 else len(text)
    return "".join(out) + text[at:] if out else text


def as_shown(text: str, markdown: bool = True) -> str:
    """A chunk as a result line and the web page show it: without heading marks (``#``, a setext heading's
    rule), HTML comments (``hidden_blanked``) or the fence lines around code (a notebook's cells, a web page's ``<pre>``), its prose lines as
    they read (``as_read``: a link as its words, no badge rows, no ``**``), the code inside fences as
    written (``x**2`` keeps its stars). Not ``markdown`` (a plain text file: a script, a config): as written,
    ``# a comment`` keeps its mark (pure; the server sends it as each hit's ``shown``)."""
    if not markdown:
        return text
    text = without_heading_marks(_without_setext_rules(hidden_blanked(text)))
    if "](" not in text and "][" not in text and "<" not in text and "**" not in text and "__" not in text and "\\#" not in text:
        return _FENCE_LINE.sub("", text)
    out, code = [], False
    for line in text.split("\n"):
        if _FENCE_LINE.fullmatch(line):
            code = not code
            continue
        if code:
            out.append(line)
        else:
            read = as_read(line)
            if read or not line.strip():  # a badge row reads as nothing: it goes
                out.append(read)
    return "\n".join(out)


__all__ = ["CELL_BAR", "HEADING_MARK", "Heading", "Trail", "as_read", "as_shown", "defined_names", "definition", "headings", "headings_apart", "hidden_blanked",
           "is_heading", "is_markdown_row", "is_table_rule", "links_as_text", "literal", "literal_lines", "rows_apart", "setext_level", "signature_name", "table_cells", "term_lead", "trail_words", "under", "underlined_as_headings",
           "without_heading_marks", "without_layout_tags"]

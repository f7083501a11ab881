"""Manual pages and other roff sources (``ls.1``, ``ssh.1.gz``, ``foo.3pm``, ``page.man``) as Markdown (pure).

A manual page is written in roff: request lines (``.SH NAME``, ``.TP``, ``.Op Fl v``) and escapes
(``\\fBbold\\fR``, ``\\-``, ``\\(em``) around its words. Indexed as plain text, every chunk and every
quoted answer carried that markup (``.TP \\fB\\-\\-exclude\\fR``). ``roff_markdown`` writes what a reader
of the page sees: ``#``/``##`` headings for sections (``.SH``/``.Sh``, ``.SS``/``.Ss``), paragraphs filled
into lines, an option's tag on its own line before its description, tables (tbl) as ``a | b`` rows,
no-fill blocks line by line, and the page's title (``XZ(1)``, ``SSH(1)``) from ``.TH``/``.Dt``.

Both macro sets are read: man(7) (GNU, X11, most Linux pages) and mdoc(7) (BSD, OpenSSH: ``.Nm``,
``.Fl``, ``.Op``, ``.Ns``, ``.Xr`` ...). This is a reader of the words, not a typesetter: requests it
does not know are dropped with their line, and nothing in the file is ever run. That is why groff is
not used: roff can read other files (``.so``, ``.cf``) and the environment (``\\V``), so typesetting a
hostile page could put another file's contents into the index. A page that is only ``.so
man1/other.1`` (an alias) has no words of its own.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from mmrag.ingest.roff_escapes import split_args, unescape
from mmrag.ingest.roff_mdoc import MDOC_CALLABLE, Mdoc
from mmrag.markdown import CELL_BAR, definition, literal

# a manual's file name: section 1-9 or n/l/o, an optional suffix (``.1ssl``, ``.3pm``, ``.8x``); or named for roff
_MAN_EXT = re.compile(r"^\.(?:[1-9nlo][a-z0-9_+-]{0,12}|man|mdoc|roff|mandoc)$", re.IGNORECASE)
_REQUEST_NAME = re.compile(r"^[.'][ \t]*(\S+)")  # ``.  .`` ends a block as ``..`` does
_COMMENT = re.compile(r"^(?:[.'][ \t]*)?\\[\"#]")
_CONTROL = re.compile(r"^[.'][ \t]*([A-Za-z0-9_\\$*#\[\]%+-]*)")

# man(7): headings, fonts, paragraphs
_ALTERNATING = {"BR", "RB", "BI", "IB", "RI", "IR"}  # alternating fonts: the arguments run together
_FONT_LINE = {"B", "I", "SM", "SB", "R"}  # one font: the arguments joined by spaces
_BREAKS = {"PP", "LP", "P", "sp", "br", "RS", "RE", "HP", "Pp", "Lp", "Bl", "El", "Bd", "Ed", "ne", "bp", "SY", "YS", "TQ",
           "EX", "EE", "nf", "fi", "D1", "Dl", "Rs", "Re", "in", "ti", "PD", "ns"}
_SKIPPED_BLOCKS = {"de": ".", "de1": ".", "am": ".", "ig": ".", "EQ": "EN", "PS": "PE", "G1": "G2"}  # the line that ends each


def is_roff_name(ext: str) -> bool:
    """Whether a file name's last suffix is a manual page's (``.1``, ``.3pm``, ``.8``) or roff's (``.man``, ``.roff``)."""
    return bool(_MAN_EXT.match(ext))


def looks_like_roff(text: str, ext: str) -> bool:
    """Whether ``text`` is a roff manual page: named as one, two of its first three lines that are not blank or comments
    request lines (a stray line aside), and a title or section request (``.TH``, ``.Dt``, ``.Dd``, ``.SH``, ``.Sh``) or an alias (``.so``) among its
    first 400 lines (pod2man writes a hundred lines of macros before its ``.TH``). A ``.1`` file that is a plain
    note stays a note."""
    if not is_roff_name(ext):
        return False
    lines = _significant(text.lstrip("\ufeff").splitlines()[:400])
    if sum(bool(_CONTROL.match(ln)) for ln in lines[:3]) < min(2, len(lines)):  # a page starts with requests
        return False
    return any((m := _CONTROL.match(ln)) and m.group(1) in ("TH", "Dt", "Dd", "SH", "Sh", "so") for ln in lines)


def _significant(lines: list[str]) -> list[str]:
    """The lines that are not blank, comments, or inside an ``.ig`` block (a licence kept as ignored text)."""
    kept: list[str] = []
    ignoring = False
    for ln in lines:
        found = _REQUEST_NAME.match(ln)
        if ignoring:
            ignoring = not (found and found.group(1) == ".")
        elif found and found.group(1) == "ig":
            ignoring = True
        elif ln.strip() and not _is_comment(ln):
            kept.append(ln)
    return kept


def alias_target(text: str) -> str | None:
    """The page a manual page alias shows (``.so man1/xz.1``: its only line that is not blank or a comment), else
    ``None`` (pure)."""
    lines = _significant(text.lstrip("\ufeff").splitlines()[:50])
    found = _CONTROL.match(lines[0]) if len(lines) == 1 else None
    args = split_args(lines[0][found.end():]) if found and found.group(1) == "so" else []
    return args[0] if args else None


def _is_comment(line: str) -> bool:
    """A comment line (``.\\"``, ``'\\"``, ``\\"``, groff's ``\\#`` and ``.\\#``) or an empty request (``.``)."""
    return bool(_COMMENT.match(line)) or line.strip() in (".", "'")


def condition(rest: str) -> tuple[bool, str]:
    """A conditional request's test, as nroff (a terminal, groff) would decide it, and the rest of the line (pure).

    ``n`` holds, ``t`` does not; ``'a'b'`` compares two strings; anything else (``\\n(.g``, a number register
    expression) is taken to hold, as groff's ``.g`` does. ``!`` negates."""
    neg = rest.startswith("!")
    rest = rest[1:] if neg else rest
    if rest[:1] in ("n", "t", "o", "e", "v") and rest[1:2] in ("", " ", "\t", "\\", "."):
        held, rest = rest[0] in ("n", "o"), rest[1:]
    elif rest[:1] in ("'", '"', "/", "|") and rest.count(rest[0]) >= 3:
        quote = rest[0]
        a, b, tail = rest[1:].split(quote, 2)
        held, rest = a == b, tail
    else:
        token = re.match(r"\S*", rest)
        held, rest = True, rest[token.end() if token else 0 :]
    return held != neg, rest.lstrip()


def _tbl_rows(block: list[str], strings: dict[str, str]) -> Iterator[str]:
    """A tbl table's data rows as ``a | b`` lines: its options line (ending ``;``) and format lines (up to the one
    ending ``.``) are skipped, ``_``/``=`` rules dropped, ``T{ ... T}`` cells joined."""
    tab = "\t"
    i = 0
    if block and block[0].rstrip().endswith(";"):
        found = re.search(r"tab\s*\((.)\)", block[0])
        tab = found.group(1) if found else tab
        i = 1
    while i < len(block) and not block[i].rstrip().endswith("."):
        i += 1
    i += 1
    row: list[str] = []
    cell: list[str] | None = None
    for line in block[i:]:
        if cell is not None:
            if line.startswith("T}"):
                row.append(" ".join(cell))
                cell = None
                rest = line[2:].lstrip(tab)
                if rest:
                    row.extend(unescape(c, strings).strip() for c in rest.split(tab))
                else:
                    yield CELL_BAR.join(c for c in row if c)
                    row = []
                continue
            if not (m := _CONTROL.match(line)) or line.startswith((".\\\"",)):
                cell.append(unescape(line, strings).strip())
            elif m.group(1) in _FONT_LINE or m.group(1) in _ALTERNATING:
                cell.append(unescape(" ".join(split_args(line[m.end():])), strings))
            continue
        if line.strip() in ("_", "=", "") or _CONTROL.match(line) or line.startswith(".T&"):
            continue
        cells = line.split(tab)
        for k, c in enumerate(cells):
            if c.endswith("T{") and k == len(cells) - 1:
                before = c[:-2]
                if before:
                    row.append(unescape(before, strings).strip())
                cell = []
                break
            row.append(unescape(c, strings).strip())
        if cell is None:
            yield CELL_BAR.join(c for c in row if c)
            row = []


def roff_markdown(text: str) -> tuple[str, str | None]:
    """The page as Markdown, and its title (``XZ(1)``; ``None`` when it names none) (pure)."""
    lines = text.lstrip("\ufeff").replace("\r\n", "\n").split("\n")
    out: list[str] = []
    para: list[str] = []
    strings: dict[str, str] = {}
    title: str | None = None
    name = ""
    fill = True
    tag_next = False  # .TP: the next line is the tag, on a line of its own
    heading_next = ""  # .SH with no argument: the next line is the heading
    mdoc = Mdoc(strings, name)
    last_ie = True  # whether the last .ie held (its .el is read when it did not)
    i = 0

    tag = ""  # an option's tag waiting for its description's first line (``-4: Forces ssh to use IPv4 ...``)

    def put(*lines: str) -> None:
        """Lines that are not a tagged paragraph's text: a waiting tag goes on its own line first."""
        nonlocal tag
        if tag:
            out.append(literal(tag))
            tag = ""
        out.extend(lines)

    def flush() -> None:
        nonlocal tag
        if para:
            line = " ".join(p for p in para if p).strip()
            if line and tag:
                line = definition(tag, line)
                tag = ""
            if line:
                if out and out[-1]:
                    out.append("")  # a paragraph (a list item's too) stands apart: a prompt joins the lines of one
                out.append(literal(line))  # "# mount -a" (a root prompt) is no heading
            para.clear()

    def add_tag(words: str) -> None:
        """A list item's tag (``.TP``/``.IP``/``.It``): written before its description's first line, so a
        sentence quoted from it names the option; ``.TQ`` tags of one item are joined (``-v, --verbose``)."""
        nonlocal tag
        words = words.strip()
        if words:
            tag = f"{tag}, {words}" if tag else words

    def emit(words: str) -> None:
        nonlocal tag_next, heading_next
        words = words.strip() if fill else words.rstrip()
        if heading_next:
            flush()
            put("", f"{heading_next} {words.strip()}", "")
            heading_next = ""
            return
        if tag_next:
            flush()
            add_tag(words)
            tag_next = False
            return
        if not fill:
            put(literal(words))  # an example's "# a comment" is no heading
        elif words:
            para.append(words)

    pending: list[str] = []  # what a condition that held left to read next (its request or text)
    chain = 0  # conditions read in a row from one line (".if n .if n ..."): past 50 the line is dropped
    while i < len(lines) or pending:
        if pending:
            raw = pending.pop()
            chain += 1
            if chain > 50:
                continue
        else:
            raw = lines[i]
            i += 1
            chain = 0
        while raw.endswith("\\") and not raw.endswith("\\\\") and i < len(lines):  # an escaped newline joins lines
            raw = raw[:-1] + lines[i]
            i += 1
        if _is_comment(raw):
            continue
        raw = re.sub(r'\\".*$', "", raw)  # a comment to the end of the line
        raw = re.sub(r"\\#.*$", "", raw)
        m = _CONTROL.match(raw)
        if not m:
            if not raw.strip() and fill:  # a blank line is a paragraph break
                flush()
                continue
            text_line = unescape(raw.rstrip("\n"), strings)
            if raw.rstrip().endswith("\\c"):
                para.append(text_line.rstrip())
                continue
            emit(text_line)
            continue
        req = m.group(1)
        if req in ("if", "ie", "el"):  # a condition: its request or text is read when it holds as nroff's would
            held, body = (not last_ie, raw[m.end():].lstrip()) if req == "el" else condition(raw[m.end():].lstrip())
            if req == "ie":
                last_ie = held
            braced = body.startswith("\\{")
            body = body[2:].lstrip() if braced else body
            if held:
                if body and body not in ("\\", "\\}"):
                    pending.append(body)
            elif braced:  # a block not read: skip to its closing \}
                depth = 1 - body.count("\\}") + body.count("\\{")
                while depth > 0 and i < len(lines):
                    depth += lines[i].count("\\{") - lines[i].count("\\}")
                    i += 1
            continue
        args = split_args(raw[m.end():])
        if req in _SKIPPED_BLOCKS:  # macro definitions, ignored text, equations, pictures: not the page's words
            at = 0 if req == "ig" else 1  # .ig [end], .de name [end]: a block may name the line that ends it
            end = args[at] if len(args) > at and req in ("ig", "de", "de1", "am") else _SKIPPED_BLOCKS[req]
            while i < len(lines) and not ((found := _REQUEST_NAME.match(lines[i])) and found.group(1) == end):
                i += 1
            i += 1
            continue
        if req == "TS":  # a table: its rows
            flush()
            block: list[str] = []
            while i < len(lines) and not lines[i].startswith(".TE"):
                block.append(lines[i])
                i += 1
            i += 1
            put(*_tbl_rows(block, strings))
            continue
        if req == "ds" and args:
            strings[args[0]] = unescape(" ".join(args[1:]), strings)
            continue
        if req == "TH":
            if args:
                title = unescape(args[0], strings) + (f"({unescape(args[1], strings)})" if len(args) > 1 else "")
                name = name or unescape(args[0], strings).lower()
            continue
        if req == "Dt":
            if args:
                title = unescape(args[0], strings) + (f"({args[1]})" if len(args) > 1 else "")
            continue
        if req in ("Dd", "Os", "so", "mso", "hy", "nh", "ad", "na", "ft", "ps", "vs", "ll", "lt", "nr", "rr", "ta",
                   "tr", "cc", "c2", "ec", "eo", "}", "als", "rn", "ch", "pl", "po", "ss", "cs",
                   "fam", "UC", "AT", "PU", "IX", "LO", "cf", "trf", "nx", "rd", "pso", "sy", "pi", "open", "opena",
                   "write", "close", "Bk", "Ek", "Xo", "Xc", "Bf", "Ef", "Lb", "Rv", "Ex", "hw", "ce", "ul", "cu", "fl",
                   "lf", "mk", "rt", "sv", "os", "tm", "ab", "ev", "di", "da", "it", "em", "wh", "ne", "ME", "UE"):
            if req == "Ex" and args[:1] == ["-std"]:
                emit(f"The {args[1] if len(args) > 1 else name} utility exits 0 on success, and >0 if an error occurs.")
            if req == "Rv" and args[:1] == ["-std"]:
                emit(f"The {args[1] if len(args) > 1 else name}() function returns the value 0 if successful; "
                     "otherwise the value -1 is returned and the global variable errno is set to indicate the error.")
            continue
        if req in ("SH", "Sh", "SS", "Ss"):
            flush()
            fill, tag_next = True, False
            level = "#" if req in ("SH", "Sh") else "##"
            words = unescape(" ".join(args), strings).strip()
            if words:
                put("", f"{level} {words}", "")
            else:
                heading_next = level
            continue
        if req == "Nm" and not name and args:
            name = unescape(args[0], strings)
            mdoc.name = name
        if req in ("nf", "EX", "Bd") and (req != "Bd" or "-literal" in args or "-unfilled" in args):
            flush()
            fill = False
            continue
        if req in ("fi", "EE", "Ed"):
            flush()
            fill = True
            continue
        if req in ("TP", "TQ"):
            flush()
            tag_next = True
            continue
        if req == "IP":
            flush()
            mark = unescape(args[0], strings).strip() if args else ""
            if mark and len(mark) <= 3 and not re.fullmatch(r"-\w+", mark):  # a bullet or a number: part of the line
                put()
                para.append(mark)
            elif mark:
                add_tag(mark)
            continue
        if req in _BREAKS:
            flush()
            if req == "Bl" or req == "El":
                tag_next = False
            continue
        if req in ("UR", "MT"):
            continue
        if req in _ALTERNATING:
            emit("".join(unescape(a, strings) for a in args))
            continue
        if req in _FONT_LINE:
            if args:
                emit(unescape(" ".join(args), strings))
            continue
        if req == "OP":  # .OP -f file: an option in a synopsis
            emit("[" + " ".join(unescape(a, strings) for a in args) + "]")
            continue
        if req == "It":  # an mdoc list item: its words are the tag
            flush()
            add_tag(mdoc.render("It", args))
            continue
        if req == "Nd":
            emit("— " + unescape(" ".join(args), strings))
            continue
        if req in MDOC_CALLABLE:
            emit(mdoc.render(req, args))
            continue
        # any other request (a page's own macro, a typesetting request): dropped with its line
    flush()
    put()
    body = "\n".join(out)
    body = re.sub(r"\n{3,}", "\n\n", body).strip("\n")
    return body + ("\n" if body else ""), title


__all__ = ["alias_target", "condition", "is_roff_name", "looks_like_roff", "roff_markdown", "split_args", "unescape"]

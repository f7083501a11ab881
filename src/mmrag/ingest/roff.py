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

# a manual's file name: section 1-9 or n/l/o, an optional suffix (``.1ssl``, ``.3pm``, ``.8x``); or named for roff
_MAN_EXT = re.compile(r"^\.(?:[1-9nlo][a-z0-9_+-]{0,12}|man|mdoc|roff|mandoc)$", re.IGNORECASE)
_REQUEST_NAME = re.compile(r"^[.'][ \t]*(\S+)")  # ``.  .`` ends a block as ``..`` does
_COMMENT = re.compile(r"^(?:[.'][ \t]*)?\\[\"#]")
_CONTROL = re.compile(r"^[.'][ \t]*([A-Za-z0-9_\\$*#\[\]%+-]*)")

_SPECIAL = {  # groff_char(7) names seen in manual pages; anything else is dropped
    "em": "—", "en": "–", "hy": "-", "mi": "-", "bu": "•", "aq": "'", "dq": '"', "lq": "“", "rq": "”",
    "oq": "‘", "cq": "’", "co": "©", "rg": "®", "tm": "™", "mu": "×", "di": "÷", "de": "°", "pl": "+",
    "eq": "=", ">=": "≥", "<=": "≤", "!=": "≠", "->": "→", "<-": "←", "<>": "↔", "ti": "~", "ha": "^",
    "rs": "\\", "sl": "/", "ga": "`", "aa": "´", "Fo": "«", "Fc": "»", "fo": "‹", "fc": "›", "ba": "|",
    "br": "|", "or": "|", "lh": "☜", "rh": "☞", "sc": "§", "ps": "¶", "ct": "¢", "Po": "£", "Eu": "€",
    "eu": "€", "Ye": "¥", "at": "@", "sh": "#", "dd": "‡", "dg": "†", "+-": "±", "12": "½", "14": "¼",
    "34": "¾", "ss": "ß", "ae": "æ", "AE": "Æ", "o/": "ø", "O/": "Ø", "'e": "é", "'a": "á", "`e": "è",
    ":u": "ü", ":o": "ö", ":a": "ä", ":U": "Ü", ":O": "Ö", ":A": "Ä", "~n": "ñ", ",c": "ç", "fm": "′",
    "sq": "□", "ci": "○", "**": "∗", "if": "∞", "ca": "∩", "cu": "∪", "mo": "∈", "sr": "√",
}  # fmt: skip
_STRINGS = {"lq": "“", "rq": "”", "R": "®", "Tm": "™", "Aq": "'", "Q": "“", "q": "”", "S": "", "B": "", "I": ""}
_ESCAPE = re.compile(
    r"\\(?:"
    r"(?P<font>f(?:\[[^\]\n]*\]|\([^\n]{2}|[^\n]))"  # \fB \f(CW \f[I]
    r"|(?P<special>\((?P<two>[^\n]{2})|\[(?P<long>[^\]\n]*)\])"  # \(em \[em] \[u00E9]
    r"|(?P<string>\*(?:\[(?P<sl>[^\]\n]*)\]|\((?P<s2>[^\n]{2})|(?P<s1>[^\n])))"  # \*(lq \*[name] \*R
    r"|(?P<arg>[hvwoblLDXZNxRSHABCm]'[^'\n]*')"  # \h'1n' \w'text' \X'...': drawn, not words
    r"|(?P<size>s(?:\[[^\]\n]*\]|\([+-]?[0-9]{2}|[+-]?[0-9]))"  # \s-1 \s+2 \s0
    r"|(?P<reg>[nV*gFMmkY$](?:\[[^\]\n]*\]|\([^\n]{2}|[^\n]))"  # \n(xx \V[HOME] \$1 \mc: registers, environment, colours
    r"|(?P<char>[^\n])"
    r")"
)
_ONE = {"-": "-", "e": "\\", "\\": "\\", ".": ".", " ": " ", "~": " ", "0": " ", "'": "´", "`": "`", "t": "\t", "E": "\\"}
# zero-width marks, hyphenation points, break points, font slants: nothing to read
_NOTHING = set("&|^)/,:%!{}zdurpa") | {"c"}

# man(7): headings, fonts, paragraphs
_ALTERNATING = {"BR", "RB", "BI", "IB", "RI", "IR"}  # alternating fonts: the arguments run together
_FONT_LINE = {"B", "I", "SM", "SB", "R"}  # one font: the arguments joined by spaces
_BREAKS = {"PP", "LP", "P", "sp", "br", "RS", "RE", "HP", "Pp", "Lp", "Bl", "El", "Bd", "Ed", "ne", "bp", "SY", "YS", "TQ",
           "EX", "EE", "nf", "fi", "D1", "Dl", "Rs", "Re", "in", "ti", "PD", "ns"}
_SKIPPED_BLOCKS = {"de": ".", "de1": ".", "am": ".", "ig": ".", "EQ": "EN", "PS": "PE", "G1": "G2"}  # the line that ends each

# mdoc(7): callable macros inside a line, and what each writes
_MDOC_ENCLOSE = {"Op": ("[", "]"), "Dq": ("“", "”"), "Sq": ("‘", "’"), "Qq": ('"', '"'), "Pq": ("(", ")"),
                 "Aq": ("<", ">"), "Bq": ("[", "]"), "Brq": ("{", "}"), "Eo": ("", ""), "Ql": ("‘", "’")}
_MDOC_OPEN = {"Oo": "[", "Do": "“", "So": "‘", "Qo": '"', "Po": "(", "Ao": "<", "Bo": "[", "Bro": "{"}
_MDOC_CLOSE = {"Oc": "]", "Dc": "”", "Sc": "’", "Qc": '"', "Pc": ")", "Ac": ">", "Bc": "]", "Brc": "}", "Ec": ""}
_MDOC_PLAIN = {"Ar", "Cm", "Ic", "Em", "Sy", "Va", "Dv", "Er", "Ev", "Li", "Pa", "Ad", "An", "Fa", "Ft", "Ms", "Tn",
               "Ot", "No", "Cd", "Mt", "Lk", "Vt", "Xo", "Xc", "It", "D1", "Dl", "%A", "%T", "%B",
               "%J", "%N", "%V", "%D", "%O", "%P", "%Q", "%I", "%C", "%U", "%R", "Nd"}
_MDOC_NAMES = {"Ux": "UNIX", "Bx": "BSD", "Fx": "FreeBSD", "Ox": "OpenBSD", "Nx": "NetBSD", "Dx": "DragonFly",
               "Bsx": "BSD/OS", "At": "AT&T UNIX"}
_MDOC_CALLABLE = set(_MDOC_ENCLOSE) | set(_MDOC_OPEN) | set(_MDOC_CLOSE) | _MDOC_PLAIN | set(_MDOC_NAMES) | {
    "Fl", "Ns", "Pf", "Xr", "Nm", "Fn", "Fo", "Fc", "Sx", "Ta", "St", "Lb", "In", "Bk", "Ek"}
_CLOSING = {".", ",", ":", ";", ")", "]", "?", "!", "}", "|"}
_OPENING = {"(", "["}
_STANDARDS = {"-p1003.1": "IEEE Std 1003.1 (POSIX.1)", "-p1003.2": "IEEE Std 1003.2 (POSIX.2)", "-ansiC": "ANSI X3.159-1989 (C89)",
              "-isoC": "ISO/IEC 9899:1990 (C90)", "-isoC-99": "ISO/IEC 9899:1999 (C99)", "-susv2": "Single UNIX Specification Version 2",
              "-susv3": "Single UNIX Specification Version 3", "-xpg4.2": "X/Open Portability Guide Issue 4, Version 2"}


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


def _special(name: str) -> str:
    if name in _SPECIAL:
        return _SPECIAL[name]
    m = re.fullmatch(r"u([0-9A-Fa-f]{4,6})(?:_[0-9A-Fa-f]{4,6})*", name)
    if m:
        code = int(m.group(1), 16)
        return chr(code) if code <= 0x10FFFF and not 0xD800 <= code <= 0xDFFF else ""
    if re.fullmatch(r"char[0-9]{1,3}", name) and 32 <= int(name[4:]) < 127:
        return chr(int(name[4:]))
    return ""


def unescape(text: str, strings: dict[str, str] | None = None) -> str:
    """The characters a line of roff text shows: fonts, sizes, motions and registers dropped, special characters
    (``\\(em``, ``\\[u00E9]``), strings (``\\*(lq``, ``.ds`` ones) and ``\\-`` written out (pure)."""
    defined = strings or {}

    def one(m: re.Match[str]) -> str:
        if m.group("font") or m.group("arg") or m.group("size") or m.group("reg"):
            return ""
        if m.group("special"):
            return _special(m.group("two") if m.group("two") is not None else m.group("long"))
        if m.group("string"):
            name = m.group("sl") or m.group("s2") or m.group("s1") or ""
            return defined.get(name, _STRINGS.get(name, ""))
        c = m.group("char")
        if c in _ONE:
            return _ONE[c]
        return "" if c in _NOTHING else c

    if (len(text) - len(text.rstrip("\\"))) % 2:  # a lone backslash ending the line (it joins lines; nothing to show)
        text = text[:-1]
    return _ESCAPE.sub(one, text)


def split_args(rest: str) -> list[str]:
    """A request's arguments: split at spaces, ``"a b"`` is one, ``""`` inside quotes is a quote (pure)."""
    args: list[str] = []
    i, n = 0, len(rest)
    while i < n:
        while i < n and rest[i] in " \t":
            i += 1
        if i >= n:
            break
        if rest[i] == '"':
            i += 1
            buf = []
            while i < n:
                if rest[i] == '"':
                    if i + 1 < n and rest[i + 1] == '"':
                        buf.append('"')
                        i += 2
                        continue
                    i += 1
                    break
                if rest[i] == "\\" and i + 1 < n:
                    buf.append(rest[i : i + 2])
                    i += 2
                    continue
                buf.append(rest[i])
                i += 1
            args.append("".join(buf))
        else:
            start = i
            while i < n and rest[i] not in " \t":
                i += 2 if rest[i] == "\\" and i + 1 < n else 1
            args.append(rest[start:i])
    return args


def _join_words(words: list[tuple[str, bool]]) -> str:
    """Words with a flag each: whether a space goes before it. Closing punctuation hugs the word before."""
    out = ""
    for word, space in words:
        if not word:
            continue
        if out and space and not out.endswith(tuple(_OPENING) + (" ",)) and word not in _CLOSING:
            out += " "
        out += word
    return out


class _Mdoc:
    """One mdoc line's words: callable macros written out as they read (``Fl v`` → ``-v``, ``Op ...`` → ``[...]``)."""

    def __init__(self, strings: dict[str, str], name: str) -> None:
        self.strings = strings
        self.name = name

    def render(self, macro: str, args: list[str]) -> str:
        return _join_words(self._words([macro, *args], 0, len(args) + 1))

    def _words(self, toks: list[str], i: int, end: int) -> list[tuple[str, bool]]:
        words: list[tuple[str, bool]] = []
        space = True
        while i < end:
            tok = toks[i]
            word = unescape(tok, self.strings)
            if tok in _MDOC_ENCLOSE:
                tail = end
                while tail > i + 1 and toks[tail - 1] in _CLOSING:  # trailing punctuation stays outside
                    tail -= 1
                opener, closer = _MDOC_ENCLOSE[tok]
                inner = _join_words(self._words(toks, i + 1, tail))
                words.append((f"{opener}{inner}{closer}", space))
                space = True
                i = tail
                continue
            i += 1
            if tok == "Ns":
                space = False
                continue
            if tok == "Pf" and i < end:  # a prefix, then no space before what follows
                words.append((unescape(toks[i], self.strings), space))
                i += 1
                space = False
                continue
            if tok == "Fl":  # each following word is a flag; ``Fl`` alone is a dash
                flags = []
                while i < end and toks[i] not in _MDOC_CALLABLE and toks[i] not in _CLOSING:
                    flags.append("-" + unescape(toks[i], self.strings))
                    i += 1
                words.append((" ".join(flags) if flags else "-", space))
                space = True
                continue
            if tok == "Nm":
                if i < end and toks[i] not in _MDOC_CALLABLE and toks[i] not in _CLOSING:
                    words.append((unescape(toks[i], self.strings), space))
                    i += 1
                else:
                    words.append((self.name, space))
                space = True
                continue
            if tok == "Xr" and i < end:  # a cross-reference: ls(1)
                ref = unescape(toks[i], self.strings)
                i += 1
                if i < end and toks[i] not in _MDOC_CALLABLE and toks[i] not in _CLOSING:
                    ref += f"({unescape(toks[i], self.strings)})"
                    i += 1
                words.append((ref, space))
                space = True
                continue
            if tok in ("Fn", "Fo") and i < end:  # a function: name(args)
                fname = unescape(toks[i], self.strings)
                i += 1
                fargs = []
                while tok == "Fn" and i < end and toks[i] not in _MDOC_CALLABLE and toks[i] not in _CLOSING:
                    fargs.append(unescape(toks[i], self.strings))
                    i += 1
                words.append((f"{fname}({', '.join(fargs)})" if tok == "Fn" else f"{fname}(", space))
                space = True
                continue
            if tok == "In" and i < end:
                words.append((f"#include <{unescape(toks[i], self.strings)}>", space))
                i += 1
                continue
            if tok == "St" and i < end:
                words.append((_STANDARDS.get(toks[i], ""), space))
                i += 1
                continue
            if tok in _MDOC_OPEN:
                words.append((_MDOC_OPEN[tok], space))
                space = False
                continue
            if tok in _MDOC_CLOSE or tok == "Fc":
                closing = ")" if tok == "Fc" else _MDOC_CLOSE[tok]
                words.append((closing, False))
                space = True
                continue
            if tok in _MDOC_NAMES:
                words.append((_MDOC_NAMES[tok], space))
                space = True
                continue
            if tok == "Ta":
                words.append(("|", True))
                continue
            if tok in _MDOC_CALLABLE:  # a font or a role (Ar, Cm, Pa ...): its words are the words
                if tok == "Ar" and (i >= end or toks[i] in _MDOC_CALLABLE or toks[i] in _CLOSING):
                    words.append(("file ...", space))
                continue
            if tok in _OPENING:
                words.append((word, space))
                space = False
                continue
            words.append((word, space))
            space = True
        return words


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
                    yield " | ".join(c for c in row if c)
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
            yield " | ".join(c for c in row if c)
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
    mdoc = _Mdoc(strings, name)
    last_ie = True  # whether the last .ie held (its .el is read when it did not)
    i = 0

    def flush() -> None:
        if para:
            line = " ".join(p for p in para if p).strip()
            if line:
                out.append(line)
            para.clear()

    def emit(words: str) -> None:
        nonlocal tag_next, heading_next
        words = words.strip() if fill else words.rstrip()
        if heading_next:
            flush()
            out.append("")
            out.append(f"{heading_next} {words.strip()}")
            out.append("")
            heading_next = ""
            return
        if tag_next:
            flush()
            if words:
                out.append(words)
            tag_next = False
            return
        if not fill:
            out.append(words)
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
            out.extend(_tbl_rows(block, strings))
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
                out.extend(["", f"{level} {words}", ""])
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
            tag = unescape(args[0], strings).strip() if args else ""
            if tag and len(tag) <= 3:
                para.append(tag)
            elif tag:
                out.append(tag)
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
            tag = mdoc.render("It", args)[len(""):].strip()
            if tag:
                out.append(tag)
            continue
        if req == "Nd":
            emit("— " + unescape(" ".join(args), strings))
            continue
        if req in _MDOC_CALLABLE:
            emit(mdoc.render(req, args))
            continue
        # any other request (a page's own macro, a typesetting request): dropped with its line
    flush()
    body = "\n".join(out)
    body = re.sub(r"\n{3,}", "\n\n", body).strip("\n")
    return body + ("\n" if body else ""), title


__all__ = ["alias_target", "condition", "is_roff_name", "looks_like_roff", "roff_markdown", "split_args", "unescape"]

"""roff's escapes and request arguments, read as the characters a page shows (pure; ``ingest/roff.py`` uses them).

``unescape`` writes out special characters (``\\(em``, ``\\[u00E9]``), predefined and ``.ds`` strings, ``\\-`` and
the other one-character escapes, and drops what only typesets (fonts, sizes, motions, registers, the environment:
``\\V`` is never read); ``split_args`` splits a request's arguments as roff does (quotes, doubled quotes).
"""

from __future__ import annotations

import re

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


__all__ = ["split_args", "unescape"]

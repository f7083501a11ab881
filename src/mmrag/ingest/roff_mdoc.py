"""mdoc(7) lines (BSD and OpenSSH manual pages) written out as they read (pure; ``ingest/roff.py`` uses it).

mdoc marks up every word by its role: ``.Op Fl D Oo Ar bind_address : Oc Ns Ar port`` is ``[-D [bind_address:]port]``.
``Mdoc.render`` turns one such line into its words: flags get their dash, enclosures their brackets or quotes,
``Ns`` joins, ``Xr`` is ``name(section)``, closing punctuation hugs the word before it.
"""

from __future__ import annotations

from mmrag.ingest.roff_escapes import unescape

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
MDOC_CALLABLE = set(_MDOC_ENCLOSE) | set(_MDOC_OPEN) | set(_MDOC_CLOSE) | _MDOC_PLAIN | set(_MDOC_NAMES) | {
    "Fl", "Ns", "Pf", "Xr", "Nm", "Fn", "Fo", "Fc", "Sx", "Ta", "St", "Lb", "In", "Bk", "Ek"}
_CLOSING = {".", ",", ":", ";", ")", "]", "?", "!", "}", "|"}
_OPENING = {"(", "["}
_STANDARDS = {"-p1003.1": "IEEE Std 1003.1 (POSIX.1)", "-p1003.2": "IEEE Std 1003.2 (POSIX.2)", "-ansiC": "ANSI X3.159-1989 (C89)",
              "-isoC": "ISO/IEC 9899:1990 (C90)", "-isoC-99": "ISO/IEC 9899:1999 (C99)", "-susv2": "Single UNIX Specification Version 2",
              "-susv3": "Single UNIX Specification Version 3", "-xpg4.2": "X/Open Portability Guide Issue 4, Version 2"}


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


class Mdoc:
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
                while i < end and toks[i] not in MDOC_CALLABLE and toks[i] not in _CLOSING:
                    flags.append("-" + unescape(toks[i], self.strings))
                    i += 1
                words.append((" ".join(flags) if flags else "-", space))
                space = True
                continue
            if tok == "Nm":
                if i < end and toks[i] not in MDOC_CALLABLE and toks[i] not in _CLOSING:
                    words.append((unescape(toks[i], self.strings), space))
                    i += 1
                else:
                    words.append((self.name, space))
                space = True
                continue
            if tok == "Xr" and i < end:  # a cross-reference: ls(1)
                ref = unescape(toks[i], self.strings)
                i += 1
                if i < end and toks[i] not in MDOC_CALLABLE and toks[i] not in _CLOSING:
                    ref += f"({unescape(toks[i], self.strings)})"
                    i += 1
                words.append((ref, space))
                space = True
                continue
            if tok in ("Fn", "Fo") and i < end:  # a function: name(args)
                fname = unescape(toks[i], self.strings)
                i += 1
                fargs = []
                while tok == "Fn" and i < end and toks[i] not in MDOC_CALLABLE and toks[i] not in _CLOSING:
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
            if tok in MDOC_CALLABLE:  # a font or a role (Ar, Cm, Pa ...): its words are the words
                if tok == "Ar" and (i >= end or toks[i] in MDOC_CALLABLE or toks[i] in _CLOSING):
                    words.append(("file ...", space))
                continue
            if tok in _OPENING:
                words.append((word, space))
                space = False
                continue
            words.append((word, space))
            space = True
        return words


__all__ = ["MDOC_CALLABLE", "Mdoc"]

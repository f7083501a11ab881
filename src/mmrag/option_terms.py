"""Command-line options as the full-text index can find them: ``-C`` is not ``-c``, ``--format`` is not "format".

A full-text index reads words: ``-C`` becomes ``c`` (lowercased, its dash dropped), the same as ``-c``, every
"C" in the text and often nothing at all (a one-letter word); ``--format`` becomes "format", a word a manual says
everywhere. So "What does the -C option of ls do?" found ls's options, but rarely the chunk that has ``-C`` (4
of 45 short options in the answer benches' manual pages). This module writes each option a text names as one
token that only that option gives (case, dashes and inner hyphens kept: ``-C`` → ``mmo10c7``, ``-c`` →
``mmo1c7``, ``--dry-run`` → ``mmo2dry01run7``), spelled with letters and digits only, so every tokenizer (LanceDB's, Milvus', ``stores.common.tokenize``) keeps it whole
and no stemmer touches its end. A row's option tokens go into its second full-text column (``Row.heard``, beside
a recording's other hearings), and a query's into its text list's query, so a row that names the asked option
scores for it there. Pure functions.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from collections.abc import Set as AbstractSet

from mmrag import markdown

# An option as a text names it: one or two ASCII dashes at the start of a word (not inside one: "e-mail",
# "x-1"), then a letter or digit, then letters, digits, '_' or inner '-' (``--dry-run``); ``--indicator-style=WORD``
# names ``--indicator-style``. A list's "- item", a rule's "---" and an arrow's "-->" are none.
_OPTION = re.compile(r"(?<![\w\-])--?[A-Za-z0-9][A-Za-z0-9_]*(?:-[A-Za-z0-9_]+)*")
# A typeset manual writes an option's dashes as other characters: groff and TeX a minus sign (``−C``,
# ``−−directory``, the form ``man -t`` and most PDF manuals have), a word processor's autocorrect a double dash as
# an en or em dash (``–help``). Read as the ASCII dashes a person types.
_DASHES = {"\u2212": "-", "\u2010": "-", "\u2011": "-", "\ufe63": "-", "\uff0d": "-", "\u2013": "--", "\u2014": "--"}
_AS_TYPED = str.maketrans(_DASHES)
_DASH_CHARS = "-" + "".join(_DASHES)  # what an option may start with
_ESCAPE = {"0": "00", "-": "01", "_": "02"}
_MAX_TOKEN = 36  # LanceDB's tokenizer drops a token over 40 characters
MAX_TERMS = 256  # a row's option tokens, at most (a text that lists more is no one option's place)


def ascii_dashes(text: str) -> str:
    """``text`` with the typographic dashes an option may be written with as ASCII ones (``−−all`` -> ``--all``,
    ``–help`` -> ``--help``) (pure)."""
    return text.translate(_AS_TYPED) if any(c in text for c in _DASHES) else text


def _has_dash(text: str) -> bool:
    return any(c in text for c in _DASH_CHARS)


def options(text: str) -> list[str]:
    """The options ``text`` names, in order, repeats kept, with ASCII dashes (``ascii_dashes``) (pure)."""
    return _OPTION.findall(ascii_dashes(text)) if _has_dash(text) else []


def leads_with_option(text: str) -> bool:
    """Whether ``text`` starts with an option (``-C``, ``−−all``, ``--block-size=SIZE``) (pure)."""
    return text[:1] in _DASH_CHARS and _OPTION.match(ascii_dashes(text[:3])) is not None


def option_key(option: str) -> str:
    """What tells options apart: a short one's case (``-C`` is not ``-c``), a long one's letters in any case
    (``--Verbose`` is ``--verbose``, as people misspell it) (pure)."""
    return option.lower() if option.startswith("--") else option


def option_token(option: str) -> str:
    """One option (``option_key``) as a single lowercase token (pure): ``mmo`` + the number of dashes + its
    name, each capital written ``0`` + the letter, ``0`` ``00``, ``-`` ``01``, ``_`` ``02`` (a prefix code: no
    two names give one token), + ``7`` (a digit at the end: stemmers leave it alone); a name longer than the
    tokenizer keeps is cut and ends with a hash of the whole."""
    key = option_key(option)
    name = key.lstrip("-")
    body = "".join(_ESCAPE.get(c) or ("0" + c.lower() if c.isupper() else c) for c in name)
    token = f"mmo{len(key) - len(name)}{body}7"
    if len(token) > _MAX_TOKEN:
        token = token[: _MAX_TOKEN - 9] + hashlib.blake2s(token.encode(), digest_size=4).hexdigest() + "7"
    return token


def first_distinct(tokens: Iterable[str], limit: int) -> list[str]:
    """The distinct ``tokens`` in first-seen order, at most ``limit`` of them; reads no further (pure)."""
    seen: dict[str, None] = {}
    for token in tokens:
        seen.setdefault(token, None)
        if len(seen) >= limit:
            break
    return list(seen)


def option_terms(text: str) -> list[str]:
    """The tokens of the distinct options ``text`` names, in first-named order (at most ``MAX_TERMS``) (pure)."""
    return first_distinct(map(option_token, options(text)), MAX_TERMS)


def defines(text: str, keys: AbstractSet[str]) -> bool:
    """Whether ``text`` holds the entry of one of the options ``keys`` (``option_key``): a line that starts with
    its tag, as the readers write an option list (``-C, --directory=DIR: change to DIR``) or a Markdown
    definition list has it (``-C DIR`` over ``: change to DIR``), not one that only mentions it ("see -C") (pure)."""
    if not keys or not _has_dash(text):
        return False
    lines = ascii_dashes(text).splitlines()
    for i, line in enumerate(lines):
        if ":" not in line:
            continue
        if line.startswith(": ") and i and lines[i - 1].strip():  # a definition list's term is the line above
            line = f"{lines[i - 1].strip()}{line}"
        for name in markdown.defined_names(line.lstrip(" \t*`")):
            found = options(name)
            if found and name.lstrip("*`").startswith(found[0]) and any(option_key(o) in keys for o in found):
                return True
    return False


def with_option_terms(query: str) -> str:
    """``query`` for a full-text index: the tokens of the options it names after it, and a short option's letters
    (``-C``, ``-la``: "c", "la" to a tokenizer, matching any such letter anywhere) left out for its token; a long
    option's words stay (``--dry-run``: a text may say "dry run"). Unchanged when it names none (pure)."""
    terms = option_terms(query)
    if not terms:
        return query
    kept = _OPTION.sub(lambda m: " " if is_short(m.group(0)) else m.group(0), ascii_dashes(query))
    return f"{' '.join(kept.split())} {' '.join(terms)}"


def is_short(option: str) -> bool:
    """``-C``, ``-la``: one dash and one or two letters or digits, which say nothing as words (and exclude
    nothing as a query's negative term: ``query.split_negatives``) (pure)."""
    return not option.startswith("--") and len(option) <= 3


__all__ = ["MAX_TERMS", "ascii_dashes", "defines", "first_distinct", "is_short", "leads_with_option", "option_key", "option_terms",
           "option_token", "options", "with_option_terms"]

"""Operators as words: ``%``, ``!=``, ``>=``, ``<<``, ``?`` standing alone in a text or a question.

Neither the extractive answer's terms nor a full-text index have a word for an operator: a tokenizer drops
``%`` and ``!=`` as punctuation, so "What does the % operator do?" matched nothing of the row
``% | expr % expr | Arithmetic remainder`` by its words, and search could not find the row of ``?`` at all.
``symbols`` reads the operators a text holds standing alone (not ``50%``, not ``x==y``; a lone ``-``, ``|``, ``*``
or ``/`` is punctuation far more often: a dash, a table's bar, a bullet, "and/or"); ``operator_token`` writes one
as a single token of letters and digits that no word can equal (``%`` → ``mmpb7``), which every tokenizer keeps
whole, as ``option_terms`` does for ``-C``: a row's operator tokens go into its second full-text column
(``Row.heard``), a query's after its text. Pure functions.
"""

from __future__ import annotations

import re

from mmrag.option_terms import first_distinct

_SYMBOL = re.compile(r"[!%&*+\-/<=>^|~]{1,3}")
_QUOTED = re.compile(r"[`'\"“”‘’(\[{]*(.*?)[`'\"“”‘’)\]}?.,;:]*")
_NO_SYMBOLS = frozenset({"-", "--", "|", "*", "/"})  # a dash, a table's bar, a bullet, "and/or": punctuation
_LONE = ("?", "??")  # Rust's error propagation, C#'s and JavaScript's null coalescing (a question's own "?" is
# never alone: "do?")
_CODE = {c: chr(ord("a") + i) for i, c in enumerate("!%&*+-/<=>^|~?")}  # one letter a character: a prefix code
MAX_OPERATOR_TERMS = 64  # a row's operator tokens, at most (distinct ones: 14 characters, three at most each)


def symbols(text: str) -> list[str]:
    """The operators standing alone in ``text`` as written, in order, repeats kept (``%``, ``!=``, ``>=``, ``<<``,
    ``?``; quotes, brackets and a question's or sentence's stop around one dropped: ``>=?``, ```!=```, ``(<<)``)
    (pure)."""
    found = []
    for token in text.split():
        lone = _unwrapped(token.rstrip(".,;:"))  # "?" in "Operator: ?; Example: expr?", "`?`"; not "' '?"
        if lone in _LONE:
            found.append(lone)
            continue
        m = _QUOTED.fullmatch(token)
        bare = m.group(1) if m else token
        if _SYMBOL.fullmatch(bare) and bare not in _NO_SYMBOLS:
            found.append(bare)
    return found


_PAIRS = {"`": "`", "'": "'", '"': '"', "“": "”", "‘": "’", "(": ")", "[": "]", "{": "}"}


def _unwrapped(token: str) -> str:
    """``token`` without the quotes or brackets around it, a pair at a time (```?``` -> ``?``); a token opened and
    not closed (the end of "the meaning of ' '?") is kept as it is (pure)."""
    while len(token) > 2 and _PAIRS.get(token[0]) == token[-1]:
        token = token[1:-1]
    return token


def operator_token(operator: str) -> str:
    """One operator as a single lowercase token: ``mmp`` + a letter per character + ``7`` (``%`` → ``mmpb7``,
    ``!=`` → ``mmpai7``, ``?`` → ``mmpn7``) (pure)."""
    return "mmp" + "".join(_CODE[c] for c in operator) + "7"


def operator_terms(text: str) -> list[str]:
    """The tokens of the distinct operators ``text`` holds standing alone, in first-seen order (at most
    ``MAX_OPERATOR_TERMS``) (pure)."""
    return first_distinct(map(operator_token, symbols(text)), MAX_OPERATOR_TERMS)


def with_operator_terms(query: str) -> str:
    """``query`` for a full-text index: the tokens of the operators it asks about after it; unchanged when it
    has none (pure)."""
    terms = operator_terms(query)
    return f"{query} {' '.join(terms)}" if terms else query


__all__ = ["MAX_OPERATOR_TERMS", "operator_terms", "operator_token", "symbols", "with_operator_terms"]

"""What a speech row's full-text index holds besides its transcript: ``Row.heard``.

Where the recogniser was unsure it keeps its beam's other hypotheses
(``meta["heard_also"]``, `` / ``-separated: "10 of clubs / ten of close" for a
transcript "10 of close."). The row's ``heard`` column gets the words of those
hypotheses that the transcript lacks ("clubs ten"), each once. The two word sets
are disjoint, so a store can add a row's BM25 over ``text`` and over ``heard``
and get about the BM25 of one document holding both (the transcript plus every
word it may also have said), instead of counting a word heard four times over
as four occurrences. Any row's ``heard`` also holds the tokens of the command-line options its text names
(``option_terms``: ``-C`` apart from ``-c``) and of its operators (``operators``: ``%``, ``!=``), which no text
word can equal. Pure functions.
"""

from __future__ import annotations

from mmrag.operators import operator_terms
from mmrag.option_terms import option_terms
from mmrag.stores.common import tokenize
from mmrag.types import HEARD_SEPARATOR as SEPARATOR
from mmrag.types import heard_alternatives


def heard_words(text: str, heard_also: str) -> str:
    """The distinct words of ``heard_also``'s hypotheses missing from ``text``, in first-heard order."""
    if not heard_also:
        return ""
    said = set(tokenize(text))
    extra = dict.fromkeys(w for alt in heard_alternatives(heard_also) for w in tokenize(alt) if w not in said)
    return " ".join(extra)


def search_words(text: str, heard_also: str) -> str:
    """What a row's second full-text column holds (``Row.heard``): ``heard_words``, the tokens of the options
    ``text`` names (``option_terms``) and of the operators it holds standing alone (``operator_terms``)."""
    return " ".join(w for w in (heard_words(text, heard_also), " ".join(option_terms(text)),
                                " ".join(operator_terms(text))) if w)


__all__ = ["SEPARATOR", "heard_words", "search_words"]

"""Markdown headings (``## Revenue``): one definition for the prompt, the extractive answer and the
result lines.

Documents, slides, mail, books and notebooks are written with Markdown headings by their loaders
(``ingest/``), so every reader of a chunk's text needs to tell a heading line from prose: the prompt
gives it a paragraph of its own, the extractive answer never quotes it, a result line shows it
without its ``#`` marks. (The page does the last in ``server/static/app.js``; ``ingest/text.py``'s
``find_title`` reads a heading's words with CommonMark's full rule.)
"""

from __future__ import annotations

import re

HEADING_MARK = r"#{1,6}[ \t]+"  # one to six "#" and a space or tab, at a line's start
_HEADING = re.compile(HEADING_MARK + r"\S")
_HEADING_LINE = re.compile(r"(?m)^(" + HEADING_MARK + r"\S.*)$")
_MARKS = re.compile(r"(?m)^[ \t]*" + HEADING_MARK)


def is_heading(line: str) -> bool:
    """Whether ``line`` (a sentence or a line) is a Markdown heading (pure)."""
    return _HEADING.match(line) is not None


def headings_apart(text: str) -> str:
    """``text`` with a blank line before and after each heading line, so a paragraph split keeps each
    heading a paragraph of its own (pure)."""
    return _HEADING_LINE.sub(r"\n\1\n", text)


def without_heading_marks(text: str) -> str:
    """``text`` with the ``#`` marks of its heading lines dropped, their words kept (pure)."""
    return _MARKS.sub("", text)


__all__ = ["HEADING_MARK", "headings_apart", "is_heading", "without_heading_marks"]

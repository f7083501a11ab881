"""What the CLI prints, made safe for a shell: escaped names, plain progress lines, exit codes.

``safe(name)`` shows every control character of a file name visibly
(``\\n``, ``\\t``, ``\\x1b``, ``\\x7f``, ``\\u202e`` ...), so a name can
neither split a result line nor send escape sequences to the terminal;
printable text, backslashes included, is left as it is.

Exit codes, one table for every command (README "Exit codes")::

    0    everything asked for was done
    1    partly done: some files failed (add), were not indexed (remove), no thumbnail
    2    nothing done: usage error (bad option, missing path) or index error
    130  interrupted (what finished is kept): Ctrl-C, or SIGTERM during ``add``
"""

from __future__ import annotations

import bisect
import contextlib
import re
import signal
import sys
import time
import unicodedata
from collections.abc import Callable, Iterator
from typing import Any

from mmrag.markdown import as_shown
from mmrag.types import AddReport, heard_alternatives

OK, PARTIAL, USAGE_OR_INDEX, INTERRUPTED = 0, 1, 2, 130

_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t", "\x1b": "\\x1b"}


def _visible(ch: str) -> str:
    if ch in _NAMED:
        return _NAMED[ch]
    code = ord(ch)
    if code < 0x20 or 0x7F <= code <= 0x9F:
        return f"\\x{code:02x}"
    # format characters (bidi overrides, zero-width joiners...) and unpaired surrogates
    if unicodedata.category(ch) in ("Cf", "Cs", "Co", "Cn") or code in (0x2028, 0x2029):
        return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"
    return ch


def safe(name: object) -> str:
    """``name`` with every control/format character shown as an escape (see the module docstring)."""
    text = str(name)
    if text.isprintable():
        return text
    return "".join(_visible(ch) for ch in text)


def progress_printer(
    console: Any, what: str, every_s: float = 2.0, unit: str = "rows"
) -> Callable[[int, int], None]:
    """A ``(done, total)`` callback printing plain lines ("migrating: 4000/20000 rows (20%)").

    The first call, the last (``done == total``) and at most one every
    ``every_s`` seconds in between print; nothing is redrawn in place, so a
    log file or a pipe reads line by line.
    """
    last = [0.0]

    def step(done: int, total: int) -> None:
        now = time.monotonic()
        if last[0] and done < total and now - last[0] < every_s:
            return
        last[0] = now
        pct = f" ({100 * done // total}%)" if total else ""
        console.print(f"{what}: {done}/{total} {unit}{pct}", markup=False, highlight=False, soft_wrap=True)

    return step


@contextlib.contextmanager
def term_as_interrupt() -> Iterator[None]:
    """Within the block, SIGTERM (``kill PID``, a service manager, ``timeout``) stops the work like
    Ctrl-C: the files (and catalogue batches) finished so far are kept, the exit code is 130 and
    the same command resumes.
    Without it SIGTERM ends the process at once. Outside the main thread it does nothing."""

    def interrupt(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    try:
        previous = signal.signal(signal.SIGTERM, interrupt)
    except ValueError:  # not the main thread
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


_STOP = frozenset(["the", "and", "for", "with", "what", "who", "how", "does", "did", "was", "are", "about", "from", "that", "this"])


def heard_also_line(query: str | None, text: str | None, heard_also: str) -> str:
    """The recogniser's alternative (``meta["heard_also"]``, `` / ``-separated) that holds a query word the
    transcript ``text`` lacks ("10 of clubs" for "ten of clubs" heard as "10 of close"), or ``""``: why a
    transcript that does not say the query's words was found. Words start-match, as the page marks them."""
    if not query or not heard_also:
        return ""
    said = re.findall(r"\w+", (text or "").lower())
    missing = [w for w in re.findall(r"\w+", query.lower())
               if len(w) > 2 and w not in _STOP and not any(s.startswith(w) for s in said)]
    for alt in heard_alternatives(heard_also):
        words = re.findall(r"\w+", alt.lower())
        if any(a.startswith(w) for w in missing for a in words):
            return alt
    return ""


def query_words(query: str | None) -> list[str]:
    """The query's words a snippet is cut around and marks: longer than two letters, not a stop word."""
    return [w for w in re.findall(r"\w+", (query or "").lower()) if len(w) > 2 and w not in _STOP]


def shown_text(text: str, markdown: bool = True) -> str:
    """A hit's text as a result line shows it: one line, without the marks of Markdown headings
    (documents, slides, mail, books and web pages are written with them) or code fences
    (``markdown.as_shown``); a plain text file's (not ``markdown``, ``Hit.is_markdown``) as written. The
    server sends the same text to the page as each hit's ``shown``."""
    return " ".join(as_shown(text, markdown).split())


def excerpt(text: str, words: list[str], width: int) -> str:
    """The ``width`` characters of ``text`` that hold the most of ``words`` (word starts, any case), begun at
    a sentence or word boundary, with "…" where it is cut; the start when nothing matches. The page's
    ``excerpt`` in ``app.js`` does the same for its cards."""
    if len(text) <= width:
        return text
    at = [m.start() for m in re.finditer(r"(?<!\w)(?:" + "|".join(map(re.escape, words)) + ")", text, re.IGNORECASE)] if words else []
    if not at:
        return text[: width - 1] + "…"
    best, best_count = 0, -1
    for i, p in enumerate(at):  # windows that start a little before a match (``at`` is sorted)
        start = max(0, p - 20)
        count = bisect.bisect_left(at, start + width - 10, lo=i) - bisect.bisect_left(at, start, hi=i + 1)
        if count > best_count:
            best, best_count = start, count
    if best > 0:  # back to the sentence's start when it is near, else to a word's start
        stop = text.rfind(". ", 0, best + 20)
        best = stop + 2 if stop >= 0 and stop >= best - 40 else text.rfind(" ", 0, best) + 1
    head = "…" if best > 0 else ""
    body = text[best : best + width - len(head)]
    return head + (body[:-1] + "…" if best + len(body) < len(text) else body)


def marked(markup: str, words: list[str]) -> str:
    """Bold the words of escaped console (rich) markup that start with a query word (as the page marks them)."""
    if not words:
        return markup
    return re.sub(r"(?<!\w)((?:" + "|".join(map(re.escape, words)) + r")\w*)", r"[bold]\1[/bold]", markup, flags=re.IGNORECASE)


def is_terminal(stream: Any = None) -> bool:
    try:
        return bool((stream or sys.stderr).isatty())
    except (AttributeError, ValueError):
        return False


def drawings_tip(report: AddReport, new_index: bool, image_model: str | None) -> str:
    """The hint after an ``add`` that made a new index with the default image tower out of mostly drawings,
    icons or emoji, which the ``lite0e`` tower finds better; ``""`` otherwise (pure but for a lazy import)."""
    from mmrag.space.adapters import DEFAULT_BACKBONE_TOWER
    from mmrag.space.backbone_tower import mostly_drawings

    if not new_index or image_model != DEFAULT_BACKBONE_TOWER or not mostly_drawings(report.pictures, report.flat_pictures):
        return ""
    return (f"tip: {report.flat_pictures} of the {report.pictures} pictures are drawings, icons or emoji; an index "
            "built with --image-model lite0e finds such pictures better (it keeps the tower it was built with: "
            "remove this index folder and add again with the option)")


__all__ = [
    "INTERRUPTED", "OK", "PARTIAL", "USAGE_OR_INDEX", "drawings_tip", "is_terminal", "progress_printer", "safe",
    "term_as_interrupt",
]

"""Hostile input for the markup readers: does any pattern make a reader slow (a regex rescanning a long line from
each position, recursion, a chain of conditions)?

For each reader (Org, AsciiDoc, reST, Info, roff, HTML) and each of ~40 tokens its patterns look for (``[[``, ``*a ``,
``link:``, ``:ref:``` ``, ``.if n ``, ``*note `` ...), three texts of ~40,000 repeats (one line; after a word; a
token a line) are read, and the time set against a benign text of the same length (``word `` repeated) read
by the same reader in the same process. A reader is linear when the ratios stay small; one quadratic pattern
shows as a ratio in the hundreds (before the fixes of the eighteenth session: ``[[`` in Org 25 s, ``*a`` in
AsciiDoc 31 s, ``link:`` in reST over 20 s, ``*note`` in Info over a minute, nested reST directives until
RecursionError).

    python bench/bench_markup_hostile.py            # --repeats 40000
"""

from __future__ import annotations

import argparse
import signal
import time
from collections.abc import Callable

from mmrag.ingest.asciidoc import asciidoc_markdown
from mmrag.ingest.info import info_markdown
from mmrag.ingest.org import org_markdown
from mmrag.ingest.roff import roff_markdown
from mmrag.ingest.rst import rst_markdown
from mmrag.ingest.tables import html_tables
from mmrag.ingest.text import html_to_text

TOKENS = ["[[", "*a ", "=a ", "~a ", "SCHEDULED: <", "[[id:", "#+", ":PROPERTIES:\n", "* ", "link:", "xref:", "a[",
          "<<", "+", "{a}", "image:", "`", "``", ":ref:`", "`a <", ".. ", "::", "|a", "*", "**", "\\f", "\\(", "\\*(",
          ".if n ", ".ie t ", ".de x\n", "\\{", "*note ", "*Note x: ", "\x1f\nFile: a, Node: b\n", "=\n", "-", "_", "#",
          # what the definition-list readers look for (nineteenth session)
          "a:: ", " :: ", "- a :: ", "-k  b", ":f: b", "‘-k’\n     b\n", ".TP\n", ".TQ\n", "<dt>a</dt>", "<dd>", "a\n    b\n",
          "<", "a<b ", "<!--", "</", "<!", "<a x='", "&", "&#"]  # and what HTML's parser looks for
READERS: dict[str, Callable[[str], object]] = {
    "org": org_markdown,
    "asciidoc": asciidoc_markdown,
    "rst": rst_markdown,
    "info": lambda t: info_markdown("\x1f\nFile: m.info,  Node: Top,  Up: (dir)\n\n" + t),
    "roff": lambda t: roff_markdown(".TH X 1\n" + t),
    "html": lambda t: (html_to_text(t, markdown=True), html_tables(t)),  # what the HTML loader reads
}


class TooSlow(Exception):
    pass


def timed(read: Callable[[str], object], text: str, limit: int) -> float:
    def stop(*_: object) -> None:
        raise TooSlow

    signal.signal(signal.SIGALRM, stop)
    signal.alarm(limit)
    start = time.perf_counter()
    try:
        read(text)
    except (TooSlow, RecursionError):
        return float("inf")
    finally:
        signal.alarm(0)
    return time.perf_counter() - start


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeats", type=int, default=40_000)
    ap.add_argument("--limit", type=int, default=20, help="seconds before a text counts as a hang")
    args = ap.parse_args()
    print("| reader | benign text (s) | worst hostile text (s) | ratio | its token |")
    print("|---|---|---|---|---|")
    for name, read in READERS.items():
        worst, worst_token = 0.0, ""
        benign = 0.0
        for token in TOKENS:
            texts = (token * args.repeats, "x " + token * args.repeats, (token + "\n") * (args.repeats // 4))
            for text in texts:
                base = timed(read, "word " * (len(text) // 5 + 1), args.limit)
                benign = max(benign, base)
                took = timed(read, text, args.limit)
                if took > worst:
                    worst, worst_token = took, token
        ratio = worst / benign if benign else float("inf")
        print(f"| {name} | {benign:.3f} | {worst:.3f} | {ratio:.0f} | {worst_token!r} |")


if __name__ == "__main__":
    main()

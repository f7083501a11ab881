"""What an extractive answer quotes, for the answer benches (``bench_ask_faq``, ``bench_ask_terms``,
``bench_ask_pdf``): its quoted sentences and a normal form to compare them with a gold answer."""

from __future__ import annotations

import re

CITE = re.compile(r"\s*\[(\d+)\]")


def norm(text: str) -> str:
    """Lower-case letters and digits only: how a quote is compared with the gold text."""
    return re.sub(r"[^a-z0-9]+", "", text.lower())


def quotes(answer: str) -> list[str]:
    """The quoted sentences of an extractive answer (the text before each ``[n]``)."""
    parts = CITE.split(answer.split("\n\nNo source states", 1)[0])
    return [p.strip(" .\n-") for p in parts[0::2] if len(norm(p)) >= 8]

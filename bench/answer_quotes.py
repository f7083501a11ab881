"""What an extractive answer quotes, for the answer benches (``bench_ask_faq``, ``bench_ask_terms``,
``bench_ask_pdf``, ``bench_ask_markdown``): its quoted sentences, a normal form to compare them with a gold
answer, and the index and questions the PDF and Markdown benches share."""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CITE = re.compile(r"\s*\[(\d+)\]")


def norm(text: str) -> str:
    """Lower-case letters and digits only: how a quote is compared with the gold text."""
    return re.sub(r"[^a-z0-9]+", "", text.lower())


def quotes(answer: str) -> list[str]:
    """The quoted sentences of an extractive answer (the text before each ``[n]``)."""
    parts = CITE.split(answer.split("\n\nNo source states", 1)[0])
    return [p.strip(" .\n-") for p in parts[0::2] if len(norm(p)) >= 8]


def right(quote: str, gold: str) -> bool:
    """The quote is the gold sentence (a title run into it, or a cut at either end, aside)."""
    q, g = norm(quote), norm(gold)
    return bool(q) and (q in g or g[:40] in q or (len(q) > 12 and q[-40:] in g))


def extractive_index(mmrag: Any, tmp: Path, docs: Path) -> tuple[Any, float]:
    """A real LanceDB index in ``tmp`` of the folder ``docs`` with the offline MiniLM space (no image or sound tower)
    and the extractive generator, and the seconds its ``add`` took."""
    engine = mmrag.open(str(tmp / "index"), space__name="minilm", space__image_model="off", space__audio_model="off",
                        generate__backend="extractive")
    start = time.perf_counter()
    engine.add([str(docs)])
    return engine, time.perf_counter() - start


@dataclass(frozen=True)
class Asked:
    """One question's answer (no relevance threshold), the seconds it took, and what it quotes."""

    answer: Any
    seconds: float
    said: list[str]

    @property
    def first(self) -> str:
        return self.said[0] if self.said else ""

    def quoted(self, gold: str) -> dict[str, bool]:
        """``first``: the first quote is the gold sentence; ``any``: some quote is."""
        return {"first": bool(self.first) and right(self.first, gold), "any": any(right(s, gold) for s in self.said)}


def ask_each(engine: Any, questions: Iterable[str]) -> Iterator[Asked]:
    """Each question asked of ``engine`` in turn."""
    for question in questions:
        start = time.perf_counter()
        answer = engine.ask(question, min_relevance=0.0)
        yield Asked(answer, time.perf_counter() - start, quotes(answer.text))

"""``extractive`` generator: no model at all, always available, the offline default.

It answers with the context's own words: the prompt's sources are split into
sentences (text chunks, OCR, transcript lines, captions), each sentence is
scored against the question with BM25 (sentences as documents, light English
stemming, stop words removed), and the best few are quoted, each followed by
the number of the source it came from::

    The Eiffel Tower is 330 metres tall [1]. It was finished in 1889 [3].

Without question words or when nothing matches, it says so and lists the
closest sources by their first sentence, best first, still cited. When the
question came with a picture (``mmrag ask --image photo.jpg "where can I buy
this?"``), the sources are the items most similar to it: the answer quotes any
sentence matching the words, then lists the closest items with their first two
sentences (name, price, shop ...), each cited. A comparison over records
("which item costs less than 20?") is answered from their typed fields
(``fieldmatch.py``). It never invents text, so its
citations always point at the sentence they quote.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from mmrag.config import Config
from mmrag.generate.base import StreamingGenerator
from mmrag.generate.prompt import ContextItem, Prompt

MAX_SENTENCES = 3
MAX_PER_SOURCE = 2
MAX_SENTENCE_CHARS = 400
MIN_RELATIVE = 0.35  # a quoted sentence scores at least this share of the best one
K1, B = 1.2, 0.75

STOPWORDS = frozenset(
    ["a", "about", "above", "after", "again", "all", "also", "am", "an", "and", "any", "are", "as", "at", "be", "because", "been", "before", "being", "below", "between", "both", "but", "by", "can", "could", "did", "do", "does", "doing", "down", "during", "each", "few", "for", "from", "further", "had", "has", "have", "having", "he", "her", "here", "hers", "him", "his", "how", "i", "if", "in", "into", "is", "it", "its", "itself", "just", "me", "more", "most", "my", "no", "nor", "not", "of", "off", "on", "once", "only", "or", "other", "our", "out", "over", "own", "same", "she", "should", "so", "some", "such", "than", "that", "the", "their", "them", "then", "there", "these", "they", "this", "those", "through", "to", "too", "under", "until", "up", "very", "was", "we", "were", "what", "when", "where", "which", "while", "who", "whom", "why", "will", "with", "would", "you", "your", "tell", "show", "give", "find", "please", "about", "does", "did", "can", "much", "many"]
)
_WORD = re.compile(r"[^\W_]+", re.UNICODE)
_SENTENCE_END = re.compile(r"(?<=[.!?。！？])\s+|\n+")


def stem(word: str) -> str:
    """Very light English stemming: plurals and a few suffixes (``towers`` -> ``tower``)."""
    for suffix, min_len in (("ies", 5), ("sses", 6), ("es", 5), ("s", 4), ("ing", 6), ("ed", 5)):
        if word.endswith(suffix) and len(word) >= min_len and not word.endswith("ss"):
            base = word[: -len(suffix)]
            return base + "y" if suffix == "ies" else base
    return word


def terms(text: str) -> list[str]:
    """Lower-cased, stemmed content words."""
    return [stem(w) for w in (m.group(0).lower() for m in _WORD.finditer(text)) if w not in STOPWORDS]


def split_sentences(text: str) -> list[str]:
    """Sentences and lines; long ones cut at a word boundary near ``MAX_SENTENCE_CHARS``."""
    out = []
    for piece in _SENTENCE_END.split(text):
        piece = " ".join(piece.split())
        if len(piece) < 3 or piece in ("(picture attached)", "(no text description)"):
            continue
        if len(piece) > MAX_SENTENCE_CHARS:
            piece = piece[:MAX_SENTENCE_CHARS].rsplit(" ", 1)[0] + " …"
        out.append(piece)
    return out


@dataclass(frozen=True)
class Scored:
    number: int  # the source's [n]
    sentence: str
    score: float
    position: int  # sentence index inside its source


def rank_sentences(question: str, items: Sequence[ContextItem]) -> list[Scored]:
    """BM25 of every context sentence against ``question``; best first, zero scores left out.

    Ties go to the better-ranked source, then to the earlier sentence.
    """
    query = set(terms(question))
    if not query:
        return []
    docs: list[tuple[int, int, str, list[str]]] = []
    for item in items:
        for pos, sentence in enumerate(split_sentences(item.said)):
            docs.append((item.number, pos, sentence, terms(sentence)))
    if not docs:
        return []
    n = len(docs)
    avg_len = sum(len(d[3]) for d in docs) / n or 1.0
    df: Counter[str] = Counter()
    for doc in docs:
        df.update(set(doc[3]) & query)
    scored = []
    for number, pos, sentence, words in docs:
        tf = Counter(w for w in words if w in query)
        score = 0.0
        for term, freq in tf.items():
            idf = math.log(1 + (n - df[term] + 0.5) / (df[term] + 0.5))
            score += idf * freq * (K1 + 1) / (freq + K1 * (1 - B + B * len(words) / avg_len))
        if score > 0:
            scored.append(Scored(number, sentence, score, pos))
    scored.sort(key=lambda s: (-s.score, s.number, s.position))
    return scored


def compose(
    question: str, items: Sequence[ContextItem], max_chars: int = 1200, image_query: bool = False
) -> list[str]:
    """The answer as a list of pieces (one per quoted sentence or listed source, each with its citation).

    ``image_query``: the question came with a picture (the sources were retrieved
    as similar to it): after any sentence that answers the words, the closest
    items are listed with their first two sentences (a product's name, price, shop).
    """
    if not items:
        return ["I found no indexed sources for this question."]
    from mmrag.generate.fieldmatch import answer_from_fields

    by_fields = answer_from_fields(question, items)  # "which item costs less than 20?" over records
    if by_fields:
        return by_fields
    chosen: list[Scored] = []
    per_source: Counter[int] = Counter()
    seen: set[str] = set()
    # a picture query over a catalogue: the listed items below are the answer; quoting them twice adds nothing
    records_only = image_query and all(item.hit.fields for item in items[:MAX_SENTENCES])
    ranked = [] if records_only else rank_sentences(question, items)
    floor = ranked[0].score * MIN_RELATIVE if ranked else 0.0
    for cand in ranked:
        if cand.score < floor:
            break
        key = cand.sentence.lower()
        if key in seen or per_source[cand.number] >= MAX_PER_SOURCE:
            continue
        chosen.append(cand)
        seen.add(key)
        per_source[cand.number] += 1
        if len(chosen) >= MAX_SENTENCES:
            break
    pieces: list[str] = []
    used = 0
    for cand in chosen:
        piece = _cite_inside(cand.sentence, cand.number)
        if pieces and used + len(piece) > max_chars:
            break
        pieces.append(piece if not pieces else " " + piece)
        used += len(piece)
    if chosen and not image_query:
        return pieces
    if image_query:
        lead = "Closest matches to your picture:"
    elif not terms(question):
        lead = "Closest matches:"
    else:
        lead = "No source states this directly. The closest matches:"
    pieces.append(("\n\n" if pieces else "") + lead)
    for item in items[:MAX_SENTENCES]:
        pieces.append(f"\n- {_summary(item, 2 if image_query else 1)} [{item.number}]")
    return pieces


def _summary(item: ContextItem, sentences: int) -> str:
    if item.hit.fields:  # a record's first line is its name, price, link ...
        sentences = 1
    found = split_sentences(item.said)[:sentences]
    return " ".join(found) if found else item.hit.label()


def _with_stop(sentence: str) -> str:
    return sentence if sentence[-1:] in ".!?…" else sentence + "."


def _cite_inside(sentence: str, number: int) -> str:
    """``It is tall.`` -> ``It is tall [1].`` (citation before the final stop)."""
    text = _with_stop(sentence)
    if text[-1] in ".!?" and not text.endswith("…"):
        return f"{text[:-1]} [{number}]{text[-1]}"
    return f"{text} [{number}]"


def attribute(text: str, items: Sequence[ContextItem], min_coverage: float = 0.6, min_terms: int = 2) -> int | None:
    """The source an uncited answer most likely came from, or ``None``.

    Post-hoc attribution for models that do not write citations (small base
    models): the source whose text holds the largest share of the answer's
    content words, if that share is at least ``min_coverage`` and covers at
    least ``min_terms`` words. Ties go to the better-ranked source.
    """
    words = set(terms(text))
    if len(words) < min_terms:
        return None
    best, best_cov = None, 0.0
    for item in items:
        shared = words & set(terms(item.body))
        cov = len(shared) / len(words)
        if len(shared) >= min_terms and cov >= min_coverage and cov > best_cov:
            best, best_cov = item.number, cov
    return best


class ExtractiveGenerator(StreamingGenerator):
    """Quotes the best-matching context sentences with their citations; needs no model."""

    name = "extractive"
    vision = False

    def __init__(self, max_chars: int = 1200) -> None:
        self.max_chars = max_chars

    def stream(self, prompt: Prompt) -> Iterator[str]:
        yield from compose(prompt.question, prompt.items, self.max_chars, image_query=prompt.query_image is not None)


def build(config: Config) -> ExtractiveGenerator:
    """Registry factory (``generator`` kind, name ``extractive``)."""
    return ExtractiveGenerator(max_chars=max(200, config.generate.max_new_tokens * 4))


__all__ = ["ExtractiveGenerator", "attribute", "build", "compose", "rank_sentences", "split_sentences", "stem", "terms"]

"""Matching words as they were heard: a sound-alike lexical score for transcripts.

A speech transcript holds what the recogniser *heard*: "Maria sent" for
"Maria said", "to Ken" for "toucan", "10 of close" for "ten of clubs".
Exact-word matching (BM25) and a sentence embedding both miss such a
transcript when the query spells the words right. This module scores how much
of a query *sounds* present in a transcript:

1. both sides go through Whisper's own English text normaliser
   (``transformers``' ``EnglishTextNormalizer``: "ten" and "10" -> "10",
   "Mr." -> "mister", British spellings, punctuation and hyphens dropped);
2. every word becomes its Metaphone key (``jellyfish``, a maintained Rust
   implementation: "toucan" -> TKN, "to ken" -> T KN), digits are read out
   one by one ("4" -> "four" -> FR, the same key as "for");
3. the keys are joined into one stream *without word boundaries*, so a word
   heard as two ("to ken") still lines up with the one it was ("toucan");
4. the score is the share of the query's key n-grams (``N_GRAM`` characters)
   that the transcript (plus the recogniser's alternative words, if kept)
   contains: 1.0 when everything the query says can be heard in it.

Pure functions, no state; the retrieve step applies them to the candidate
transcripts of a text query (``retrieve.search``).
"""

from __future__ import annotations

import importlib.util
import re
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path

from mmrag.errors import MissingDependency

N_GRAM = 4
POWER = 2  # the fused bonus is weight * score**POWER: a query heard in full counts, scattered common sounds hardly
_DIGITS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
_TOKEN = re.compile(r"[a-z]+|[0-9]")


@lru_cache(maxsize=1)
def _normalizer() -> object:
    """Whisper's ``EnglishTextNormalizer``, read from its own file in the ``transformers`` wheel: the
    module needs only the standard library and ``regex``, while importing it through the package
    loads all of ``transformers`` (1.2 s of a cold ``mmrag search``)."""
    spec = importlib.util.find_spec("transformers")  # finds the package without importing it
    path = Path(spec.origin).parent / "models" / "whisper" / "english_normalizer.py" if spec and spec.origin else None
    if path is not None and path.is_file():
        loader = importlib.util.spec_from_file_location("mmrag_whisper_english_normalizer", path)
        if loader is not None and loader.loader is not None:
            module = importlib.util.module_from_spec(loader)
            loader.loader.exec_module(module)
            return module.EnglishTextNormalizer({})
    from transformers.models.whisper.english_normalizer import EnglishTextNormalizer

    return EnglishTextNormalizer({})


def normalize(text: str) -> str:
    """Whisper's English normalisation: lower case, numbers as digits, no punctuation."""
    return str(_normalizer()(text))  # type: ignore[operator]


def words(text: str) -> list[str]:
    """Normalised words; digits are read out one by one ("10" -> "one", "zero")."""
    out: list[str] = []
    for tok in _TOKEN.findall(normalize(text)):
        out.append(_DIGITS[int(tok)] if tok.isdigit() else tok)
    return out


@lru_cache(maxsize=65536)
def _key(word: str) -> str:
    try:
        import jellyfish
    except ImportError:
        raise MissingDependency("jellyfish", "media", "sound-alike matching of transcripts") from None
    return jellyfish.metaphone(word) or word[:1].upper()


@lru_cache(maxsize=8192)
def key_stream(text: str) -> str:
    """The text's Metaphone keys joined with no word boundaries ("to Ken" -> "TKN")."""
    return "".join(_key(w) for w in words(text))


def grams(stream: str, n: int = N_GRAM) -> set[str]:
    """Character n-grams of a key stream (the whole stream when shorter than ``n``)."""
    if len(stream) <= n:
        return {stream} if stream else set()
    return {stream[i : i + n] for i in range(len(stream) - n + 1)}


def heard_score(query: str, transcript: str, alternatives: Iterable[str] = (), *, n: int = N_GRAM) -> float:
    """Share (0..1) of the query's sound n-grams found in the transcript or its alternatives."""
    q = grams(key_stream(query), n)
    if not q:
        return 0.0
    doc = grams(key_stream(transcript), n)
    for alt in alternatives:
        doc |= grams(key_stream(alt), n)
    return len(q & doc) / len(q)


__all__ = ["N_GRAM", "POWER", "grams", "heard_score", "key_stream", "normalize", "words"]

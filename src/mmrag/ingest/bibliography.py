"""Bibliographies (BibTeX ``.bib`` from Zotero, JabRef, Mendeley, Google Scholar) as rows of references.

Indexed as text, a ``.bib`` was ``@article{keeper2020, author = {M{\\"u}ller, J{\\"u}rgen and ...}`` cut into
chunks across entries. Each entry is now a record (``ingest/record_readers.py`` reads the file through
``references``): its title with who and when as a citation gives them (``Pruning Pear Trees (Keeper et al.,
2020)``), its authors in reading order (``Jürgen Müller, Piet van der Berg``), year, where it
appeared (journal, proceedings, publisher or school, with volume and pages), what kind of work it is, abstract,
keywords, DOI and URL, all LaTeX written out as text (accents, ``{Braces}``, ``\\%``, dashes; by pylatexenc, as
``.tex`` sources are read). The citation key is the row's identity, so a bibliography exported again re-embeds
only the entries that changed. Parsed by pybtex (MIT; ``@string`` macros and month names expanded); a damaged
entry is reported by its number and the rest land.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

BIB_EXTS = (".bib", ".bibtex")
COLUMNS = ("title", "authors", "year", "published in", "kind", "abstract", "keywords", "doi", "url", "note", "key")
BIBLIOGRAPHY_MAPPING = {"id": "key", "title": "title",
                        "text": ["title", "authors", "year", "published in", "kind", "abstract", "keywords", "note"],
                        "fields": ["authors", "year", "published in", "kind", "keywords", "doi", "url", "note"]}
_ENTRY = re.compile(r"^\s*@\s*[A-Za-z]+\s*[{(]", re.MULTILINE)
_KINDS = {"article": "journal article", "inproceedings": "conference paper", "conference": "conference paper",
          "incollection": "book chapter", "inbook": "book chapter", "book": "book", "phdthesis": "PhD thesis",
          "mastersthesis": "master's thesis", "techreport": "technical report", "manual": "manual",
          "misc": "other", "online": "web page", "unpublished": "unpublished work", "proceedings": "proceedings"}


def looks_like_bibliography(text: str) -> bool:
    """Whether ``text`` holds BibTeX entries (``@article{``, ``@string(`` ...) in its first 64 KB."""
    return bool(_ENTRY.search(text[:65536]))


def _plain(value: str) -> str:
    from mmrag.ingest.latex import latex_text

    return " ".join(latex_text(value).split())


def _person(person: Any) -> str:
    parts = [*person.first_names, *person.middle_names, *person.prelast_names, *person.last_names, *person.lineage_names]
    return _plain(" ".join(parts))


def reference_values(key: str, entry: Any) -> dict[str, Any]:
    """One entry's row (pure over pybtex's parsed entry)."""
    fields = {k.lower(): str(v) for k, v in entry.fields.items()}
    people = entry.persons.get("author") or entry.persons.get("editor") or []
    venue = next((fields[k] for k in ("journal", "booktitle", "publisher", "school", "institution", "howpublished",
                                      "organization") if fields.get(k)), "")
    details = ", ".join(p for p in (f"vol. {fields['volume']}" if fields.get("volume") else "",
                                    f"no. {fields['number']}" if fields.get("number") else "",
                                    f"pp. {fields['pages']}" if fields.get("pages") else "") if p)
    surnames = [_plain(" ".join([*p.prelast_names, *p.last_names])) for p in people]
    cited = (surnames[0] if len(surnames) == 1 else " and ".join(surnames) if len(surnames) == 2
             else f"{surnames[0]} et al." if surnames else "")
    label = ", ".join(p for p in (cited, _plain(fields.get("year", ""))) if p)
    title = _plain(fields.get("title", ""))
    return {
        # the title carries who and when, as a citation does: a hit's label and an answer's first sentence say it
        "title": f"{title} ({label})" if title and label else title or label,
        "authors": ", ".join(p for p in (_person(p) for p in people) if p),
        "year": _plain(fields.get("year", "")),
        "published in": ", ".join(p for p in (_plain(venue), _plain(details)) if p),
        "kind": _KINDS.get(entry.type.lower(), entry.type.lower()),
        "abstract": _plain(fields.get("abstract", "")),
        "keywords": _plain(fields.get("keywords", "")),
        "doi": fields.get("doi", "").strip(),
        "url": fields.get("url", "").strip(),
        "note": _plain(fields.get("note", "")),
        "key": key,
    }


def references(text: str) -> Iterator[tuple[dict[str, Any] | None, str]]:
    """Each entry of a bibliography, in file order: ``(values, "")``, or ``(None, reason)`` for one that cannot be
    read (a syntax error leaves it without fields). Raises ``ValueError`` when no entry could be read."""
    import pybtex.errors
    from pybtex.database import parse_string

    with pybtex.errors.capture() as problems:
        try:
            data = parse_string(text, "bibtex")
        except Exception as exc:  # noqa: BLE001 - pybtex raises its own errors for text it cannot read at all
            raise ValueError(f"{type(exc).__name__}: {exc}") from None
    said = "; ".join(str(p) for p in problems[:3])
    rows: list[tuple[dict[str, Any] | None, str]] = []
    for key, entry in data.entries.items():
        try:
            values = reference_values(str(key), entry)
        except Exception as exc:  # noqa: BLE001 - one broken entry is reported by its number
            rows.append((None, f"an entry mmrag cannot read ({type(exc).__name__}: {exc})"))
            continue
        if not (values["title"] or values["authors"]) or values["title"] == values["year"]:
            rows.append((None, f"entry '{key}' has no title or author" + (f" (the file says: {said})" if said else "")))
            continue
        rows.append((values, ""))
    if not rows and said:
        raise ValueError(said)
    yield from rows


__all__ = ["BIBLIOGRAPHY_MAPPING", "BIB_EXTS", "COLUMNS", "looks_like_bibliography", "reference_values", "references"]

"""Damaged manual pages, Info manuals, LaTeX sources, Org notes, calendars, address books, bibliographies and
Evernote exports: each copy is read, or refused with an ``IngestError`` that says why; never another exception
(``fuzzing.fuzz_outcomes``)."""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.ingest.fuzzing import fuzz_outcomes

from mmrag.config import IngestConfig
from mmrag.errors import IngestError
from mmrag.ingest.record_readers import RawRecord, RecordReader, record_format
from mmrag.ingest.text import TextLoader

DATA = Path(__file__).parents[1] / "data"
CFG = IngestConfig(ocr=False)
TEXT_SAYS = ("no words of its own", "not a LaTeX document", "table of its parts", "no text to index", "not valid text",
             "an empty Google Keep note")


def _records(path: Path) -> Iterator[RawRecord]:
    fmt = record_format(path, path.read_bytes()[:64])
    if fmt is None:
        raise IngestError(str(path), "not a record file mmrag can read")
    yield from RecordReader(path, fmt).records()


@pytest.mark.parametrize(("name", "suffix"), [
    ("roff/appres.1", ".1"), ("roff/ssh.1.gz", ".1"), ("info/orchard.info.gz", ".info"),
    ("latex/orchard_paper.tex", ".tex"), ("latex/libhttplib2.tex", ".tex"), ("org/orchard-notes.org", ".org"),
    ("rst/pip_uninstall.rst", ".rst"), ("asciidoc/orchard-guide.adoc", ".adoc"),
])
def test_damaged_markup_documents(name: str, suffix: str, tmp_path: Path) -> None:
    data = (DATA / name).read_bytes()
    data = gzip.decompress(data) if name.endswith(".gz") else data
    outcomes = fuzz_outcomes(data, tmp_path, suffix, "text", lambda p: TextLoader().load(p, CFG), TEXT_SAYS, seed=7)
    assert "read" in outcomes  # most damage leaves a document to read


@pytest.mark.parametrize(("name", "suffix"), [("calendar/household.ics", ".ics"), ("contacts/contacts.vcf", ".vcf"),
                                             ("bibliography/orchard.bib", ".bib")])
def test_damaged_calendars_and_address_books(name: str, suffix: str, tmp_path: Path) -> None:
    data = (DATA / name).read_bytes()
    says = ("not a readable iCalendar file", "not a readable vCard address book", "not a readable BibTeX bibliography",
            "not a record file", "cannot read")
    outcomes = fuzz_outcomes(data, tmp_path, suffix, "records", _records, says, seed=11)
    assert outcomes & {"read", "IngestError"}


def test_damaged_evernote_exports(tmp_path: Path) -> None:
    from mmrag.ingest.evernote import EvernoteLoader

    data = (DATA / "evernote" / "household.enex").read_bytes()
    says = ("damaged or cut short", "refused", "not an Evernote export", "no text or pictures")
    outcomes = fuzz_outcomes(data, tmp_path, ".enex", "enex", lambda p: EvernoteLoader().load(p, CFG), says, seed=5,
                             n=30)
    assert outcomes & {"read", "IngestError"}

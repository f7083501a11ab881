"""Bibliographies (.bib) as rows of references: LaTeX written out, authors in reading order, a cut entry reported."""

from __future__ import annotations

from pathlib import Path

import pytest

from mmrag.errors import IngestError
from mmrag.ingest.bibliography import looks_like_bibliography, references
from mmrag.ingest.record_readers import RecordReader
from mmrag.ingest.sources import sniff_reason

DATA = Path(__file__).parents[1] / "data" / "bibliography"


def test_each_entry_is_a_row_with_its_latex_written_out() -> None:
    (keeper, _), (gardener, _), (knuth, _), (broken, reason) = references((DATA / "orchard.bib").read_text())
    assert keeper == {
        "title": "Pruning Pear Trees Before the Sap Rises: A Ten-Year Study (Keeper et al., 2020)",
        "authors": "Anna Keeper, Jürgen Müller, Piet van der Berg", "year": "2020",
        "published in": "Journal of Machine Learning Research, vol. 21, pp. 1–34",  # @string expanded, -- a dash
        "kind": "journal article",
        "abstract": "We pruned 240 pear trees in late winter and measured the harvest over ten years. Trees cut back "
                    "to an outward-facing bud bore 18% more fruit.",
        "keywords": "pruning, pears, orchards", "doi": "10.1000/xyz123", "url": "", "note": "", "key": "keeper2020"}
    assert gardener["title"] == "Storing Quinces on Slatted Shelves (Gardener, 2019)"
    assert gardener["kind"] == "conference paper" and gardener["url"] == "https://example.org/quinces.pdf"
    assert knuth["title"] == "The TeXbook (Knuth, 1984)" and knuth["published in"] == "Addison-Wesley"
    assert broken is None and reason.startswith("entry 'broken' has no title or author (the file says: syntax error")


def test_a_bibliography_is_sniffed_and_read_as_records(tmp_path: Path) -> None:
    assert looks_like_bibliography((DATA / "orchard.bib").read_text())
    assert sniff_reason(DATA / "orchard.bib") == ("records", "")
    notes = tmp_path / "notes.bib"  # named .bib, but prose: a note, not a bibliography
    notes.write_text("Books to read this winter: the TeXbook, and something on pear trees.\n")
    assert sniff_reason(notes) == ("text", "")
    rows = list(RecordReader(DATA / "orchard.bib", "bib").records())
    assert [(r.row, r.values.get("key"), bool(r.error)) for r in rows] == [
        (1, "keeper2020", False), (2, "gardener19", False), (3, "knuth1984", False), (4, None, True)]
    cut = tmp_path / "cut.bib"
    cut.write_text("@article{x, title = {unclosed\n")
    (row,) = RecordReader(cut, "bib").records()
    assert row.error == "entry 'x' has no title or author (the file says: syntax error in line 1: premature end of file)"
    garbage = tmp_path / "garbage.bib"
    garbage.write_text("@@@ nothing here {{{")
    with pytest.raises(IngestError, match=r"not a readable BibTeX bibliography \(syntax error in line 1"):
        list(RecordReader(garbage, "bib").records())

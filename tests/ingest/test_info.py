"""GNU Info manuals read as their text: headings, words, cross references; no navigation, menus or indexes."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from mmrag.config import IngestConfig
from mmrag.errors import IngestError
from mmrag.ingest.info import indirect_parts, info_markdown, looks_like_info
from mmrag.ingest.sources import sniff_reason
from mmrag.ingest.text import TextLoader
from mmrag.markdown import as_shown, headings

DATA = Path(__file__).parents[1] / "data" / "info"
CFG = IngestConfig(ocr=False)
MANUAL = gzip.decompress((DATA / "orchard.info.gz").read_bytes()).decode()


def test_an_info_manual_is_told_by_its_name_and_its_nodes() -> None:
    assert looks_like_info(MANUAL, ".info") and looks_like_info(MANUAL, ".info-2")
    assert looks_like_info(MANUAL, "")  # no name: makeinfo's first line says so
    assert not looks_like_info("Notes on the info desk.\n\nFile: a,  Node: b\n", ".info")  # no node separator
    assert looks_like_info((DATA / "orchard-book.info").read_text(), ".info")  # a table of parts
    # text, though makeinfo writes NULs around its image and index markers and DELs in its tag table
    assert sniff_reason(DATA / "orchard.info.gz") == ("text", "") == sniff_reason(DATA / "orchard-book.info")


def test_the_manual_reads_as_markdown_without_its_navigation() -> None:
    text, title = info_markdown(MANUAL)
    assert title == "The Orchard Notes"
    lines = text.splitlines()
    assert lines[0] == "# The Orchard Notes"
    assert "# 1 Pruning" in lines and "## 1.1 Tools" in lines and "# 2 Harvest" in lines
    assert "back to an outward-facing bud (see Harvest) and never take more" in lines
    assert "blades between trees (see Diseases)." in lines
    for gone in ("File: orchard.info", "* Menu:", "Pruning::", "(line 6)", "Tag Table", "Local Variables",
                 "makeinfo", "INFO-DIR-SECTION", "[image", "[index", "\x00", "\x1f", "# Index"):
        assert gone not in text, gone
    assert text.endswith("the cellar, where they keep until February.\n")


def test_a_table_of_parts_names_them_and_is_not_indexed() -> None:
    table = DATA / "orchard-book.info"
    assert indirect_parts(table.read_text()) == ["orchard-book.info-1", "orchard-book.info-2"]
    with pytest.raises(IngestError, match=r"table of its parts \(orchard-book.info-1, orchard-book.info-2\)"):
        list(TextLoader().load(table, CFG))


def test_the_text_loader_indexes_the_manual_with_its_title() -> None:
    segments = list(TextLoader().load(DATA / "orchard.info.gz", CFG))
    assert segments and {s.meta["format"] for s in segments} == {"info"}
    assert segments[0].meta["title"] == "The Orchard Notes"
    joined = " ".join(s.text for s in segments)
    assert "slatted shelves" in joined and "File:" not in joined and "* Menu:" not in joined


def test_cross_references_read_as_print_shows_them() -> None:
    node = "\x1f\nFile: m.info,  Node: Top,  Up: (dir)\n\nM\n*\n\n"
    text, _ = info_markdown(node + "*Note Regexp Addresses::.  The default is *note Basic (BRE): BRE\nsyntax.  Cut it\n"
                                   "(*note Tools::) or (*note Saws: Tools.).\n")
    assert "See Regexp Addresses.  The default is Basic (BRE).  Cut it\n(see Tools) or (see Saws)." in text


def test_a_two_column_table_starts_each_description_with_its_terms() -> None:
    """makeinfo's @table: term lines at the margin, the description indented five more."""
    node = ("\x1f\nFile: t.info,  Node: Top,  Next: X,  Up: (dir)\n\nOptions\n*******\n\nThe options are:\n\n"
            "‘-i’\n‘--ignore-case’\n     Ignore case distinctions in patterns,\n     and in input data.\n"
            "‘-v’\n     Invert the sense of matching.\n\n   A paragraph after the table\nruns on here.\n\n"
            "     if (x)\n         y = 1;\n")
    lines = info_markdown(node)[0].splitlines()
    assert "‘-i’, ‘--ignore-case’: Ignore case distinctions in patterns," in lines
    assert "     and in input data." in lines  # the rest of the description: the same paragraph
    assert "‘-v’: Invert the sense of matching." in lines
    assert "   A paragraph after the table" in lines and "runs on here." in lines
    assert "     if (x)" in lines and "         y = 1;" in lines  # an example's code is no table


def test_an_examples_comment_is_no_heading() -> None:
    """An example's ``# make install`` (indented or not) is written escaped, so it neither ends its section nor
    loses its ``#`` when shown (``markdown.literal``)."""
    node = ("\x1f\nFile: lamp.info,  Node: Top,  Next: Use\n\n1 Install\n*********\n\nBuild it:\n\n     # make install\n"
            "# done\n\n1.1 Use\n=======\n\nPress it.\n")
    text, _ = info_markdown("This is lamp.info, produced by makeinfo.\n" + node)
    assert [(lvl, w) for _, lvl, w in headings(text)] == [(1, "1 Install"), (2, "1.1 Use")]
    assert "     # make install" in as_shown(text).splitlines() and "# done" in as_shown(text).splitlines()

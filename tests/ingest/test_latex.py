"""LaTeX sources read as what the paper says: headings, title, citations as keys; nothing read from elsewhere."""

from __future__ import annotations

from pathlib import Path

import pytest

from mmrag.config import IngestConfig
from mmrag.errors import IngestError
from mmrag.ingest.latex import MAX_DEPTH, latex_markdown, looks_like_latex
from mmrag.ingest.text import TextLoader

DATA = Path(__file__).parents[1] / "data" / "latex"
CFG = IngestConfig(ocr=False)
PAPER = (DATA / "orchard_paper.tex").read_text()


def test_a_latex_source_is_told_by_its_name_and_its_commands() -> None:
    assert looks_like_latex(PAPER, ".tex") and looks_like_latex((DATA / "libhttplib2.tex").read_text(), ".tex")
    assert not looks_like_latex(PAPER, ".txt")  # a note quoting LaTeX stays a note
    assert not looks_like_latex("Plain TeX notes without a single command.\n", ".tex")


def test_the_paper_reads_as_markdown() -> None:
    text, title = latex_markdown(PAPER)
    assert title == "Pear Trees and the North Wall"
    lines = text.splitlines()
    assert lines[0] == "# Pear Trees and the North Wall"  # \maketitle: the title, never the day it was indexed
    assert "## Introduction" in lines and "### Tools" in lines
    assert "The pear trees flowered two weeks early [keeper2020, gardener19]. See Section and E = mc^2 and" in lines
    assert "A saw[A bypass saw.] and secateurs; <http://example.org>. Café naïve." in lines
    assert "The pruning saw." in lines and "  * two" in lines
    for gone in ("\\", "{", "sec:intro", "saw.png", "graphics", "comment that must not show", "root:", "2026"):
        assert gone not in text, gone


def test_a_real_reference_page_keeps_its_words() -> None:
    text, title = latex_markdown((DATA / "libhttplib2.tex").read_text())
    assert title is None  # it has no \title: the loader falls back to its first heading
    assert text.startswith("## httplib2 A comprehensive HTTP client library.")
    assert "Automatically follows 3XX redirects on GETs." in text
    assert "\\begin" not in text and "\\section" not in text and "\\module" not in text


def test_hostile_nesting_is_refused_for_that_file(tmp_path: Path) -> None:
    deep = tmp_path / "deep.tex"
    deep.write_text("\\documentclass{article}\n" + "{" * (MAX_DEPTH + 1) + "x" + "}" * (MAX_DEPTH + 1))
    with pytest.raises(IngestError, match=f"not a LaTeX document mmrag can read .*nested more than {MAX_DEPTH}"):
        list(TextLoader().load(deep, CFG))


def test_the_text_loader_indexes_the_paper_with_its_title() -> None:
    segments = list(TextLoader().load(DATA / "orchard_paper.tex", CFG))
    assert segments and {s.meta["format"] for s in segments} == {"latex"}
    assert segments[0].meta["title"] == "Pear Trees and the North Wall"
    segments = list(TextLoader().load(DATA / "libhttplib2.tex", CFG))
    assert segments[0].meta["title"] == "httplib2 A comprehensive HTTP client library."

"""AsciiDoc read as the rendered page says: headings, fenced code, links and admonitions as words; no macros."""

from __future__ import annotations

from pathlib import Path

from mmrag.config import IngestConfig
from mmrag.ingest.asciidoc import asciidoc_markdown, inline
from mmrag.ingest.text import TextLoader

DATA = Path(__file__).parents[1] / "data" / "asciidoc"


def test_a_guide_reads_as_markdown() -> None:
    text, title = asciidoc_markdown((DATA / "orchard-guide.adoc").read_text())
    assert title == "The Orchard Guide"
    lines = text.splitlines()
    assert lines[:5] == ["# The Orchard Guide", "", "A. Keeper <keeper@example.org>", "", "## Pruning"]
    assert "Pear trees are pruned in late winter with Orchard Tools. See how quinces are stored" in lines  # {attr}
    assert "and the tool list; the full guide is at the orchard website." in lines  # <<xref>>, url[text]
    assert "Note: Never take more than a third of the crown in one year." in lines
    assert lines[lines.index("Warning:") + 1] == "Sterilise the blades between trees."
    assert lines[lines.index("```python") + 1] == "cut = crown * 0.3"
    assert "### Tools" in lines and "A bypass pruning saw" in lines  # an image: its alt text
    assert "Secateurs | thin branches" in lines and "> Quinces keep until February on slatted shelves." in lines
    assert "The fine whetstone keeps the edge sharp; run oil --spring afterwards." in lines
    for gone in ("//", ":toc:", "include::", "[[", "[#", "[source", "----", "|===", "////", "comment block",
                 "ifdef", "endif", "xref:", "{product}"):
        assert gone not in text, gone


def test_a_real_readme_keeps_its_words() -> None:
    text, title = asciidoc_markdown((DATA / "jetty-README.adoc").read_text())
    assert title == "ECLIPSE JETTY"  # no document title: its first heading
    assert "The Eclipse Jetty Project provides a:" in text
    assert "The Jetty documentation is available at https://jetty.org/docs/." in text  # link:url[]: the address
    assert "link:" not in text and "tag::" not in text and "```\n$ java -jar $JETTY_HOME/start.jar --help\n```" in text
    assert inline("see link:a.html[the A page] and `code` and +{x}+", {"x": "y"}) == "see the A page and code and y"


def test_the_text_loader_indexes_the_guide_with_its_title() -> None:
    segments = list(TextLoader().load(DATA / "orchard-guide.adoc", IngestConfig(ocr=False)))
    assert segments and {s.meta["format"] for s in segments} == {"asciidoc"}
    assert segments[0].meta["title"] == "The Orchard Guide"


def test_a_labeled_list_starts_each_text_with_its_term() -> None:
    doc = ("= Groups\n\ndialout:: Full and direct access to serial ports.\nfax::\n  Allows members to send faxes.\n"
           "CPU::: The brain.\nstd::vector is a class.\nexample::\n----\ncode\n----\n")
    lines = asciidoc_markdown(doc)[0].splitlines()
    assert "dialout: Full and direct access to serial ports." in lines
    assert "fax: Allows members to send faxes." in lines  # its text on the next line
    assert "CPU: The brain." in lines and "std::vector is a class." in lines  # C++ is not a term
    assert lines[lines.index("example") + 1] == "```"  # a term over a block stays a line of its own

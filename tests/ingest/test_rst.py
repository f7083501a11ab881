"""reStructuredText read as the rendered page says: headings, fenced code, roles and links as words; no directives."""

from __future__ import annotations

from pathlib import Path

from mmrag.config import IngestConfig
from mmrag.ingest.rst import inline, rst_markdown
from mmrag.ingest.text import TextLoader

DATA = Path(__file__).parents[1] / "data" / "rst"


def test_a_sphinx_page_reads_as_markdown() -> None:
    text, title = rst_markdown((DATA / "pip_uninstall.rst").read_text())
    assert title == "pip uninstall"
    lines = text.splitlines()
    assert lines[:3] == ["# pip uninstall", "", "## Usage"]  # overlined title first, then the = underline
    assert "- Uninstall a package." in lines  # "#." auto-numbering
    unix = lines.index("Unix/macOS:")  # a tab's label over its code, fenced with its language
    assert lines[unix + 1 : unix + 3] == ["```console", "$ python -m pip uninstall simplejson"]
    assert "C:\\> py -m pip uninstall simplejson" in lines
    for gone in ("..", "code-block", "pip-command", ":ref:", "tab::"):
        assert not [ln for ln in lines if gone in ln and not ln.startswith(("   /", "$", "C:"))], gone


def test_notes_roles_and_links_read_as_words() -> None:
    text, title = rst_markdown((DATA / "pip_architecture_index.rst").read_text())
    assert title == "Architecture of pip's internals"
    assert text.startswith("# Architecture of pip's internals\n\nNote:\nThis section of the documentation")
    assert "please let us know in the\ntracking issue, or just go ahead" in text  # `tracking issue`_
    assert "see Using pip from\nyour program." in text  # a role across two lines
    assert "Direct use of pip's internals is not supported" in text  # *emphasis* marks dropped
    for gone in ("toctree", "maxdepth", "overview", "_architecture", "github.com", "`"):
        assert gone not in text, gone
    assert inline(":func:`~os.path.join` and ``x = 1`` and `pip <https://pip.pypa.io>`_ and |version|") == (
        "os.path.join and x = 1 and pip and version")
    assert inline(":ref:`the install guide <install>` and **bold**") == "the install guide and bold"


def test_the_text_loader_indexes_the_page_with_its_title() -> None:
    segments = list(TextLoader().load(DATA / "pip_uninstall.rst", IngestConfig(ocr=False)))
    assert segments and {s.meta["format"] for s in segments} == {"rst"}
    assert segments[0].meta["title"] == "pip uninstall"


def test_hostile_nesting_is_read_without_recursing_forever() -> None:
    deep = "".join("  " * k + ".. note::\n" for k in range(300)) + "  " * 300 + "the bottom\n"
    text, _ = rst_markdown(deep)  # 300 directives deep: past MAX_NESTING its lines are kept as words
    assert "the bottom" in text and text.startswith("Note:\nNote:")
    wide = ".. note::\n" + "\n" * 50_000 + "   after many blank lines\n"
    assert rst_markdown(wide)[0] == "Note:\nafter many blank lines\n"


def test_definition_option_and_field_lists_start_with_what_they_define() -> None:
    """reST's lists that define something are written ``term: text``, each a paragraph of its own, so an answer
    quoting the text names the term; a paragraph, a bullet and a literal block's lead-in are left as they were."""
    doc = ("Title\n=====\n\nA paragraph that\nwraps here.\n\ndialout\n    Full and direct access to serial ports.\n"
           "    Members can dial out.\n\n-k, --keep     Don't delete the input files.\n-f             Force it.\n\n"
           ":Author: Ana Keeper\n\n* a bullet\n  continued\n\n.. option:: -v, --verbose\n\n   Say more.\n\n"
           "Run this::\n\n    make\n")
    lines = rst_markdown(doc)[0].splitlines()
    assert "A paragraph that" in lines and "wraps here." in lines
    assert "dialout: Full and direct access to serial ports." in lines and "    Members can dial out." in lines
    assert "-k, --keep: Don't delete the input files." in lines and "-f: Force it." in lines
    assert lines[lines.index("-f: Force it.") - 1] == ""  # each entry a paragraph of its own
    assert "Author: Ana Keeper" in lines and "* a bullet" in lines
    assert "-v, --verbose: Say more." in lines  # an option directive over what it does
    assert "Run this:" in lines and "make" in lines

"""Org-mode notes read as what they say: no drawers, settings or link targets; headlines, TODOs and blocks kept."""

from __future__ import annotations

from pathlib import Path

from mmrag.config import IngestConfig
from mmrag.ingest.org import inline, org_markdown
from mmrag.ingest.text import TextLoader

DATA = Path(__file__).parents[1] / "data" / "org"


def test_a_roam_note_reads_as_markdown() -> None:
    text, title = org_markdown((DATA / "orchard-notes.org").read_text())
    assert title == "Orchard notes"
    lines = text.splitlines()
    assert lines[:5] == ["# Orchard notes", "", "Tags: garden, fruit", "Author: A. Keeper", ""]
    assert "# Pruning (winter)" in lines and "## TODO Sharpen the secateurs (tools)" in lines
    assert "Harvest log and the pruning guide." in lines  # links read as their descriptions
    assert "Scheduled: 2026-12-03 Thu 10:00" in lines
    assert "Use the fine whetstone and oil the spring afterwards." in lines
    assert "> Quinces keep until February on slatted shelves in the cellar." in lines
    assert "| Conference |        42 |" in lines and not [ln for ln in lines if ln.startswith("|--")]
    assert "```python" in lines and 'yield_per_tree = {"Conference": 42, "Quince": 90}' in lines
    assert "fixed-width: weigh the crates before storing" in lines
    for gone in ("PROPERTIES", "5d1c9a2e", "LOGBOOK", "CLOCK", "startup", "private reminder", "id:8f3a", "[[", "[#A]",
                 "#+", ":winter:"):
        assert gone not in text, gone


def test_links_and_marks_as_words() -> None:
    assert inline("see [[https://example.org]] and [[id:1234]] and [[file:notes/plan.org][the plan]]") == (
        "see https://example.org and  and the plan")
    assert inline("a =path/to/x= and ~code~ and *bold* but 2*3*4 and snake_case_name") == (
        "a path/to/x and code and bold but 2*3*4 and snake_case_name")


def test_the_text_loader_indexes_the_note_with_its_title() -> None:
    segments = list(TextLoader().load(DATA / "orchard-notes.org", IngestConfig(ocr=False)))
    assert segments and {s.meta["format"] for s in segments} == {"org"}
    assert segments[0].meta["title"] == "Orchard notes"
    assert "5d1c9a2e" not in " ".join(s.text for s in segments)


def test_a_description_list_starts_each_text_with_its_term() -> None:
    lines = org_markdown("* Groups\n- dialout :: Full and direct access to serial ports.\n- fax :: Allows faxes.\n"
                         "- a plain item\n")[0].splitlines()
    assert "dialout: Full and direct access to serial ports." in lines and "fax: Allows faxes." in lines
    assert lines[lines.index("fax: Allows faxes.") - 1] == ""
    assert "- a plain item" in lines

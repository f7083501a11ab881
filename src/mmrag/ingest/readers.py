"""Which version of mmrag's readers made an index (``meta["readers"]``), and what a user is told when it is older.

An index keeps what its files were read as: chunks, their sections, the words the text tower read. When a reader
reads better (a chunk's section, a Markdown file's underlined titles), files indexed before keep their old
chunks until they change or ``mmrag add --reindex`` reads them again; nothing tells a user so unless the index
says which readers made it. ``READERS`` is bumped with each such change, ``SINCE`` says what it brought, a new
index records it, and an ``add --reindex`` stamps it; ``mmrag add`` and ``mmrag info`` say when an index is older
(pure; no imports of the readers themselves).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

READERS = 8  # bump when what a reader writes changes what an index holds; say what in SINCE
SINCE: dict[int, str] = {
    2: "each chunk knows its section (§ Install > From source) and is embedded under its title and heading; "
       "underlined Markdown titles are headings; a '# comment' line in a manual, PDF or page is no heading; a "
       "Markdown file's link definitions are no text",
    3: "the command-line options a chunk names (-C, --dry-run) are searched as written; a section starts a "
       "chunk of its own unless it is a few lines long",
    4: "a PDF's or PostScript file's option list is read as its entries ('-C: list entries by columns'), its words "
       "spaced as printed, a bold command in another font is no title, and one with no title takes its file "
       "name's; options typeset with minus signs or dashes (−C, –help) are the ones people type",
    5: "a PDF table whose cells wrap onto a second line is read as one table (its rows whole, a wrapped URL "
       "joined), and its header, set bold, is no title",
    6: "a PDF table's lines in its page's text are its rows, one 'a | b' line each, not run into the paragraph "
       "after the table; a Markdown file's pipe tables are also read as typed rows",
    7: "a web page's data tables are written a row a line ('a | b'), not a cell a paragraph; an mdBook page's "
       "keyboard help, a page's menus and skip links, and rustdoc's top bar are left out",
    8: "the operators a chunk holds standing alone (%, !=, >=, ?) are searched as written",
}
KEY = "readers"


def readers_of(meta: Mapping[str, Any] | None) -> int:
    """The readers' version an index's metadata records; 1 for an index made before it was recorded (pure)."""
    try:
        return int((meta or {}).get(KEY, 1))
    except (TypeError, ValueError):
        return 1


def reindex_tip(meta: Mapping[str, Any] | None, has_text: bool = True) -> str | None:
    """What to tell a user whose index was made by older readers (``None`` when it is current, new, or holds no
    documents' text, which is all the changes so far are about) (pure)."""
    made = readers_of(meta)
    if meta is None or made >= READERS or not has_text:
        return None
    news = "; ".join(SINCE[v] for v in sorted(SINCE) if made < v <= READERS)
    return (f"this index was read by older readers ({made}, now {READERS}): {news}. Files indexed before keep "
            "what they were read as until they change; `mmrag add --reindex PATH ...` reads them again.")


__all__ = ["KEY", "READERS", "SINCE", "readers_of", "reindex_tip"]

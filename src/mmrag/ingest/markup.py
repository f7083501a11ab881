"""Which markup reader a text file gets: a Keep note, reST, AsciiDoc, Org, LaTeX, GNU Info or a manual page (roff).

Each reader (one module each) turns its markup into the Markdown the rest of mmrag reads (headings, fenced code,
words), so chunks, hits and quoted answers carry what the rendered document says, not its syntax. ``read_markup``
picks the reader by the file's name and first lines (``TextLoader`` asks it for every text file) and turns a
reader's refusal into an ``IngestError`` for that file.
"""

from __future__ import annotations

from dataclasses import dataclass

from mmrag.errors import IngestError
from mmrag.ingest.asciidoc import asciidoc_markdown, looks_like_asciidoc
from mmrag.ingest.info import indirect_parts, info_markdown, looks_like_info
from mmrag.ingest.keep import keep_markdown, keep_note, says_nothing
from mmrag.ingest.latex import latex_markdown, looks_like_latex
from mmrag.ingest.org import looks_like_org, org_markdown
from mmrag.ingest.roff import looks_like_roff, roff_markdown
from mmrag.ingest.rst import looks_like_rst, rst_markdown


@dataclass(frozen=True)
class Markup:
    """A markup document as read: its Markdown ``text``, its ``title`` (``None``: none named) and its ``format``."""

    text: str
    title: str | None
    format: str


def read_markup(source: str, text: str, ext: str) -> Markup | None:
    """The document read by its markup's reader, or ``None`` for text that is no markup mmrag reads (``ext``: the
    file's last suffix, the one inside a ``.gz``). ``IngestError`` when the reader refuses it or it says nothing."""
    if ext == ".json" and (note := keep_note(text)) is not None:  # a Google Keep note from Takeout
        if says_nothing(note):
            raise IngestError(source, "an empty Google Keep note (no title, text, list items, links or attachments)")
        return Markup(*keep_markdown(note), "keep")
    if looks_like_rst(ext):
        return Markup(*rst_markdown(text), "rst")
    if looks_like_asciidoc(ext):
        return Markup(*asciidoc_markdown(text), "asciidoc")
    if looks_like_org(ext):
        return Markup(*org_markdown(text), "org")
    if looks_like_latex(text, ext):
        try:
            return Markup(*latex_markdown(text), "latex")
        except (ValueError, RecursionError) as exc:
            raise IngestError(source, f"not a LaTeX document mmrag can read ({exc})") from None
    if looks_like_info(text, ext):
        read = Markup(*info_markdown(text), "info")
        parts = indirect_parts(text)
        if parts and not read.text.strip():
            raise IngestError(source, f"an Info manual's table of its parts ({', '.join(parts[:4])}): they hold its "
                                      "text and are indexed where they lie")
        return read
    if looks_like_roff(text, ext):
        read = Markup(*roff_markdown(text), "man")
        if not read.text.strip():
            raise IngestError(source, "a manual page with no words of its own (an alias: `.so` names the page it "
                                      "shows, which is indexed where it lies)")
        return read
    return None


__all__ = ["Markup", "read_markup"]

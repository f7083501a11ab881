"""AsciiDoc (``.adoc``, ``.asciidoc``: project documentation, books, Antora sites) as Markdown (pure).

AsciiDoc reads well as text, but its markup got into chunks and quoted answers: ``link:https://jetty.org/[Eclipse
Jetty]``, ``xref:install.adoc[the install guide]``, ``:toc: left`` attribute lines, ``// tag::quick[]`` comments,
``[source,java]`` block attributes, ``----`` delimiters. ``asciidoc_markdown`` writes what the rendered page says:
``=`` titles as ``#`` headings (``= Book`` is the document title), links and cross references as their text (a
bare address when it has none), listing and literal blocks fenced (with the ``[source,LANG]`` language), quote
blocks as ``>`` lines, admonitions (``NOTE:``, ``[WARNING]``) as ``Note:``/``Warning:`` words, images as their
alt text, tables as ``a | b`` rows, ``{attribute}`` references replaced by their values, ``*bold*``, ``_italic_``,
`` `mono` `` and ``+passthrough+`` without their marks; comments, attribute entries, anchors, block attribute
lines, conditional directives and ``include::`` (nothing is read from another file) are left out.
"""

from __future__ import annotations

import re

from mmrag.markdown import CELL_BAR, definition

_TITLE = re.compile(r"^(={1,6})\s+(\S.*?)\s*=*\s*$")
_ATTRIBUTE = re.compile(r"^:(!?[\w-]+!?):\s*(.*)$")
_BLOCK_ATTRIBUTES = re.compile(r"^\[(.*)\]\s*$")
_DIRECTIVE = re.compile(r"^(include|ifdef|ifndef|ifeval|endif|toc)::.*\[.*\]\s*$")
_IMAGE = re.compile(r"^image::([^\[\s]*)\[([^\]]*)\]\s*$")
_ADMONITION = re.compile(r"^(NOTE|TIP|IMPORTANT|WARNING|CAUTION):\s+(.*)$")
_TERM = re.compile(r"^\s*([^\s:][^\n]{0,160}?)(?::{2,4}|;;)(?:\s+(\S.*))?$")  # dialout:: Full and direct ...
# possessive runs (``{1,300}+``): tried once from each word, never given back a character at a time (40,000
# ``<dt>a</dt>`` on a line took 4.2 s with the run backtracking, 0.27 s without; the matches are the same)
_LINK = re.compile(r"\b(?:link:|xref:|mailto:)?((?:https?|ftp|file)://[^\s\[]{1,2000}+|[^\s\[:]{1,300}+)"
                   r"\[([^\]\n]{0,500})\]")
_XREF = re.compile(r"<<([^,>]{1,300})(?:,\s*([^>]{1,300}))?>>")
_INLINE_IMAGE = re.compile(r"\bimage:[^\[\s]{0,300}\[([^\]\n]{0,500})\]")
_ANCHOR = re.compile(r"\[\[[^\]\n]{0,300}\]\]|\[#[\w-]+\]")
_PASS = re.compile(r"\+\+?([^+\n]{1,300}?)\+\+?")
_MARKS = re.compile(r"(?<![\w*_`#])([*_`#]{1,2})(?=\S)([^\n]{0,300}?\S)\1(?![\w*_`#])")
# (spans bounded, as in the other patterns: a line of thousands of "*x" would otherwise be rescanned from each one)
_DELIMITERS = {"----": "listing", "....": "literal", "____": "quote", "====": "example", "****": "sidebar",
               "|===": "table", "////": "comment", "++++": "pass", "--": "open"}


def looks_like_asciidoc(ext: str) -> bool:
    """Whether a file is AsciiDoc (``.adoc``, ``.asciidoc``, ``.asc`` is not: PGP armour uses it)."""
    return ext.lower() in (".adoc", ".asciidoc")


def inline(line: str, attributes: dict[str, str]) -> str:
    """A line's attribute references, links, cross references, images and marks as words (pure)."""
    line = re.sub(r"\{([\w-]+)\}", lambda m: attributes.get(m.group(1).lower(), m.group(0)), line)
    line = _INLINE_IMAGE.sub(lambda m: m.group(1).split(",")[0], line)
    line = _LINK.sub(lambda m: (m.group(2).split(",")[0].strip('"') or m.group(1)) if ":" in m.group(0) or
                     m.group(1).endswith(".adoc") or "#" in m.group(1) else m.group(0), line)
    line = _XREF.sub(lambda m: (m.group(2) or m.group(1).replace("-", " ")).strip(), line)
    line = _ANCHOR.sub("", line)
    line = _PASS.sub(lambda m: m.group(1), line)
    return _MARKS.sub(lambda m: m.group(2), line)


def asciidoc_markdown(text: str) -> tuple[str, str | None]:
    """The document as Markdown, and its title (``= Title``, else its first heading; ``None`` without one) (pure)."""
    out: list[str] = []
    attributes: dict[str, str] = {}
    title: str | None = None
    block = ""  # the open delimited block's kind
    delimiter = ""
    pending_language = ""
    pending_admonition = ""
    pending_term = ""  # a labeled list's term whose text is on the next line ("fax::" then "  Allows ...")
    for raw in text.lstrip("\ufeff").replace("\r\n", "\n").split("\n"):
        line = raw.rstrip()
        if block:
            if line == delimiter:
                if block in ("listing", "literal"):
                    out.append("```")
                block = delimiter = ""
                continue
            if block == "comment" or block == "pass":
                continue
            if block in ("listing", "literal"):
                out.append(raw)
            elif block == "table":
                cells = [inline(c.strip(), attributes) for c in line.split("|")[1:]] if line.startswith("|") else []
                if cells:
                    out.append(CELL_BAR.join(c for c in cells if c))
                elif line.strip():
                    out.append(inline(line, attributes))
            elif block == "quote":
                out.append(f"> {inline(line, attributes)}" if line.strip() else "")
            else:
                out.append(inline(line, attributes))
            continue
        if pending_term and (line in _DELIMITERS or _TITLE.match(line)):  # a term with no text before a block
            out.append(pending_term)
            pending_term = ""
        if line in _DELIMITERS or (len(line) >= 4 and line[:4] in _DELIMITERS and line == line[0] * len(line)):
            delimiter, block = line, _DELIMITERS.get(line, _DELIMITERS.get(line[:4], "open"))
            if block in ("listing", "literal"):
                out.append(f"```{pending_language}")
            elif pending_admonition and block == "example":
                out.append(f"{pending_admonition}:")
            pending_language = pending_admonition = ""
            continue
        if line.startswith("//"):
            continue
        attribute = _ATTRIBUTE.match(line)
        if attribute:
            name = attribute.group(1).strip("!").lower()
            attributes[name] = inline(attribute.group(2), attributes)
            continue
        heading = _TITLE.match(line)
        if heading:
            level = len(heading.group(1))
            words = inline(heading.group(2), attributes)
            if level == 1 and title is None:
                title = words
            out.extend(["", f"{'#' * level} {words}", ""])
            continue
        if _DIRECTIVE.match(line):
            continue
        image = _IMAGE.match(line)
        if image:
            alt = image.group(2).split(",")[0].strip('"')
            if alt:
                out.append(inline(alt, attributes))
            continue
        attrs = _BLOCK_ATTRIBUTES.match(line)
        if attrs and not line.startswith("[["):
            first = attrs.group(1).split(",")
            if first[0] in ("source", "listing") and len(first) > 1:
                pending_language = first[1].strip()
            elif first[0].upper() in ("NOTE", "TIP", "IMPORTANT", "WARNING", "CAUTION"):
                pending_admonition = first[0].capitalize()
            continue
        if line.startswith("[[") and line.endswith("]]"):
            continue
        admonition = _ADMONITION.match(line)
        if admonition:
            line = f"{admonition.group(1).capitalize()}: {admonition.group(2)}"
        term = _TERM.match(line) if "::" in line or ";;" in line else None
        if term:  # a labeled list's item: "term: its text", a paragraph of its own; its text may come on the next line
            pending_term = inline(term.group(1).strip(), attributes)
            if term.group(2):
                out.extend(["", definition(pending_term, inline(term.group(2), attributes))])
                pending_term = ""
            continue
        line = inline(line.rstrip(" +"), attributes)  # a trailing " +" is a hard line break
        if pending_term:
            if line.strip():
                out.extend(["", definition(pending_term, line)])
                pending_term = ""
            continue
        out.append(line)
    if block in ("listing", "literal"):
        out.append("```")
    if pending_term:
        out.append(pending_term)
    body = re.sub(r"\n{3,}", "\n\n", "\n".join(ln.rstrip() for ln in out)).strip("\n")
    if title is None:
        title = next((ln.lstrip("# ") for ln in body.splitlines() if ln.startswith("#")), None)
    return (body + "\n" if body else ""), title


__all__ = ["asciidoc_markdown", "inline", "looks_like_asciidoc"]

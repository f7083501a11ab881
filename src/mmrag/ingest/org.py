"""Org-mode notes (``.org``: Emacs, org-roam, Orgzly, Logseq's org files) as Markdown (pure).

An Org file is readable as text, but a note-taker's files carry what no search should match or quote: org-roam's
``:PROPERTIES:`` drawer with a UUID at the top of every note, ``:LOGBOOK:`` clock lines, ``#+startup:`` settings,
and links written ``[[id:536afe10-...][the note it points at]]``. ``org_markdown`` keeps what the note says:
``#+title:`` as the title, headlines as ``#`` headings (their TODO keyword, priority and tags kept as words:
``## TODO Call the dentist (health)``), ``SCHEDULED:``/``DEADLINE:`` as words, links as their description (or
their address when they have none; an ``id:`` link with none says nothing), source and example blocks as fenced
code, quotes as ``>`` lines, tables without their rule lines, ``=verbatim=``/``~code~`` and ``*bold*`` without their
marks; property and logbook drawers, comments and settings are left out.
"""

from __future__ import annotations

import re

from mmrag.markdown import definition

_DESCRIPTION_ITEM = re.compile(r"^\s*(?:[-+]|\s\*)\s+(\S[^\n]{0,160}?)\s+::(?:\s+(\S.*))?\s*$")
_KEYWORD = re.compile(r"^\s*#\+(\w+):\s*(.*)$")
_HEADLINE = re.compile(r"^(\*+)\s+(.*?)\s*$")
_TAGS = re.compile(r"\s+(:[\w@#%:]+:)\s*$")
_PRIORITY = re.compile(r"\[#([A-Za-z0-9])\]\s*")
_LINK = re.compile(r"\[\[([^\]\n]{1,1000})\](?:\[([^\]\n]{0,1000})\])?\]")
_PLANNING = re.compile(r"\b(SCHEDULED|DEADLINE|CLOSED):\s*[<\[]([^>\]\n]{1,100})[>\]]")
_DRAWER_START = re.compile(r"^\s*:(PROPERTIES|LOGBOOK):\s*$", re.IGNORECASE)
_DRAWER_END = re.compile(r"^\s*:END:\s*$", re.IGNORECASE)
_BLOCK = re.compile(r"^\s*#\+(begin|end)_(\w+)\s*(.*)$", re.IGNORECASE)
_EMPHASIS = re.compile(r"(?<![\w*=~])([=~*])(?=\S)([^\n]{0,300}?\S)\1(?![\w*=~])")
# (spans bounded: a line of thousands of "[[" or "*a" would otherwise be rescanned from each one)
_KEPT_KEYWORDS = {"author": "Author", "date": "Date", "filetags": "Tags", "description": "Description",
                  "subtitle": "Subtitle", "email": "Email"}


def looks_like_org(ext: str) -> bool:
    """Whether a file is an Org document (``.org``)."""
    return ext.lower() == ".org"


def _link(m: re.Match[str]) -> str:
    target, description = m.group(1), m.group(2)
    if description:
        return description
    if target.startswith(("id:", "#", "*")):
        return ""  # a pointer to another note or headline: nothing to read without its description
    return target.removeprefix("file:")


def inline(line: str) -> str:
    """A line's links, emphasis marks and planning stamps as words (pure)."""
    line = _LINK.sub(_link, line)
    line = _PLANNING.sub(lambda m: f"{m.group(1).capitalize()}: {m.group(2)}", line)
    return _EMPHASIS.sub(lambda m: m.group(2), line)


def _headline(level: int, rest: str) -> str:
    tags = _TAGS.search(rest)
    words = rest[: tags.start()] if tags else rest
    words = _PRIORITY.sub("", words)
    named = ", ".join(t for t in tags.group(1).split(":") if t) if tags else ""
    heading = inline(words).strip()
    return f"{'#' * min(level, 6)} {heading}" + (f" ({named})" if named else "")


def org_markdown(text: str) -> tuple[str, str | None]:
    """The note as Markdown and its ``#+title:`` (``None`` without one) (pure)."""
    out: list[str] = []
    title: str | None = None
    drawer = False
    block = ""  # the open block's kind ("src", "example", "quote", ...), "" when none
    for raw in text.lstrip("\ufeff").replace("\r\n", "\n").split("\n"):
        if drawer:
            drawer = not _DRAWER_END.match(raw)
            continue
        if not block and _DRAWER_START.match(raw):
            drawer = True
            continue
        found = _BLOCK.match(raw)
        if found:
            kind = found.group(2).lower()
            if found.group(1).lower() == "begin" and not block:
                block = kind
                if kind in ("src", "example", "export"):
                    language = found.group(3).split()[0] if kind == "src" and found.group(3).split() else ""
                    out.append(f"```{language}")
            elif found.group(1).lower() == "end" and kind == block:
                if block in ("src", "example", "export"):
                    out.append("```")
                block = ""
            continue
        if block in ("src", "example", "export"):
            out.append(raw[1:] if raw.startswith((",*", ",#")) else raw)  # Org escapes a line that would be a headline
            continue
        keyword = _KEYWORD.match(raw)
        if keyword:
            key, value = keyword.group(1).lower(), keyword.group(2).strip()
            if key == "title" and title is None:
                title = inline(value)
            elif key in _KEPT_KEYWORDS and value:
                shown = ", ".join(t for t in value.split(":") if t.strip()) if key == "filetags" else inline(value)
                out.append(f"{_KEPT_KEYWORDS[key]}: {shown}")
            continue
        if re.match(r"^\s*#(\s|$)", raw):  # a comment line
            continue
        headline = _HEADLINE.match(raw)
        if headline and not raw.startswith(" "):
            out.extend(["", _headline(len(headline.group(1)), headline.group(2)), ""])
            continue
        if re.match(r"^\s*\|[-+]+\|?\s*$", raw):  # a table's rule line
            continue
        item = _DESCRIPTION_ITEM.match(raw) if " :: " in raw or raw.rstrip().endswith(" ::") else None
        if item:  # a description list's item ("- dialout :: Full and direct ..."): "term: text", apart
            out.extend(["", definition(inline(item.group(1)), inline(item.group(2) or ""))])
            continue
        line = re.sub(r"^(\s*): ", r"\1", raw)  # a fixed-width line's mark
        line = inline(line)
        out.append(f"> {line.strip()}" if block == "quote" and line.strip() else line)
    body = re.sub(r"\n{3,}", "\n\n", "\n".join(out)).strip("\n")
    if title:
        body = f"# {title}\n\n{body}" if body else f"# {title}"
    return (body + "\n" if body else ""), title


__all__ = ["inline", "looks_like_org", "org_markdown"]

"""GNU Info manuals (``sed.info.gz``, ``find.info-1.gz``) as Markdown (pure).

An Info file is a manual's text cut into nodes by ``\\x1f``: each node opens with a navigation line (``File:
sed.info,  Node: Introduction,  Next: Invoking sed,  Up: Top``), its title is underlined (``*****``, ``=====``,
``-----``, ``.....``), and it may end with a menu (``* Menu:``, then ``* Node name::  description``) of the nodes
below it; the last nodes are indexes (menus of hundreds of entries) and a tag table of byte offsets. Indexed as
plain text, the navigation lines, menus and index entries crowded every chunk and answered nothing.
``info_markdown`` keeps what a reader of the manual reads: titles as ``#``-``####`` headings, the text, cross
references as print shows them (``*Note Regexp Addresses::`` → ``See Regexp Addresses``, ``(*note BRE::)`` →
``(see BRE)``, ``*note BRE::`` → ``BRE``); navigation lines, menus, index
nodes, the tag table, the preamble (``This is sed.info, produced by makeinfo``) and makeinfo's image and index
markers are left out.
"""

from __future__ import annotations

import re

from mmrag.markdown import definition, literal

_INFO_EXT = re.compile(r"^\.info(?:-[0-9]+)?$", re.IGNORECASE)
_NODE_LINE = re.compile(r"^File: [^,\n]+,\s+Node: ", re.MULTILINE)
_UNDERLINE = {"*": "#", "=": "##", "-": "###", ".": "####"}
_NOTE = re.compile(r"\*[Nn]ote[ \t\n]+([^:]{1,200}?)::|\*[Nn]ote[ \t\n]+([^:]{1,200}?):[ \t\n]*(?:\([^)]{0,100}\))?[^.,]{0,200}?[.,]")
# (every part bounded: a file of "*note" with no colon would otherwise be scanned to its end from each one)
_MARKER = re.compile(r"\x00\x08\[[^\x00]*\x00\x08\]")  # makeinfo's [image src=...] and [index] markers
_SPECIAL_NODES = ("Tag Table:", "End Tag Table", "Indirect:", "Local Variables:")


def is_info_name(ext: str) -> bool:
    """Whether a file name's last suffix is an Info manual's (``.info``, ``.info-2``)."""
    return bool(_INFO_EXT.match(ext))


def looks_like_info(text: str, ext: str) -> bool:
    """Whether ``text`` is an Info manual: named as one (or saying makeinfo made it) with a node's navigation line
    (or the table of its part files) after a ``\\x1f`` in its first 64 KB."""
    head = text[:65536]
    named = is_info_name(ext) or head.startswith("This is ") and "produced by makeinfo" in head[:300]
    return named and "\x1f" in head and (bool(_NODE_LINE.search(head)) or "\x1f\nIndirect:" in head)


def indirect_parts(text: str) -> list[str]:
    """The part files an Info manual's table names (``find.info-1`` ...; the file holds no text of its own), else
    ``[]`` (pure)."""
    found = re.search(r"\x1f\nIndirect:\n(.*?)(?:\x1f|\Z)", text, re.DOTALL)
    return [line.split(":")[0] for line in found.group(1).splitlines() if ":" in line] if found else []


def _heading(line: str, rule: str) -> str | None:
    """``# Title`` when ``rule`` underlines ``line`` (one character repeated, about as long), else ``None``."""
    rule = rule.rstrip()
    title = line.strip()
    if not title or len(rule) < 2 or rule[0] not in _UNDERLINE or rule != rule[0] * len(rule):
        return None
    if abs(len(rule) - len(line.rstrip())) > 2:
        return None
    return f"{_UNDERLINE[rule[0]]} {title}"


def _node_body(node: str) -> list[str]:
    """A node's lines as Markdown: its navigation line and menu gone, its title a heading."""
    lines = node.split("\n")
    if lines and _NODE_LINE.match(lines[0]):
        lines = lines[1:]
    out: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("* Menu:"):  # a menu runs to the end of its node: the nodes below, not words to read
            break
        if i + 1 < len(lines) and (heading := _heading(line, lines[i + 1])):
            out.extend(["", heading, ""])
            i += 2
            continue
        item = _table_item(lines, i, lines[i - 1] if i else "")
        if item:  # a @table's item: "'-k', '--keep': Don't delete ...", a paragraph of its own
            terms, first, i = item
            out.extend(["", literal(definition(", ".join(terms), first))])
            continue
        out.append(literal(line))  # an example's "# make install" is no heading
        i += 1
    return out


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _table_item(lines: list[str], i: int, before: str) -> tuple[list[str], str, int] | None:
    """A two-column table's item at ``lines[i]`` as makeinfo writes it: one to three term lines (``'-k'``,
    ``'--keep'``) at the margin, then the description indented five more. ``(terms, the description's first
    line, the index after it)``, else ``None``. The item starts after a blank line or the item before's
    (more indented) description; a term indented past three spaces is left alone (an example's code)."""
    line = lines[i]
    n = _indent(line)
    if n > 3 or not line.strip() or (before.strip() and _indent(before) <= n):
        return None
    j = i
    while j < len(lines) and j - i < 3 and lines[j].strip() and _indent(lines[j]) == n and len(lines[j].strip()) <= 100:
        j += 1
    if j == i or j >= len(lines) or not lines[j].strip() or _indent(lines[j]) < n + 4:
        return None
    terms = [lines[k].strip() for k in range(i, j)]
    if any(t.endswith((".", ":", ";", "{", ",")) for t in terms):
        return None
    return terms, lines[j].strip(), j + 1


def _reference(m: re.Match[str]) -> str:
    """A cross reference as print shows it: @xref's ``*Note X::`` is "See X", @pxref's ``(*note X::)`` is "(see X)",
    @ref's ``*note X::`` elsewhere is the name alone."""
    name = " ".join((m.group(1) or m.group(2)).split())
    # "*note Label: Node." ends at the writer's own stop or comma, or at one makeinfo adds before a ")"
    stop = "" if m.group(1) or m.string[m.end() : m.end() + 1] == ")" else m.group(0)[-1]
    if m.group(0)[1] == "N":
        return f"See {name}{stop}"
    return (f"see {name}" if m.string[max(0, m.start() - 1) : m.start()] == "(" else name) + stop


def info_markdown(text: str) -> tuple[str, str | None]:
    """The manual as Markdown, and its title (the first node's heading; ``None`` when it has none) (pure)."""
    parts = text.replace("\r\n", "\n").split("\x1f")
    out: list[str] = []
    title: str | None = None
    for part in parts[1:]:  # parts[0] is the preamble: makeinfo's line, the copying notice, the dir entry
        node = _MARKER.sub("", part.lstrip("\n"))
        if node.startswith(_SPECIAL_NODES):
            continue
        body = _node_body(node)
        words = [ln for ln in body if ln.strip() and not ln.startswith("#")]
        if not words:  # an index, or a node that is only a menu
            continue
        if title is None:
            title = next((ln.lstrip("# ") for ln in body if ln.startswith("#")), None)
        out.extend(body)
    joined = "\n".join(out)
    joined = _NOTE.sub(_reference, joined)
    joined = re.sub(r"\n{3,}", "\n\n", joined).strip("\n")
    return (joined + "\n" if joined else ""), title


__all__ = ["indirect_parts", "info_markdown", "is_info_name", "looks_like_info"]

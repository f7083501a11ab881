"""reStructuredText (``.rst``: Sphinx and Python documentation, READMEs) as Markdown (pure).

reST reads well as text, but its markup got into every chunk and every quoted answer: roles
(``:func:`os.path.join```, ``:ref:`the install guide <install>```), link syntax (```pip <https://pip.pypa.io>`_``),
``.. code-block:: console`` lines, ``.. _label:`` targets, comments, and titles as a line of ``=====`` under
the words. ``rst_markdown`` writes what the rendered page says: titles as ``#`` headings (levels in the order
the document first uses each underline, as docutils assigns them), roles and links as their text, literal
blocks (``::`` and ``code-block``) fenced with their language, admonitions as ``Note:`` / ``Warning:`` words,
Sphinx tabs as a label line over their content; targets, comments, substitution definitions, ``toctree``,
``include``, ``raw`` and ``auto*`` directives are left out (nothing is read from another file).
"""

from __future__ import annotations

import re

from mmrag.markdown import definition

_ADORNMENT = re.compile(r"^([=\-~^\"'`#*+:._])\1{2,}\s*$")
_DIRECTIVE = re.compile(r"^(\s*)\.\.\s+([\w:.-]+)::\s*(.*)$")
_COMMENT_OR_TARGET = re.compile(r"^(\s*)\.\.(?:\s|$)")
_ROLE = re.compile(r":(?:[\w.+-]{1,40}:){1,4}`([^`]{1,2000})`")  # :func:, :py:meth: (bounded: no rescans)
_LINK = re.compile(r"`([^`<]*?)\s*(?:<([^`>]+)>)?`__?")
_LITERAL = re.compile(r"``([^`]+)``")
_EMPHASIS = re.compile(r"(?<![\w*])(\*{1,2})(?=\S)([^*\n]+?)(?<=\S)\1(?![\w*])")
_SUBSTITUTION = re.compile(r"\|([^|\s][^|]*?)\|(?!_)")
_FENCED = re.compile(r"(^```[^\n]*\n.*?\n```$)", re.DOTALL | re.MULTILINE)  # fences open lines: tried there only
_CODE = {"code-block", "code", "sourcecode", "highlight-block", "doctest", "testcode", "testoutput", "parsed-literal"}
_ADMONITIONS = {"note": "Note", "warning": "Warning", "tip": "Tip", "important": "Important", "caution": "Caution",
                "attention": "Attention", "danger": "Danger", "hint": "Hint", "error": "Error", "seealso": "See also",
                "versionadded": "New in version", "versionchanged": "Changed in version", "deprecated": "Deprecated since version",
                "admonition": "", "topic": "", "sidebar": "", "rubric": ""}
_DROPPED = {"toctree", "include", "literalinclude", "raw", "image", "meta", "contents", "sectnum", "index", "highlight",
            "currentmodule", "module", "default-role", "role", "plot", "graphviz", "mermaid", "tabularcolumns",
            "autosummary", "autoprogram", "click", "argparse"}  # no words of their own, or words from elsewhere
_OPTION_ITEM = re.compile(r"^\s*(-{1,2}[^\s-][^\n]{0,120}?)\s{2,}(\S.*)$")  # -k, --keep  Don't delete ...
_FIELD_ITEM = re.compile(r"^\s*:([^:`\s][^:`]{0,60}):\s+(\S.*)$")  # :Author: Ana (not a :role:`text`)
_LIST_ITEM = re.compile(r"^\s*(?:[-*+•]\s|#\.\s|\d+[.)]\s|\(?[a-zA-Z0-9][.)]\s|\|)")  # bullets, numbers, line blocks
_PLAIN = re.compile(r"^\s*(?!```|#{1,6}\s|[-*+]\s|\.\.\s)\S")  # text, not code, a heading, a list or a directive
_ENTRIES = {"function", "class", "method", "attribute", "data", "exception", "decorator", "property", "option",
            "cmdoption", "envvar", "describe", "object", "program", "confval", "setting"}  # a name, then what it is


def looks_like_rst(ext: str) -> bool:
    """Whether a file is reStructuredText (``.rst``, ``.rest``)."""
    return ext.lower() in (".rst", ".rest")


def inline(line: str) -> str:
    """A line's roles, links, literals, emphasis and substitutions as their words (pure)."""

    def role(m: re.Match[str]) -> str:
        text = m.group(1)
        named = re.match(r"^(.*?)\s*<[^>]+>$", text, re.DOTALL)  # :ref:`the guide <label>`
        text = named.group(1) if named and named.group(1) else text
        return text.lstrip("~!")

    line = _ROLE.sub(role, line)
    line = _LITERAL.sub(lambda m: m.group(1), line)
    line = _LINK.sub(lambda m: m.group(1).strip() or (m.group(2) or "").strip(), line)  # `<url>`__: the address
    line = _EMPHASIS.sub(lambda m: m.group(2), line)
    return _SUBSTITUTION.sub(lambda m: m.group(1), line)


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" \t"))


def _block(lines: list[str], start: int, parent: int) -> tuple[list[str], int]:
    """The lines indented more than ``parent`` from ``start`` (blank lines inside kept), and where they end."""
    body: list[str] = []
    i = start
    while i < len(lines) and (not lines[i].strip() or _indent(lines[i]) > parent):
        body.append(lines[i])
        i += 1
    while body and not body[-1].strip():
        body.pop()
    first = next((k for k, b in enumerate(body) if b.strip()), len(body))
    return body[first:], i


def _dedent(body: list[str]) -> list[str]:
    cut = min((_indent(b) for b in body if b.strip()), default=0)
    return [b[cut:] if b.strip() else "" for b in body]


MAX_NESTING = 40  # directives inside directives deeper than this are read as plain lines (a hostile file recursed)


def _convert(lines: list[str], styles: list[tuple[str, bool]], titles: list[str], depth: int = 0) -> list[str]:
    """Markdown lines for reST ``lines`` (a directive's body is converted the same way, dedented, down to
    ``MAX_NESTING`` levels; below that its lines are kept as words)."""
    if depth > MAX_NESTING:
        return [inline(line) for line in lines]
    out: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        # a title: [overline] words underline
        over = bool(_ADORNMENT.match(line)) and i + 2 < len(lines) and bool(_ADORNMENT.match(lines[i + 2])) \
            and lines[i + 1].strip() != "" and lines[i + 2].strip()[0] == line.strip()[0]
        under = not over and line.strip() and i + 1 < len(lines) and bool(_ADORNMENT.match(lines[i + 1])) \
            and len(lines[i + 1].rstrip()) >= len(line.rstrip()) - 2 and not _ADORNMENT.match(line) and _indent(line) == 0
        if over or under:
            words = lines[i + 1].strip() if over else line.strip()
            style = ((lines[i + 2] if over else lines[i + 1]).strip()[0], over)
            if style not in styles:
                styles.append(style)
            heading = inline(words)
            titles.append(heading)
            out.extend(["", f"{'#' * min(styles.index(style) + 1, 6)} {heading}", ""])
            i += 3 if over else 2
            continue
        directive = _DIRECTIVE.match(line)
        if directive:
            indent, name, args = _indent(line), directive.group(2).lower(), directive.group(3).strip()
            name = name.split(":")[-1]  # py:function -> function
            body, i = _block(lines, i + 1, indent)
            body = _dedent(body)
            options = next((k for k, b in enumerate(body) if not re.match(r"^:[\w-]+:", b)), len(body))
            body = body[options:]  # the directive's options
            if name in _CODE:
                language = args.split()[0] if args else ""
                out.extend([f"```{language}", *body, "```"])
            elif name in _DROPPED or name.startswith("auto") or name == "replace":
                pass
            else:
                if name in _ADMONITIONS:  # Note: ..., Deprecated since version 3.2: ...
                    label = _ADMONITIONS[name]
                    head = inline(f"{label} {args}".strip() if label and args else label or args)
                elif name in ("tab", "tab-item", "tab-set", "tabs", "container", "centered", "dropdown", "card"):
                    head = inline(args)  # a tab's label
                elif name in _ENTRIES:
                    head = args  # an API entry's signature, an option's flags
                else:
                    head = ""  # another directive (a figure, a project's own): its body's words, not its arguments
                rest = _convert(body, styles, titles, depth + 1)
                said = any(r.strip() for r in rest)
                first = next((k for k, r in enumerate(rest) if r.strip()), -1)
                if head and name in _ENTRIES and first >= 0 and _PLAIN.match(rest[first]):
                    # an API entry or an option: ".. option:: -k, --keep" over what it does, as one entry
                    out.extend(["", definition(head, rest[first]), *rest[first + 1:], ""])
                    continue
                if head and (said or name not in ("tab", "tab-item")):  # a tab's label over nothing says nothing
                    out.append(f"{head}:" if said and not head.endswith((":", ")")) else head)
                out.extend(rest if said else [])
            continue
        if _COMMENT_OR_TARGET.match(line):  # a comment, a link target or a substitution definition: no words
            _, i = _block(lines, i + 1, _indent(line))
            continue
        if line.rstrip().endswith("::") and not line.strip().startswith(".."):  # a paragraph leading a literal block
            j = i + 1
            while j < len(lines) and not lines[j].strip():
                j += 1
            if j < len(lines) and _indent(lines[j]) > _indent(line):
                lead = line.rstrip()[:-2].rstrip()
                if lead.strip():
                    out.append(inline(lead) + ":")
                body, i = _block(lines, j, _indent(line))
                out.extend(["```", *_dedent(body), "```"])
                continue
        entry = _entry(lines, i)
        if entry:  # a definition, option or field list's item: "term: what it is", a paragraph of its own
            term, text, i = entry
            out.extend(["", definition(inline(term), inline(text))])
            continue
        out.append(inline(re.sub(r"^(\s*)#\.(\s)", r"\1-\2", line)))  # an auto-numbered item: a list item
        i += 1
    return out


def _entry(lines: list[str], i: int) -> tuple[str, str, int] | None:
    """A list item that defines something at ``lines[i]``: ``(term, its text's first line, the next line's
    index)``, else ``None``. An option list's ``-k, --keep  Don't delete ...`` (two spaces apart), a field
    list's ``:Author: Ana``, or a definition list's term over its indented definition (a line followed, with
    no blank line between, by a more indented one: in reST that is a definition, never a paragraph)."""
    line = lines[i]
    found = _OPTION_ITEM.match(line) or _FIELD_ITEM.match(line)
    if found:
        return found.group(1).strip(), found.group(2), i + 1
    nxt = lines[i + 1] if i + 1 < len(lines) else ""
    if (line.strip() and nxt.strip() and _indent(nxt) > _indent(line) and (i == 0 or not lines[i - 1].strip())
            and not _LIST_ITEM.match(line) and not line.rstrip().endswith("::") and _PLAIN.match(nxt.strip())
            and len(line.strip()) <= 160):
        return line.strip(), nxt.strip(), i + 2
    return None


def rst_markdown(text: str) -> tuple[str, str | None]:
    """The document as Markdown, and its title (the first heading; ``None`` without one) (pure)."""
    lines = text.lstrip("\ufeff").replace("\r\n", "\n").replace("\t", "    ").split("\n")
    titles: list[str] = []
    out = _convert(lines, [], titles)
    joined = "\n".join(ln.rstrip() for ln in out)
    # markup broken across a line (:ref:`Using pip from\n your program <...>`): read again outside the code
    joined = "".join(part if part.startswith("```") else inline(part) for part in _FENCED.split(joined))
    body_text = re.sub(r"\n{3,}", "\n\n", joined).strip("\n")
    return (body_text + "\n" if body_text else ""), (titles[0] if titles else None)


__all__ = ["inline", "looks_like_rst", "rst_markdown"]

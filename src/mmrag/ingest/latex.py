"""LaTeX sources (``paper.tex``) as Markdown, read by pylatexenc (pure; pylatexenc is imported when used).

A paper's source indexed as plain text put its markup in every chunk and every quoted answer
(``\\section{Results}\\label{sec:res}``, ``\\cite{keeper2020}``, ``\\begin{itemize}``). ``latex_markdown`` writes what
the typeset paper says, by pylatexenc's ``LatexNodes2Text`` (MIT; a well-kept LaTeX-to-text converter: macros,
environments, accents, math as text) with mmrag's own rules for what a reader and a search need: sectioning
commands as Markdown headings (``\\part``/``\\chapter`` ``#``, ``\\section`` ``##`` ...), ``\\maketitle`` as the title
(not the date of indexing, which pylatexenc would write), citations as their keys (``[keeper2020]``),
cross-references and graphics left out (``<ref>``, ``< g r a p h i c s >``), and the document's ``\\title`` as its
title. Nothing is read from elsewhere: ``\\input`` and ``\\include`` are left as they are, never opened.
"""

from __future__ import annotations

import functools
import re
from typing import Any

_TEX_EXTS = {".tex", ".ltx", ".latex"}
_LATEX_SIGNS = re.compile(r"\\(?:documentclass|documentstyle|begin\{|section\*?\{|chapter\*?\{|title\{|usepackage)")
_HEADINGS = {"part": "#", "chapter": "#", "section": "##", "subsection": "###", "subsubsection": "####",
             "paragraph": "#####", "subparagraph": "######"}
_LATEX_CHARS = re.compile(r"[\\{}~$%&^_]|--|``|''")  # what LaTeX would change in a short value
_LOGOS = {"TeX": "TeX", "LaTeX": "LaTeX", "LaTeXe": "LaTeX2e", "BibTeX": "BibTeX", "XeTeX": "XeTeX", "LuaTeX": "LuaTeX",
          "ConTeXt": "ConTeXt", "AmS": "AMS", "METAFONT": "METAFONT"}  # pylatexenc drops these names
_INNER_SPACES = re.compile(r"(?<=\S) {2,}(?=\S)")  # where a dropped \\ref or \\label left two spaces; indents stay
MAX_CHARS = 8_000_000  # pylatexenc reads ~250,000 characters a second here: a paper is 50-200 KB
MAX_DEPTH = 100  # groups nested deeper than this are not a document a person wrote (pylatexenc recurses ~3 frames a level)


def looks_like_latex(text: str, ext: str) -> bool:
    """Whether ``text`` is a LaTeX document: named ``.tex``/``.ltx``/``.latex`` with a LaTeX command
    (``\\documentclass``, ``\\begin{``, ``\\section{`` ...) in its first 64 KB."""
    return ext.lower() in _TEX_EXTS and bool(_LATEX_SIGNS.search(text[:65536]))


def _deepest(text: str) -> int:
    depth = deepest = 0
    for ch in re.sub(r"\\.", "", text):
        if ch == "{":
            depth += 1
            deepest = max(deepest, depth)
        elif ch == "}":
            depth = max(0, depth - 1)
    return deepest


def latex_text(value: str) -> str:
    """A short piece of LaTeX (a BibTeX field: ``M{\\"u}ller``, ``The {\\TeX}book``, ``18\\%``) as text (pure). A value with
    no LaTeX in it is returned as it is (most fields of a bibliography: thousands of them a file)."""
    if not _LATEX_CHARS.search(value):
        return value
    if _deepest(value) > MAX_DEPTH:
        return value
    return str(_short_converter().latex_to_text(value)).replace("\xa0", " ")


@functools.cache
def _short_converter() -> Any:
    """One converter for ``latex_text`` (building pylatexenc's macro tables took ~1 ms a call)."""
    from pylatexenc.latex2text import LatexNodes2Text, MacroTextSpec, get_default_latex_context_db

    context = get_default_latex_context_db()
    context.add_context_category("logos", macros=[MacroTextSpec(n, simplify_repl=t) for n, t in _LOGOS.items()], prepend=True)
    return LatexNodes2Text(latex_context=context, math_mode="text")


def latex_markdown(text: str) -> tuple[str, str | None]:
    """The document as Markdown and its ``\\title`` (``None`` without one). Raises ``ValueError`` for a document
    nested too deep to be read."""
    if len(text) > MAX_CHARS:
        raise ValueError(f"{len(text) / 1e6:.0f} million characters, more than the {MAX_CHARS // 10**6} million read as "
                         "LaTeX (about 30 s); split it into chapters with \\include")
    if _deepest(text) > MAX_DEPTH:
        raise ValueError(f"braces nested more than {MAX_DEPTH} deep")
    from pylatexenc.latex2text import LatexNodes2Text, MacroTextSpec, get_default_latex_context_db

    found: dict[str, str] = {}

    def arg_text(node: Any, l2tobj: Any) -> str:
        args = [a for a in (node.nodeargd.argnlist if node.nodeargd else []) if a is not None]
        return " ".join(str(l2tobj.nodelist_to_text([args[-1]])).split()) if args else ""

    def heading(level: str) -> Any:
        return lambda node, l2tobj: f"\n\n{level} {arg_text(node, l2tobj)}\n\n"

    def title(node: Any, l2tobj: Any) -> str:
        found["title"] = arg_text(node, l2tobj)
        return ""

    def cite(node: Any, l2tobj: Any) -> str:
        keys = arg_text(node, l2tobj)
        return f"[{', '.join(k.strip() for k in keys.split(','))}]" if keys else ""

    macros = [MacroTextSpec(name, simplify_repl=heading(level)) for name, level in _HEADINGS.items()]
    macros += [MacroTextSpec(name, simplify_repl=shown) for name, shown in _LOGOS.items()]
    macros += [
        MacroTextSpec("title", simplify_repl=title),
        MacroTextSpec("maketitle", simplify_repl=lambda node, l2tobj: f"# {found['title']}\n\n" if found.get("title") else ""),
        MacroTextSpec("date", simplify_repl=""),
        MacroTextSpec("today", simplify_repl=""),
        *(MacroTextSpec(name, simplify_repl=cite) for name in ("cite", "citep", "citet", "parencite", "textcite", "autocite")),
        *(MacroTextSpec(name, simplify_repl="") for name in ("ref", "eqref", "pageref", "autoref", "cref", "Cref", "label",
                                                              "includegraphics", "input", "include", "bibliography",
                                                              "bibliographystyle", "thanks")),
    ]
    context = get_default_latex_context_db()
    context.add_context_category("mmrag", macros=macros, prepend=True)
    out = str(LatexNodes2Text(latex_context=context, math_mode="text", strict_latex_spaces=True).latex_to_text(text))
    out = out.replace("\xa0", " ")  # ~ ties words for a typesetter; for search it is a space
    out = "\n".join(_INNER_SPACES.sub(" ", line.rstrip()) for line in out.splitlines())
    out = re.sub(r"\n{3,}", "\n\n", out).strip("\n")
    return (out + "\n" if out else ""), found.get("title") or None


__all__ = ["MAX_CHARS", "MAX_DEPTH", "latex_markdown", "latex_text", "looks_like_latex"]

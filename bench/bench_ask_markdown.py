"""Does ``ask`` answer from a Markdown file's section? A section's title asked about, its first sentence the answer.

READMEs, changelogs, guides and notes are Markdown, and a good share of them underline their titles (setext:
``Install`` over ``-------``) rather than marking them (ATX: ``## Install``). This bench takes real Markdown files
(what a Debian machine has under ``/usr/share/doc`` and ``/usr/lib``; identical copies once; none was used to tune
anything), reads their headings with markdown-it-py (the CommonMark parser ``rich`` already installs: the gold
does not depend on mmrag's reader), and for each section whose first block is a paragraph asks "What does DOC say
about TITLE?" (DOC: the file's level-1 heading when it is its first block, else its folder's name); the gold answer is that
paragraph's first sentence. It indexes the files with the real MiniLM space in a real LanceDB folder, asks
through ``Engine.ask`` with the ``extractive`` generator (the offline default), and counts, for sections under
setext and under ATX headings apart:

- *answer in context*: some retrieved chunk holds the gold sentence (the ceiling for any generator);
- *first quote right* / *any quote right*: the answer's first / some quoted sentence is the gold one.

Sections whose title is not unique in its file, has no word of three letters, or whose first sentence is not a
sentence (6+ words, a capital first, a full stop last) are left out; up to ``--per-doc`` a file, spread evenly.

    python bench/bench_ask_markdown.py /usr/share/doc /usr/lib
    python bench/bench_ask_markdown.py /usr/share/doc /usr/lib --src /path/to/other/checkout/src   # other code

Not a test: prints a markdown table and writes JSON.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import statistics
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from answer_quotes import ask_each, extractive_index, norm
from checkout import add_src, use_src

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

SUFFIXES = (".md", ".markdown")
SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z])")
LINK = re.compile(r"!?\[([^\]\n]*)\]\([^)\n]*\)")
TAG = re.compile(r"<[^<>\n]{1,300}>")
WORD3 = re.compile(r"[A-Za-z]{3}")


@dataclass(frozen=True)
class Question:
    doc: str  # the file's name in the index folder
    kind: str  # "setext" or "atx"
    title: str
    question: str
    gold: str


def plain(inline: Any) -> str:  # a markdown-it inline token
    """An inline token's words as they read: text and code, breaks as spaces, links as their text."""
    parts = []
    for child in inline.children or []:
        if child.type in ("text", "code_inline"):
            parts.append(child.content)
        elif child.type in ("softbreak", "hardbreak"):
            parts.append(" ")
    return " ".join("".join(parts).split())


def questions_of(text: str, name: str, folder: str, per_doc: int) -> list[Question]:
    from markdown_it import MarkdownIt  # the gold's reader: CommonMark, not mmrag's

    tokens = MarkdownIt("commonmark").parse(text)
    heads = [(i, t) for i, t in enumerate(tokens) if t.type == "heading_open"]
    h1 = plain(tokens[1]) if heads and heads[0][0] == 0 and heads[0][1].tag == "h1" else ""  # the file's first block
    doc = h1 if WORD3.search(h1) and len(h1) <= 60 else folder
    titles = [plain(tokens[i + 1]) for i, _ in heads]
    out = []
    for (i, t), title in zip(heads, titles, strict=True):
        if t.level != 0 or t.tag == "h1" and title == h1 or titles.count(title) != 1 or not WORD3.search(title):
            continue
        nxt = tokens[i + 3] if i + 4 < len(tokens) else None  # heading_open, inline, heading_close, then the next block
        if nxt is None or nxt.type != "paragraph_open" or nxt.level != t.level:
            continue
        first = SENTENCE_END.split(plain(tokens[i + 4]), 1)[0]
        if len(first.split()) >= 6 and len(first) <= 400 and first[:1].isupper() and first.endswith("."):
            kind = "setext" if t.markup in ("=", "-") else "atx"
            out.append(Question(name, kind, title, f"What does {doc} say about {title}?", first))
    step = max(1, len(out) / per_doc)
    return [out[int(i * step)] for i in range(min(per_doc, len(out)))]


def collect(roots: list[Path], max_kb: int, per_doc: int, max_docs: int,
            exclude: tuple[str, ...] = ()) -> tuple[dict[str, str], list[Question]]:
    """The files to index (name in the index folder -> text) and their questions: every Markdown file under the
    roots (identical copies once; none whose path holds one of ``exclude``), in path order, those with a setext
    question first up to half the files."""
    seen, files = set(), []
    for root in roots:
        for path in sorted(root.rglob("*")):
            if path.suffix.lower() not in SUFFIXES or any(x in str(path) for x in exclude) or not path.is_file():
                continue
            data = path.read_bytes()
            digest = hashlib.sha1(data).hexdigest()
            if digest in seen or len(data) > max_kb * 1024:
                continue
            seen.add(digest)
            files.append((path, data.decode("utf-8", "replace")))
    docs: dict[str, str] = {}
    questions: list[Question] = []
    with_setext = []
    atx_only = []
    for n, (path, text) in enumerate(files):
        name = f"{n:04d}-{path.parent.name}-{path.name}"
        qs = questions_of(text, name, path.parent.name, per_doc)
        if qs:
            (with_setext if any(q.kind == "setext" for q in qs) else atx_only).append((name, text, qs))
    for name, text, qs in with_setext[: max_docs // 2] + atx_only[: max_docs - min(len(with_setext), max_docs // 2)]:
        docs[name] = text
        questions += qs
    return docs, questions


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("roots", type=Path, nargs="+", help="folders to take Markdown files from")
    ap.add_argument("--per-doc", type=int, default=12, help="at most this many sections a file")
    ap.add_argument("--max-docs", type=int, default=160, help="at most this many files (half with setext headings)")
    ap.add_argument("--max-kb", type=int, default=200, help="files larger than this are left out")
    ap.add_argument("--exclude", action="append", default=[],
                    help="leave out files whose path holds this (repeatable): a collection kept for held-out measurement")
    add_src(ap)
    ap.add_argument("--json", type=Path, default=Path(".cache/bench_ask_markdown.json"))
    args = ap.parse_args()
    docs, questions = collect(args.roots, args.max_kb, args.per_doc, args.max_docs, tuple(args.exclude))
    use_src(args.src)
    import mmrag

    rows, times = [], []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "docs"
        folder.mkdir()
        for name, text in docs.items():
            (folder / name).write_text(text, encoding="utf-8")
        engine, add_s = extractive_index(mmrag, Path(tmp), folder)
        for q, asked in zip(questions, ask_each(engine, (q.question for q in questions)), strict=True):
            times.append(asked.seconds)
            ans, gold = asked.answer, norm(q.gold)[:40]
            in_context = any(gold in norm(TAG.sub("", LINK.sub(r"\1", h.text or ""))) for h in ans.context)
            rows.append({"doc": q.doc, "kind": q.kind, "question": q.question, "gold": q.gold, "answer": ans.text,
                         "in_context": in_context, **asked.quoted(q.gold),
                         "same_doc_first": bool(ans.context) and ans.context[0].source.endswith(q.doc),
                         "context": [h.label() for h in ans.context]})
        engine.close()
    print(f"\nsource measured: {args.src}; {len(docs)} files, {sum(map(len, docs.values())) / 1e6:.1f} MB; add {add_s:.0f} s")
    print("| headings | questions | answer in context | first quote right | any quote right | first source its file | ask median |")
    print("|---|---|---|---|---|---|---|")
    for kind in ("setext", "atx", "all"):
        sel = [(r, t) for r, t in zip(rows, times, strict=True) if kind in ("all", r["kind"])]
        if not sel:
            continue
        n = len(sel)
        print(f"| {kind} | {n} | " + " | ".join(f"{sum(r[k] for r, _ in sel) / n:.3f}" for k in ("in_context", "first", "any", "same_doc_first"))
              + f" | {statistics.median(t for _, t in sel) * 1000:.0f} ms |")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()

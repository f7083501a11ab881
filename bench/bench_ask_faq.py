"""Does ``ask`` quote the answer? Real questions with known answers: the Python and Debian FAQs.

The Python documentation's FAQ (Debian ``python3.11-doc``: ``usr/share/doc/python3.11/html/_sources/faq/*.rst.txt``)
and the Debian FAQ (``debian-faq``) are a few hundred real questions, each followed by its answer. This bench writes them as plain text
documents, indexes them with the real MiniLM space in a real LanceDB folder, asks every question through
``Engine.ask`` with the ``extractive`` generator (the offline default) and checks what the answer quotes:

- *answer in context*: some retrieved chunk holds a sentence of the right answer (the ceiling for any generator);
- *first quote right*: the answer's first quoted sentence is a sentence of the right answer;
- *any quote right*: one of its quoted sentences is;
- *echoes a question*: the first quote is a question heading (only in the variant with headings);
- *declined*: asked again with the default abstention (``ask``'s fitted relevance threshold), it says it
  cannot answer from the index. Every question here has its answer indexed, so each decline is a miss.

Two variants of the documents: ``answers`` (the answers alone, as paragraphs) and ``headings`` (the FAQ as
written, each question a heading above its answer: quoting the heading back is not an answer). A third,
``pages``, indexes the FAQs as published, the HTML pages the same packages ship (``--faq-html``,
``--debian-faq-html``: Sphinx's pages with their sidebars and ``¶`` links, the Debian FAQ's DocBook pages),
and asks the same questions against the same answers.

    apt-get download python3.11-doc && dpkg -x python3.11-doc_*.deb /tmp/pydoc
    apt-get download debian-faq && dpkg -x debian-faq_*.deb /tmp/debfaq
    python bench/bench_ask_faq.py --faq /tmp/pydoc/usr/share/doc/python3.11/html/_sources/faq \\
        --debian-faq /tmp/debfaq/usr/share/doc/debian/FAQ/debian-faq.en.txt.gz \\
        --faq-html /tmp/pydoc/usr/share/doc/python3.11/html/faq --debian-faq-html /tmp/debfaq/usr/share/doc/debian/FAQ
    python bench/bench_ask_faq.py ... --src /path/to/other/checkout/src   # the same questions, other code

Not a test: prints a markdown table and writes JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from answer_quotes import norm, quotes
from checkout import add_src, use_src

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

TITLE_RULE = re.compile(r"^([=\-~^\"'`#*+]{3,})\s*$")
ROLE = re.compile(r":[a-z]+(?::[a-z]+)?:`(?:[^`<]*<)?([^`>]+)>?`")
LINK = re.compile(r"`([^`<]+?)\s*<[^`>]+>`__?")


@dataclass(frozen=True)
class Faq:
    file: str
    question: str
    answer: str  # plain text, paragraphs separated by blank lines


def clean(line: str) -> str:
    """rst inline markup -> plain words (roles, links, literals, emphasis)."""
    line = ROLE.sub(r"\1", line)
    line = LINK.sub(r"\1", line)
    return line.replace("``", "").replace("**", "").replace("*", "")


def parse(path: Path) -> list[Faq]:
    """``(question, answer)`` for every section whose title ends in ``?``."""
    lines = path.read_text(encoding="utf-8").splitlines()
    sections: list[tuple[str, list[str]]] = []
    title, body = "", []
    i = 0
    while i < len(lines):
        nxt = lines[i + 1] if i + 1 < len(lines) else ""
        if lines[i].strip() and TITLE_RULE.match(nxt) and len(nxt.strip()) >= len(lines[i].strip()) - 2:
            sections.append((title, body))
            title, body = lines[i].strip(), []
            i += 2
            continue
        if not TITLE_RULE.match(lines[i]):
            body.append(lines[i])
        i += 1
    sections.append((title, body))
    out = []
    for title, body in sections:
        text, skip = [], False
        for line in body:
            if line.startswith(".. "):  # directives (contents, index, only ...) and their indented blocks
                skip = True
                continue
            if skip and (line.startswith(" ") or not line.strip()):
                continue
            skip = False
            text.append(clean(line.strip()))
        answer = re.sub(r"\n{3,}", "\n\n", "\n".join(text)).strip()
        if title.endswith("?") and len(answer) > 40:
            out.append(Faq(path.name.split(".")[0], clean(title), answer))
    return out


DEBIAN_HEADING = re.compile(r"^\d+(?:\.\d+)+\.\s+(\S.*)$")


def parse_debian(path: Path) -> list[Faq]:
    """The Debian FAQ's plain-text edition (``debian-faq.en.txt.gz``): numbered headings at column 0
    (``1.3. OK, now I know what Debian is... what is Linux?!``, wrapped onto more column-0 lines), answers
    indented below them. Sections whose heading has a question mark."""
    import gzip

    if path.suffix == ".gz":
        with gzip.open(path, "rt", encoding="utf-8") as fh:
            raw = fh.read()
    else:
        raw = path.read_text(encoding="utf-8")
    lines = raw.splitlines()
    out, title, body, in_title = [], "", [], False

    def flush() -> None:
        answer = re.sub(r"\n{3,}", "\n\n", "\n".join(body)).strip()
        if "?" in title and len(answer) > 40:
            out.append(Faq("debian-faq", title, answer))

    for line in lines:
        m = DEBIAN_HEADING.match(line)
        if m:
            if title:
                flush()
            title, body, in_title = m.group(1).strip(), [], True
            continue
        if in_title and line and not line[0].isspace():
            title += " " + line.strip()
            continue
        in_title = False
        if title:
            body.append(line.strip())
    if title:
        flush()
    return out



def write_docs(faqs: list[Faq], folder: Path, headings: bool) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    by_file: dict[str, list[Faq]] = {}
    for f in faqs:
        by_file.setdefault(f.file, []).append(f)
    for name, items in by_file.items():
        parts = [f"{f.question}\n\n{f.answer}" if headings else f.answer for f in items]
        (folder / f"{name}.txt").write_text("\n\n".join(parts) + "\n", encoding="utf-8")


def run(faqs: list[Faq], variant: str, work: Path, k: int | None, pages: Path | None = None) -> dict[str, object]:
    import shutil

    import mmrag

    docs = work / variant
    if variant == "pages":  # the published HTML pages, copied as they are (the English ones of the Debian FAQ)
        assert pages is not None
        docs.mkdir(parents=True, exist_ok=True)
        english = sorted(pages.glob("*.en.html")) or sorted(pages.glob("*.html"))  # debian-faq: X.html -> X.en.html
        for page in english:
            if not page.name.startswith("index."):
                shutil.copy(page, docs / page.name)
    else:
        write_docs(faqs, docs, variant == "headings")
    engine = mmrag.open(str(work / f"index-{docs.name}"), space__name="minilm", space__image_model="off",
                        space__audio_model="off", generate__backend="extractive")
    engine.add([str(docs)])
    questions = {norm(f.question) for f in faqs}
    rows = []
    times = []
    for f in faqs:
        t = time.perf_counter()
        ans = engine.ask(f.question, k=k, min_relevance=0.0)
        times.append(time.perf_counter() - t)
        gold = norm(f.answer)
        q = quotes(ans.text)
        in_context = any(any(len(norm(s)) >= 8 and norm(s) in gold for s in re.split(r"(?<=[.!?])\s+|\n+", h.text or ""))
                         for h in ans.context)
        declined = engine.ask(f.question, k=k).generator == "abstained"  # with ask's fitted threshold
        rows.append({
            "question": f.question, "answer": ans.text, "in_context": in_context, "declined": declined,
            "first": bool(q) and norm(q[0]) in gold, "any": any(norm(s) in gold for s in q),
            "echo": bool(q) and norm(q[0]) in questions,
        })
    engine.close()
    n = len(rows)
    return {
        "variant": variant, "n": n,
        "answer in context": sum(r["in_context"] for r in rows) / n,
        "first quote right": sum(r["first"] for r in rows) / n,
        "any quote right": sum(r["any"] for r in rows) / n,
        "echoes a question": sum(r["echo"] for r in rows) / n,
        "declined": sum(r["declined"] for r in rows) / n,
        "ask median s": statistics.median(times), "rows": rows,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--faq", type=Path, default=None, help="folder of the Python FAQ's .rst.txt sources")
    ap.add_argument("--debian-faq", type=Path, default=None, help="the Debian FAQ as text (debian-faq.en.txt.gz)")
    ap.add_argument("--k", type=int, default=None, help="hits per question (default: search.k)")
    ap.add_argument("--faq-html", type=Path, default=None, help="folder of the Python FAQ's published HTML pages")
    ap.add_argument("--debian-faq-html", type=Path, default=None, help="folder of the Debian FAQ's HTML pages")
    ap.add_argument("--variant", choices=("answers", "headings", "pages", "all"), default="all")
    ap.add_argument("--json", type=Path, default=Path(".cache/bench_ask_faq.json"))
    add_src(ap)
    args = ap.parse_args()
    use_src(args.src)
    sets: dict[str, list[Faq]] = {}
    if args.faq:
        sets["Python FAQ"] = [f for p in sorted(args.faq.glob("*.rst.txt")) if p.name != "index.rst.txt" for f in parse(p)]
    if args.debian_faq:
        sets["Debian FAQ"] = parse_debian(args.debian_faq)
    if not sets:
        ap.error("give --faq and/or --debian-faq")
    results = []
    html = {"Python FAQ": args.faq_html, "Debian FAQ": args.debian_faq_html}
    with tempfile.TemporaryDirectory() as tmp:
        for name, faqs in sets.items():
            print(f"{name}: {len(faqs)} questions")
            variants = ("answers", "headings", "pages") if args.variant == "all" else (args.variant,)
            for variant in variants:
                if variant == "pages" and html[name] is None:
                    continue
                results.append(run(faqs, variant, Path(tmp) / name.split()[0], args.k, html[name]) | {"set": name})
    print("\n| set | documents | questions | answer in context | first quote right | any quote right | echoes a question "
          "| declined (fitted threshold) | ask median |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in results:
        print(f"| {r['set']} | {r['variant']} | {r['n']} | {r['answer in context']:.3f} | {r['first quote right']:.3f} | "
              f"{r['any quote right']:.3f} | {r['echoes a question']:.3f} | {r['declined']:.3f} | {float(r['ask median s']) * 1000:.0f} ms |")
    print(f"\nsource measured: {args.src}")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()

"""Does ``ask`` name what it defines? Questions about a term or an option, answered from a glossary or a manual.

A glossary, a manual page, a list of groups: each entry is a *term* (a word, an option, a group) and, under it,
what it means. People ask about the term ("What does the --keep option of xz do?", "What does 'coroutine'
mean?"), and the answer should quote the definition *and* say which term it defines. This bench indexes real
documents of that shape with the real MiniLM space in a real LanceDB folder, asks through ``Engine.ask`` with the
``extractive`` generator (the offline default), and counts:

- *answer in context*: some retrieved chunk holds a sentence of that definition (the ceiling for any generator);
- *first quote right*: the answer's first quoted sentence is a sentence of that term's definition;
- *any quote right*: one of its quoted sentences is;
- *names it*: the answer's text contains the term (the option, the word).

Sets (what a Debian machine has; none was used to tune anything):

- **manual pages**: the options of 30 common commands' pages (``/usr/share/man/man1``), up to 8 a page, spread
  evenly; the gold definition is what ``groff`` itself prints under the option (so the gold does not depend on
  mmrag's reader); the question is "What does the OPTION option of COMMAND do?";
- **manual pages as PDF** (``--pdf-man``): the same pages and questions, each page typeset by ``groff -Tps`` and
  made a PDF by Ghostscript's ``ps2pdf`` (what ``man -t tar | ps2pdf - tar.pdf`` makes): a manual read from its
  PDF, whose options are written with typographic minus signs (``−C``, ``−−directory``);
- **Python glossary**: the published ``glossary.html`` of ``python3.11-doc`` (with the FAQ's pages beside it),
  every term with letters in it; gold: its ``<dd>``; question: "What does 'TERM' mean?";
- **Python API reference**: every function, class and method documented on six library pages (json, shutil,
  re, string, textwrap, os.path); gold: its ``<dd>``; question: "What does json.dumps do?".

    apt-get download python3.11-doc && dpkg -x python3.11-doc_*.deb /tmp/pydoc
    python bench/bench_ask_terms.py --pydoc /tmp/pydoc/usr/share/doc/python3.11/html
    python bench/bench_ask_terms.py --pydoc ... --src /path/to/other/checkout/src   # the same questions, other code
    python bench/bench_ask_terms.py --pdf-man        # the manual pages, and the same pages as PDFs (needs ps2pdf)

Not a test: prints a markdown table and writes JSON.
"""

from __future__ import annotations

import argparse
import gzip
import html
import json
import os
import re
import shutil
import statistics
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from answer_quotes import norm, quotes
from checkout import add_src, use_src

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

COMMANDS = ["ls", "cp", "mv", "rm", "tar", "grep", "find", "xz", "ssh", "gzip", "sort", "cut", "du", "df", "chmod", "ln",
            "mkdir", "head", "tail", "wc", "date", "diff", "curl", "wget", "zip", "unzip", "less", "sed", "ps", "kill"]
PER_PAGE = 8
GROFF_TAG = re.compile(r"^ {7}(-[^\s,].*?)(?: {2,}(\S.*))?$")
DT = re.compile(r"<dt[^>]*>(.*?)</dt>\s*<dd[^>]*>(.*?)</dd>", re.DOTALL)


@dataclass(frozen=True)
class Question:
    set: str
    question: str
    term: str  # what the answer should name
    gold: str  # the definition's text



def right(quote: str, gold: str) -> bool:
    """The quote is a sentence of the definition (a tag written before it aside)."""
    q, g = norm(quote), norm(gold)
    return bool(q) and (q in g or g[:30] in q or (len(q) > 12 and q[-40:] in g))


def option_questions(pages: Path) -> list[Question]:
    """Each command's options as ``groff`` prints them: the tag at column 7, what it does at column 14."""
    groff = shutil.which("groff")
    if groff is None:
        raise SystemExit("groff is not installed (apt-get install groff)")
    out = []
    for command in COMMANDS:
        page = pages / f"{command}.1.gz"
        if not page.exists():
            continue
        typeset = subprocess.run([groff, "-t", "-mandoc", "-Tutf8", "-rLL=10000n", "-P-cbou"],
                                 input=gzip.decompress(page.read_bytes()), capture_output=True, check=False).stdout
        lines = typeset.decode("utf-8", "replace").splitlines()
        found = []
        for i, line in enumerate(lines):
            m = GROFF_TAG.match(line)
            if not m:
                continue
            desc = m.group(2) or next((x.strip() for x in lines[i + 1:i + 3] if x.startswith(" " * 14) and x.strip()), "")
            if desc and not desc.startswith("-"):
                found.append((m.group(1).strip(), desc))
        step = max(1, len(found) // PER_PAGE)
        for tag, desc in found[::step][:PER_PAGE]:
            forms = [f.split("=")[0].split("[")[0].split(" ")[0] for f in tag.split(", ")]
            name = forms[-1]
            out.append(Question("manual pages", f"What does the {name} option of {command} do?", name, desc))
    return out


def glossary_questions(glossary: Path) -> list[Question]:
    out = []
    for dt, dd in DT.findall(glossary.read_text(encoding="utf-8")):
        term = " ".join(html.unescape(re.sub(r"<[^>]+>", "", dt)).replace("¶", "").split())
        gold = " ".join(html.unescape(re.sub(r"<[^>]+>", " ", dd)).split())
        if re.search(r"[a-z]{3}", term) and gold:
            out.append(Question("Python glossary", f"What does '{term}' mean?", term, gold))
    return out


API_PAGES = ("json", "shutil", "re", "string", "textwrap", "os.path")
API_ENTRY = re.compile(r'<dt class="sig sig-object py" id="([\w.]+)">.*?</dt>\s*<dd>(.*?)</dd>', re.DOTALL)


def api_questions(library: Path) -> list[Question]:
    """Each documented function, class and method of a few standard-library pages (Sphinx's ``<dt id=...>``):
    "What does json.dumps do?"; gold: its ``<dd>`` up to the first nested entry."""
    out = []
    for page in API_PAGES:
        for name, dd in API_ENTRY.findall((library / f"{page}.html").read_text(encoding="utf-8")):
            gold = " ".join(html.unescape(re.sub(r"<[^>]+>", " ", dd.split("<dl", 1)[0])).split())
            if gold:
                out.append(Question("Python API reference", f"What does {name} do?", name, gold))
    return out


def typeset_pdfs(pages: Path, out: Path) -> None:
    """Each page of ``pages`` as a PDF in ``out``: ``groff -Tps`` piped into ``ps2pdf`` (as ``man -t`` does)."""
    groff, ps2pdf = shutil.which("groff"), shutil.which("ps2pdf")
    if groff is None or ps2pdf is None:
        raise SystemExit("--pdf-man needs groff and ps2pdf (apt-get install groff ghostscript)")
    for page in sorted(pages.glob("*.1.gz")):
        ps = subprocess.run([groff, "-t", "-mandoc", "-Tps"], input=gzip.decompress(page.read_bytes()),
                            capture_output=True, check=True).stdout
        subprocess.run([ps2pdf, "-", str(out / (page.name.removesuffix(".1.gz") + ".pdf"))], input=ps,
                       capture_output=True, check=True)


def run(name: str, questions: list[Question], docs: Path, work: Path) -> dict[str, object]:
    import mmrag

    engine = mmrag.open(str(work / f"index-{docs.name}"), space__name="minilm", space__image_model="off",
                        space__audio_model="off", generate__backend="extractive")
    engine.add([str(docs)])
    rows, times = [], []
    for q in questions:
        t = time.perf_counter()
        ans = engine.ask(q.question, min_relevance=0.0)
        times.append(time.perf_counter() - t)
        said = quotes(ans.text)
        in_context = any(right(s, q.gold) for h in ans.context for s in re.split(r"(?<=[.!?])\s+|\n+", h.text or "")
                         if len(norm(s)) >= 8)
        rows.append({"question": q.question, "answer": ans.text, "in_context": in_context,
                     "first": bool(said) and right(said[0], q.gold),
                     "any": any(right(s, q.gold) for s in said), "names": norm(q.term) in norm(ans.text)})
    engine.close()
    n = len(rows)
    return {"set": name, "n": n, "answer in context": sum(r["in_context"] for r in rows) / n, "first quote right": sum(r["first"] for r in rows) / n,
            "any quote right": sum(r["any"] for r in rows) / n, "names it": sum(r["names"] for r in rows) / n,
            "ask median s": statistics.median(times), "rows": rows}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--man", type=Path, default=Path("/usr/share/man/man1"), help="folder of section-1 pages")
    ap.add_argument("--pydoc", type=Path, default=None, help="python3.11-doc's html folder (glossary.html, faq/)")
    ap.add_argument("--pdf-man", action="store_true", help="also ask the manual pages' questions of their PDFs")
    add_src(ap)
    ap.add_argument("--json", type=Path, default=Path(".cache/bench_ask_terms.json"))
    args = ap.parse_args()
    use_src(args.src)
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        man_docs = work / "man"
        man_docs.mkdir()
        for command in COMMANDS:
            if (args.man / f"{command}.1.gz").exists():
                shutil.copy(args.man / f"{command}.1.gz", man_docs)
        questions = option_questions(args.man)
        results.append(run("manual pages", questions, man_docs, work))
        if args.pdf_man:
            pdf_docs = work / "manpdf"
            pdf_docs.mkdir()
            typeset_pdfs(man_docs, pdf_docs)
            results.append(run("manual pages as PDF", questions, pdf_docs, work))
        if args.pydoc:
            py_docs = work / "pydoc"
            py_docs.mkdir()
            shutil.copy(args.pydoc / "glossary.html", py_docs)
            for page in sorted((args.pydoc / "faq").glob("*.html")):
                shutil.copy(page, py_docs / f"faq-{page.name}")
            results.append(run("Python glossary", glossary_questions(args.pydoc / "glossary.html"), py_docs, work))
            api_docs = work / "api"
            api_docs.mkdir()
            for page in API_PAGES:
                shutil.copy(args.pydoc / "library" / f"{page}.html", api_docs)
            results.append(run("Python API reference", api_questions(args.pydoc / "library"), api_docs, work))
    print(f"\nsource measured: {args.src}")
    print("| set | questions | answer in context | first quote right | any quote right | names it | ask median |")
    print("|---|---|---|---|---|---|---|")
    for r in results:
        print(f"| {r['set']} | {r['n']} | {r['answer in context']:.3f} | {r['first quote right']:.3f} | {r['any quote right']:.3f} | {r['names it']:.3f} | "
              f"{float(r['ask median s']) * 1000:.0f} ms |")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()

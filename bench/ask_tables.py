"""Ask documents' tables about their rows: is the asked cell in the answer's first quote, said once, without
other rows?

Each table row the readers find in the given files (PDF, Word, HTML, Markdown: ``kind == "table_row"``) gives at
most one question, "What is the <column> of <row's title>?", for a column whose cell is not the title; at most
``--per-table`` rows per table, chosen by a seeded draw. The questions are written to ``--questions`` the first
time (by the readers of the code measured then) and read from it after, so another checkout (``--src``) answers
the same questions. Per question, over the extractive answer:

- *first quote*: the cell's value (its first sentence, at most 60 characters) is in the answer's first quoted
  sentence;
- *said once*: that is in the answer exactly once, citations aside (a row quoted as its fields and again as its
  text, or the page's own line of it after the row, says it twice);
- *other rows*: the answer names another row of the same table by its title (a row that shares only a word of
  the question, or the table run into one line);
- *run together*: one quoted sentence holds the row's title and another row's (the table's lines run into
  one sentence).

    python bench/ask_tables.py --work /tmp/tables --questions /tmp/tables-q.json FILE...
    python bench/ask_tables.py --work /tmp/tables-old --questions /tmp/tables-q.json --src /tmp/old/src FILE...
"""

from __future__ import annotations

import argparse
import json
import random
import re
import statistics
import time
from pathlib import Path

from checkout import add_src, open_extractive, use_src, work_copies

_CITE = re.compile(r"\[\d+\]")


def _head(value: str) -> str:
    """What of a cell the answer must hold: its first sentence, at most 60 characters (cut at a word), without
    its full stop (the answer quotes a cell of several sentences one at a time)."""
    value = value.split(". ", 1)[0]
    if len(value) > 60:
        value = value[:60].rsplit(" ", 1)[0]
    return value.rstrip(".")


def questions_of(files: list[Path], per_table: int, seed: int) -> list[dict[str, object]]:
    """The questions the readers' table rows give (see the module docstring)."""
    from mmrag import registry
    from mmrag.config import IngestConfig
    from mmrag.ingest.sources import sniff

    out: list[dict[str, object]] = []
    draw = random.Random(seed)
    for path in files:
        rows = [s for s in registry.resolve("loader", sniff(path) or "text")().load(path, IngestConfig(ocr=False))
                if s.meta.get("kind") == "table_row"]
        tables: dict[tuple[object, str], list[object]] = {}
        for seg in rows:
            tables.setdefault((seg.span.page, seg.meta["table"]), []).append(seg)
        for segs in tables.values():
            titles = [str(s.meta.get("title", "")) for s in segs]  # type: ignore[attr-defined]
            for seg in draw.sample(segs, min(per_table, len(segs))):
                title = str(seg.meta.get("title", ""))  # type: ignore[attr-defined]
                if len(title) < 2 or titles.count(title) > 1:
                    continue  # a title two rows share names neither
                cells = [(name, " ".join(str(v).split())) for name, v in seg.fields.items()  # type: ignore[attr-defined]
                         if len(" ".join(str(v).split())) >= 2 and " ".join(str(v).split()) != title]
                if not cells:
                    continue
                name, value = draw.choice(cells)
                label = name.replace("_", " ")
                out.append({"file": path.name, "question": f"What is the {label} of {title}?", "value": value,
                            "title": title, "others": sorted({t for t in titles if len(t) >= 3 and t != title
                                                              and t not in title and title not in t})})
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("files", nargs="+", type=Path)
    ap.add_argument("--work", type=Path, required=True, help="a folder for the copies and the index (emptied first)")
    ap.add_argument("--questions", type=Path, required=True, help="written on the first run, read after")
    ap.add_argument("--per-table", type=int, default=4)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--json", type=Path, help="write each question's answer and marks here")
    add_src(ap)
    args = ap.parse_args()
    use_src(args.src)
    files = work_copies(args.work, args.files)
    if args.questions.exists():
        asked = json.loads(args.questions.read_text())
    else:
        asked = questions_of(files, args.per_table, args.seed)
        args.questions.write_text(json.dumps(asked, indent=1, ensure_ascii=False))
    engine = open_extractive(args.work / "index")
    rows = []
    try:
        started = time.perf_counter()
        engine.add([str(f) for f in files])
        add_s = time.perf_counter() - started
        for q in asked:
            t0 = time.perf_counter()
            text = " ".join(engine.ask(str(q["question"])).text.split())
            took = time.perf_counter() - t0
            first = _CITE.split(text, 1)[0]
            plain = _CITE.sub("", text)  # a long cell is quoted a sentence at a time, a citation after each
            value = _head(str(q["value"]))
            rows.append({**q, "answer": text, "first": value in first, "once": plain.count(value) == 1,
                         "others": any(t in text for t in q["others"]),  # type: ignore[attr-defined]
                         "run_together": any(str(q["title"]) in piece and any(t in piece for t in q["others"])  # type: ignore[attr-defined]
                                             for piece in _CITE.split(text)),
                         "ask_s": took})
    finally:
        engine.close()
    print(f"source measured: {args.src}; {len(files)} files; add {add_s:.0f} s")
    print("| file | questions | first quote has the cell | said once | other rows named | run together | ask median |")
    print("|---|---|---|---|---|---|---|")
    for name in [*sorted({str(r["file"]) for r in rows}), "all"]:
        mine = [r for r in rows if name in ("all", r["file"])]
        if not mine:
            continue
        share = {k: sum(bool(r[k]) for r in mine) / len(mine) for k in ("first", "once", "others", "run_together")}
        print(f"| {name} | {len(mine)} | {share['first']:.3f} | {share['once']:.3f} | {share['others']:.3f} | "
              f"{share['run_together']:.3f} | {statistics.median(float(r['ask_s']) for r in mine) * 1000:.0f} ms |")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1, ensure_ascii=False))


if __name__ == "__main__":
    main()

"""The feedback loop end to end, in one run: recall@10 before feedback, after feedback re-ranking
(per-item prior, Rocchio, both), and after retraining the image tower on the exported feedback.

    nice -n 10 python bench/bench_feedback.py --twemoji .cache/train/twemoji/package --work /tmp/fbbench [--n 200]

The held-out set: ``n`` Twemoji pictures (npm ``@twemoji/svg``; the default ``lite0`` image tower was
bound on Open Clip Art + Noto, never on Twemoji) under neutral file names, indexed with the default
offline space (MiniLM + ``lite0``), OCR off. Half of the pictures are *judged*: a user searches each
one's Unicode name, marks the right picture when it is in the top 50, and marks the top hit when it is
wrong (``engine.feedback``). Measured, all in this run:

- on *paraphrases* of the judged queries ("a picture of a NAME", "NAME emoji"), never searched
  while judging, and on the other half's queries (pictures nobody judged: does feedback hurt them?);
- with feedback off, with each re-ranking mode (``search.feedback``: prior, rocchio, both);
- after ``mmrag feedback --export``'s pairs (``feedback.export_pairs``) train a tower with the real CLI,
  ``mmrag train PAIRS --backbone efficientnet-lite0 --init lite0 --holdout 0`` (fine-tunes the shipped
  head; once with the exported hard negatives, once with them stripped), and a fresh index re-embeds the
  same pictures with the retrained tower; then once more with the recorded feedback re-ranking on top.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))

from relevance_data import twemoji_items

import mmrag
from mmrag.feedback import export_pairs

PARAPHRASES = {"picture": "a picture of a {}", "emoji": "{} emoji"}
MODES = ("off", "prior", "rocchio", "both")


def recall_at(engine, queries: list[tuple[str, str]], mode: str, k: int = 10) -> float:  # type: ignore[no-untyped-def]
    got = 0
    for q, name in queries:
        hits = engine.search(q, k=k, diversify=False, feedback=False if mode == "off" else mode)
        got += any(Path(h.source).name == name for h in hits)
    return got / max(1, len(queries))


def query_sets(judged: list[tuple[str, str]], held: list[tuple[str, str]]) -> dict[str, list[tuple[str, str]]]:
    sets = {f"judged, '{t}'": [(t.format(n), f) for f, n in judged] for t in PARAPHRASES.values()}
    sets["held-out names"] = [(n, f) for f, n in held]
    sets |= {f"held-out, '{t}'": [(t.format(n), f) for f, n in held] for t in PARAPHRASES.values()}
    return sets


def measure(engine, sets: dict[str, list[tuple[str, str]]], modes: tuple[str, ...]) -> dict[str, dict[str, float]]:  # type: ignore[no-untyped-def]
    out: dict[str, dict[str, float]] = {}
    for mode in modes:
        out[mode] = {name: recall_at(engine, qs, mode) for name, qs in sets.items()}
        print(f"  {mode}: " + ", ".join(f"{k} {v:.3f}" for k, v in out[mode].items()), file=sys.stderr, flush=True)
    return out


def collect_feedback(engine, judged: list[tuple[str, str]]) -> dict[str, int]:  # type: ignore[no-untyped-def]
    engine.feedback_log().clear()
    marked = wrong_marked = 0
    for f, n in judged:
        hits = engine.search(n, k=50, diversify=False, feedback=False)
        right = [h for h in hits if Path(h.source).name == f][:1]
        wrong = [h for h in hits[:1] if Path(h.source).name != f]
        marked += bool(right)
        wrong_marked += len(wrong)
        engine.feedback(n, right=right, wrong=wrong)
    return {"judged queries": len(judged), "right picture marked (in top 50)": marked, "wrong top hit marked": wrong_marked}


def train(pairs: Path, out: Path, cache: Path, epochs: int, lr: float) -> tuple[list[str], float]:
    cmd = [sys.executable, "-m", "mmrag.cli", "train", str(pairs), "--mode", "bind", "--backbone", "efficientnet-lite0",
           "--init", "lite0", "--holdout", "0", "--epochs", str(epochs), "--lr", str(lr), "--out", str(out),
           "--cache-dir", str(cache), "--threads", "2", "--name", out.name]
    t = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, env=os.environ | {"HF_HUB_OFFLINE": "1"})
    return cmd[3:], time.perf_counter() - t


def index(work: Path, name: str, corpus: Path, tower: Path | None):  # type: ignore[no-untyped-def]
    over: dict[str, object] = {"space__name": "minilm", "ingest__ocr": False}
    if tower is not None:
        over["space__image_model"] = str(tower)
    engine = mmrag.open(str(work / name), **over)
    t = time.perf_counter()
    engine.add([corpus])
    return engine, time.perf_counter() - t


def latency(work: Path, judged: list[tuple[str, str]], n: int = 60) -> dict[str, float]:
    """ms per paraphrase query on the existing lite0 index with ``n`` names judged: off, prior, Rocchio on
    first use of the judgements (stored vectors read), then again (memoised)."""
    with mmrag.open(str(work / "index-lite0"), space__name="minilm", ingest__ocr=False) as engine:
        collect_feedback(engine, judged[:n])
        queries = [PARAPHRASES["picture"].format(name) for _, name in judged[:n]]
        for q in queries:
            engine.search(q, k=10, feedback=False)  # embeddings cached: only the search is timed
        out: dict[str, float] = {"judgements": len(engine.feedback_log())}
        for label, mode in (("off", "off"), ("prior", "prior"), ("rocchio, first use", "rocchio"), ("rocchio, memoised", "rocchio")):
            t = time.perf_counter()
            for q in queries:
                engine.search(q, k=10, diversify=False, feedback=False if mode == "off" else mode)
            out[f"{label} ms/query"] = round((time.perf_counter() - t) / len(queries) * 1000, 1)
        engine.feedback_log().clear()
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--twemoji", type=Path, required=True, help="the unpacked @twemoji/svg package folder")
    ap.add_argument("--work", type=Path, required=True)
    ap.add_argument("--n", type=int, default=200, help="pictures in the index (half judged)")
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--lr", type=float, default=3e-4)
    ap.add_argument("--latency", action="store_true", help="only time the re-ranking modes on WORK/index-lite0 of an earlier run")
    args = ap.parse_args()
    picked = random.Random(0).sample(twemoji_items(args.twemoji), args.n)
    corpus = args.work / "corpus" / "pictures"
    if not corpus.exists():
        corpus.mkdir(parents=True)
        for i, (_, svg) in enumerate(picked):
            shutil.copyfile(svg, corpus / f"{i:04d}.svg")
    items = [(f"{i:04d}.svg", name) for i, (name, _) in enumerate(picked)]
    random.Random(1).shuffle(items)
    judged, held = items[: len(items) // 2], items[len(items) // 2 :]
    if args.latency:
        print(json.dumps(latency(args.work, judged), indent=1))
        return 0
    sets = query_sets(judged, held)
    report: dict[str, object] = {"pictures": args.n, "queries per set": {k: len(v) for k, v in sets.items()}}
    t0 = time.perf_counter()

    print("indexing with lite0 ...", file=sys.stderr, flush=True)
    base, secs = index(args.work, "index-lite0", corpus, None)
    report["index seconds (lite0)"] = round(secs, 1)
    report["feedback"] = collect_feedback(base, judged)
    report["lite0"] = measure(base, sets, MODES)
    log = base.feedback_log().items
    pairs = args.work / "feedback-pairs.jsonl"
    n_pairs, n_neg = export_pairs(base.feedback_log(), pairs)
    report["exported"] = {"pairs": n_pairs, "hard negatives": n_neg}
    base.feedback_log().clear()
    base.close()

    no_hard = args.work / "feedback-pairs-nohard.jsonl"
    no_hard.write_text("".join(json.dumps({"a": r["a"], "b": r["b"]}) + "\n" for r in map(json.loads, pairs.read_text().splitlines())))
    cache = args.work / "featcache"
    for label, src in (("retrained", pairs), ("retrained without hard negatives", no_hard)):
        tower = args.work / ("tower-fb" if src == pairs else "tower-fb-nohard")
        shutil.rmtree(tower, ignore_errors=True)
        print(f"training {tower.name} ...", file=sys.stderr, flush=True)
        cmd, tsecs = train(src, tower, cache, args.epochs, args.lr)
        name = "index-" + tower.name
        shutil.rmtree(args.work / name, ignore_errors=True)
        engine, isecs = index(args.work, name, corpus, tower)
        engine.feedback_log().clear()
        engine.feedback_log().record(log)  # the same judgements (segment ids are stable across indexes)
        report[label] = measure(engine, sets, MODES if src == pairs else ("off",)) | {
            "command": "mmrag " + " ".join(cmd), "train seconds": round(tsecs, 1), "index seconds": round(isecs, 1)}
        engine.feedback_log().clear()
        engine.close()
    report["total seconds"] = round(time.perf_counter() - t0, 1)
    print(json.dumps(report, indent=1, default=lambda x: round(float(x), 4)))
    print(table(report, list(sets)))
    return 0


def table(report: dict, names: list[str]) -> str:  # type: ignore[type-arg]
    cols = [("lite0", m) for m in MODES] + [("retrained", m) for m in MODES] + [("retrained without hard negatives", "off")]
    head = ["R@10", *(f"{t} / {m}" for t, m in cols)]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for n in names:
        lines.append("| " + " | ".join([n, *(f"{report[t][m][n]:.3f}" for t, m in cols)]) + " |")  # type: ignore[index]
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())

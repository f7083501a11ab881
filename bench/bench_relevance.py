"""Relevance on held-out queries: calibration error and abstention, against answering always.

    python bench/bench_relevance.py --wordnet DIR/dict --twemoji DIR --work /tmp/relbench \
        --exclude /tmp/relfit/queries.jsonl [--n 100] [--seed 1]

Builds a fresh index from WordNet glosses and Twemoji pictures that share no
item with the fit (``--exclude``: the fit's queries file), half of the
queries without an answer, and measures the relevance model the index would
use (the shipped default for its space, or the index's own). Baseline in the
same run: answering every query (no abstention).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))

from relevance_data import build

import mmrag
from mmrag.calibration import evaluate, judge, read_queries


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--wordnet", type=Path)
    ap.add_argument("--twemoji", type=Path)
    ap.add_argument("--work", type=Path, required=True)
    ap.add_argument("--exclude", type=Path, help="queries file of the fit: its items are not drawn")
    ap.add_argument("--n", type=int, default=100)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--model", type=Path, help="a relevance JSON to measure instead of the index's default")
    args = ap.parse_args()
    exclude = {q.text for q in read_queries(args.exclude) if q.text} if args.exclude else set()
    corpus, queries = build(args.work, wordnet=args.wordnet, twemoji=args.twemoji, n=args.n, seed=args.seed, exclude=exclude)
    qs = read_queries(queries)
    with mmrag.open(str(args.work / "index"), space__name="minilm", ingest__ocr=False) as engine:
        engine.add([corpus])  # unchanged files are skipped: a rerun resumes
        model = engine.relevance_model()
        if args.model:
            from mmrag.retrieve.relevance import RelevanceModel

            model = RelevanceModel.load(args.model)
        judged = judge(engine, qs)
    sets = {"all": judged}
    lines = {json.loads(x)["query"]: json.loads(x)["set"] for x in queries.read_text().splitlines()}
    for name in ("wordnet", "twemoji"):
        sets[name] = [j for j in judged if lines.get(j.query.text) == name]
    report: dict[str, object] = {"model": model.source if model else None, "method": model.method if model else None}
    for name, js in sets.items():
        if not js:
            continue
        report[name] = {f"t={t}": evaluate(model, js, t) for t in (0.3, 0.5, 0.7)}
        always = evaluate(model, js, 0.0)
        report[name]["baseline: answer always"] = {k: always[k] for k in ("queries", "unanswerable", "answered_top1_right")}
    print(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

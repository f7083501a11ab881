"""Citation parsing, stripping of invented numbers, and mapping back to hits."""

from __future__ import annotations

import pytest

from mmrag.generate.citations import check_citations, finalize, parse_citations, parse_numbers
from mmrag.generate.prompt import build_prompt


@pytest.mark.parametrize(
    ("inner", "numbers"),
    [
        ("1", (1,)),
        ("1, 3", (1, 3)),
        ("2-4", (2, 3, 4)),
        ("2 – 4", (2, 3, 4)),
        ("1,2-3, 3", (1, 2, 3)),
        ("5-2", (5, 2)),  # reversed range: only its ends
        ("1-100000", (1, 100000)),  # absurd range: only its ends, no 100k-long list
    ],
)
def test_parse_numbers(inner, numbers):
    assert parse_numbers(inner) == numbers


def test_parse_citations_finds_markers_and_positions():
    text = "A [1]. B [1, 3] and C [2-4][5]. Not citations: [a], [1.5], [], x[ 7 ]."
    markers = parse_citations(text)
    assert [m.numbers for m in markers] == [(1,), (1, 3), (2, 3, 4), (5,), (7,)]
    assert text[markers[1].start : markers[1].end] == "[1, 3]"


def test_check_keeps_valid_markers_verbatim_and_strips_invented_ones():
    text = "Tall [1]. Old [2-3]. Made up [9]. Mixed [1, 7]. Range [3-5]."
    clean, used, dropped = check_citations(text, {1, 2, 3})
    assert clean == "Tall [1]. Old [2-3]. Made up. Mixed [1]. Range [3]."
    assert used == (1, 2, 3)
    assert dropped == (4, 5, 7, 9)


def test_check_with_empty_context_strips_everything():
    clean, used, dropped = check_citations("Claim [1] and [2].", set())
    assert (clean, used, dropped) == ("Claim and.", (), (1, 2))


def test_finalize_maps_numbers_to_hits_in_order_of_first_use(mixed_hits):
    prompt = build_prompt("q", mixed_hits, vision=False)
    answer = finalize(prompt, "  The budget is 4M [4]. Tower [1][4]. Invented [12].  ", generator="x",
                      timings={"generate_s": 1.5})
    assert answer.text == "The budget is 4M [4]. Tower [1][4]. Invented."
    assert [(c.number, c.hit.segment_id) for c in answer.citations] == [(4, "a1"), (1, "t1")]
    assert answer.citations[0].hit.span.t0 == 62.0
    assert answer.dropped_citations == (12,)
    assert answer.context == tuple(mixed_hits)
    assert answer.generator == "x" and dict(answer.timings) == {"generate_s": 1.5}


def test_finalize_after_budget_drop_never_cites_a_dropped_hit(make_hit):
    from mmrag.types import Modality

    hits = [make_hit("a", "a.md", Modality.TEXT, "alpha " * 50), make_hit("b", "b.md", Modality.TEXT, "beta " * 400)]
    prompt = build_prompt("q", hits, budget=150, vision=False)
    assert len(prompt.items) == 1
    answer = finalize(prompt, "alpha [1] beta [2]")
    assert [c.hit.segment_id for c in answer.citations] == ["a"]
    assert answer.dropped_citations == (2,)

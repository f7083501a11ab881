"""The filter dialect: parsing, errors, rendering, evaluation."""

from __future__ import annotations

import numpy as np
import pytest

from mmrag.errors import FilterError, StoreError
from mmrag.stores import filters as F
from mmrag.stores.filters import ANY, ONE, And, Cmp, In, Like, Not, Or


def test_parse_builds_the_expected_tree() -> None:
    node = F.parse("source LIKE '%2024%' AND modality = 'image'")
    assert node == And((Like("source", (ANY, "2", "0", "2", "4", ANY)), Cmp("modality", "=", "image")))
    node = F.parse("page >= 3 OR (t0 > 60 AND channel IN ('text', 'image'))")
    assert node == Or((Cmp("page", ">=", 3), And((Cmp("t0", ">", 60.0), In("channel", ("text", "image"))))))
    assert isinstance(F.parse("t0 > 60").value, float)  # float column: int literal becomes a float
    assert F.parse("page = -1") == Cmp("page", "=", -1)


def test_keywords_are_case_insensitive_and_aliases_work() -> None:
    assert F.parse("page == 2 and not source like 'a%'") == And(
        (Cmp("page", "=", 2), Not(Like("source", ("a", ANY))))
    )
    assert F.parse("Page <> 2") == Cmp("page", "!=", 2)
    assert F.parse("id NOT IN ('a')") == In("id", ("a",), negated=True)
    assert F.parse("text NOT LIKE 'x'") == Like("text", ("x",), negated=True)


def test_and_binds_tighter_than_or_and_not_tightest() -> None:
    node = F.parse("page = 1 OR page = 2 AND NOT page = 3")
    assert node == Or((Cmp("page", "=", 1), And((Cmp("page", "=", 2), Not(Cmp("page", "=", 3))))))


def test_string_escapes_and_like_escapes() -> None:
    assert F.parse("source = 'it''s'") == Cmp("source", "=", "it's")
    assert F.parse(r"source LIKE 'a\_b\%c\\d_'") == Like("source", ("a", "_", "b", "%", "c", "\\", "d", ONE))


@pytest.mark.parametrize(
    ("where", "position", "fragment"),
    [
        ("sorce = 'x'", 0, "unknown column 'sorce'"),
        ("page = 'x'", 7, "'page' is a number"),
        ("page = 2.5", 7, "whole numbers"),
        ("source = 3", 9, "quote the value"),
        ("source = 'x", 9, "unterminated string"),
        ("source = 'x' AND", 16, "expected a column name"),
        ("(page = 1", 9, "expected ')'"),
        ("page = 1; DROP TABLE rows", 8, "unexpected character ';'"),
        ("page 1", 5, "expected an operator"),
        ("page NOT = 1", 9, "expected LIKE or IN after NOT"),
        ("page LIKE '1'", 5, "LIKE needs a text column"),
        ("source LIKE 'a\\'", 12, "lone backslash"),
        ("page IN (1, 2", 13, "',' or ')'"),
        ("page = 1 page = 2", 9, "expected AND, OR or the end"),
        ("t0 > 1e999", 5, "not a finite number"),
        ("page = 99999999999999999999", 7, "64-bit"),
    ],
)
def test_errors_say_where_and_what(where: str, position: int, fragment: str) -> None:
    with pytest.raises(FilterError) as info:
        F.parse(where)
    message = str(info.value)
    assert f"position {position}:" in message
    assert fragment in message
    assert "Known columns: id, segment_id, source" in message
    assert isinstance(info.value, StoreError)


def test_limits_and_empty_input() -> None:
    with pytest.raises(FilterError, match="empty filter"):
        F.parse("   ")
    with pytest.raises(FilterError, match="limit"):
        F.parse("page = 1 OR " * 3000 + "page = 2")
    with pytest.raises(FilterError, match="nested deeper"):
        F.parse("(" * 100 + "page = 1" + ")" * 100)
    with pytest.raises(FilterError, match="must be a string"):
        F.parse(3)  # type: ignore[arg-type]
    assert F.parse_optional(None) is None and F.parse_optional("  ") is None


def test_rendering_lance_sql() -> None:
    node = F.parse("source LIKE '%it''s\\_%' AND (page >= 3 OR end IN (1, 2)) AND NOT t0 < 1.5")
    assert F.to_lance(node) == (
        "(`source` LIKE '%it''s\\_%' AND (`page` >= 3 OR `end` IN (1, 2)) AND (NOT (`t0` < 1.5)))"
    )
    assert F.to_lance(F.parse("id NOT IN ('a')")) == "`id` NOT IN ('a')"
    assert F.to_lance(F.parse("text NOT LIKE '%x'")) == "`text` NOT LIKE '%x'"


def test_rendering_milvus_expression() -> None:
    node = F.parse("source LIKE '%say \"hi\"\\_%' AND (page >= 3 OR end IN (1, 2)) AND NOT t0 < 1.5")
    assert F.to_milvus(node) == (
        '(source like "%say \\"hi\\"\\\\_%" and (page >= 3 or end in [1, 2]) and (not (t0 < 1.5)))'
    )
    assert F.to_milvus(F.parse("modality = 'image'")) == 'modality == "image"'
    assert F.to_milvus(F.parse("id NOT IN ('a', 'b')")) == 'id not in ["a", "b"]'
    assert F.to_milvus(F.parse("text NOT LIKE 'x'")) == '(not (text like "x"))'
    assert F.to_milvus(F.parse("source = 'a\\b'")) == 'source == "a\\\\b"'


def test_injection_attempts_stay_inside_one_literal() -> None:
    hostile = "x' OR 1=1 --"
    node = F.parse("source = 'x'' OR 1=1 --'")
    assert node == Cmp("source", "=", hostile)
    assert F.to_lance(node) == "`source` = 'x'' OR 1=1 --'"
    node = F.parse("source = 'a\" or id != \"'")
    assert F.to_milvus(node) == 'source == "a\\" or id != \\""'


ROWS = [
    {
        "id": f"r{i}",
        "segment_id": f"s{i}",
        "source": src,
        "source_hash": "h",
        "modality": mod,
        "channel": ch,
        "text": txt,
        "page": page,
        "t0": t0,
        "t1": t0 + 1,
        "start": -1,
        "end": -1,
        "added_at": 0.0,
    }
    for i, (src, mod, ch, txt, page, t0) in enumerate(
        [
            ("a_b.pdf", "text", "text", "Quick fox", 1, -1.0),
            ("axb.pdf", "image", "image", "", 2, -1.0),
            ("2024/talk.mp4", "video", "image", "slide", -1, 61.5),
            ("2024/talk.mp4", "video", "text", "it's 100% done", -1, 75.0),
            ("C:\\docs\\x.txt", "text", "text", "line\nbreak", 7, -1.0),
        ]
    )
]


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        ("source LIKE 'a_b%'", {"r0", "r1"}),
        ("source LIKE 'a\\_b%'", {"r0"}),
        ("source LIKE '%\\\\docs%'", {"r4"}),
        ("source NOT LIKE '2024/%'", {"r0", "r1", "r4"}),
        ("text LIKE '%100\\%%'", {"r3"}),
        ("text LIKE '%line_break'", {"r4"}),
        ("text = ''", {"r1"}),
        ("page >= 2 OR t0 > 70", {"r1", "r3", "r4"}),
        ("channel IN ('image') AND NOT modality = 'image'", {"r2"}),
        ("text = 'it''s 100% done'", {"r3"}),
        ("id NOT IN ('r0', 'r1') AND (t0 < 0 OR t1 >= 76.0)", {"r3", "r4"}),
        ("page != -1 AND page <> 2", {"r0", "r4"}),
    ],
)
def test_predicate_and_mask_agree_with_expected(where: str, expected: set[str]) -> None:
    node = F.parse(where)
    test = F.predicate(node)
    assert {r["id"] for r in ROWS if test(r)} == expected
    columns = {
        k: np.array([r[k] for r in ROWS], dtype=object if isinstance(ROWS[0][k], str) else None)
        for k in ROWS[0]
    }
    hits = F.mask(node, columns)
    assert {ROWS[i]["id"] for i in np.flatnonzero(hits)} == expected


def test_predicate_reads_attributes_too() -> None:
    class Obj:
        source = "notes.md"
        page = 3

    assert F.predicate(F.parse("source LIKE '%.md' AND page > 2"))(Obj())
    assert not F.predicate(F.parse("page > 3"))(Obj())
    assert F.predicate(None)(Obj())


def test_split_column_pulls_out_top_level_channel_terms() -> None:
    allowed, rest = F.split_column(F.parse("channel = 'image'"), "channel")
    assert allowed == frozenset({"image"}) and rest is None
    allowed, rest = F.split_column(F.parse("channel IN ('text', 'image') AND page > 2"), "channel")
    assert allowed == frozenset({"text", "image"}) and rest == Cmp("page", ">", 2)
    allowed, rest = F.split_column(F.parse("channel = 'text' AND channel = 'image'"), "channel")
    assert allowed == frozenset()  # contradictory: nothing matches
    node = F.parse("channel = 'text' OR page > 2")  # under OR: cannot pick an index
    assert F.split_column(node, "channel") == (None, node)
    node = F.parse("channel NOT IN ('text')")
    assert F.split_column(node, "channel") == (None, node)
    assert F.split_column(None, "channel") == (None, None)

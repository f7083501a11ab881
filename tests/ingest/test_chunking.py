"""Chunk offsets are exact, no text is lost, boundaries prefer paragraphs and sentences."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mmrag.errors import ConfigError
from mmrag.ingest.chunking import MAX_WORD_CHARS, chunk_text, iter_chunks, sectioned, trail_after, word_spans
from mmrag.markdown import headings, trail_words


def check_invariants(text: str, words: int, overlap: int) -> None:
    chunks = chunk_text(text, words, overlap)
    spans = word_spans(text)
    covered = [False] * len(text)
    prev_start = prev_end = -1
    for ch in chunks:
        assert text[ch.start : ch.end] == ch.text
        assert ch.text.strip(), "whitespace-only chunk"
        assert ch.text == ch.text.strip(), "chunks start and end on words"
        assert ch.start > prev_start and ch.end > prev_end, "chunks move forward"
        n_words = sum(1 for s, e in spans if s >= ch.start and e <= ch.end)
        assert 1 <= n_words <= words
        shared = sum(1 for s, e in spans if s >= ch.start and e <= prev_end)
        assert shared <= overlap
        for i in range(ch.start, ch.end):
            covered[i] = True
        prev_start, prev_end = ch.start, ch.end
    lost = [c for c, cov in zip(text, covered, strict=True) if not cov and not c.isspace()]
    assert lost == [], "text outside every chunk"
    if not text.strip():
        assert chunks == []


@settings(max_examples=200, deadline=None, database=None)
@given(
    text=st.text(alphabet=st.sampled_from(list("ab .!?\n\n\t\u00e9\u4e2d\u6587\u3002-,\r")), max_size=600),
    words=st.integers(1, 40),
    data=st.data(),
)
def test_invariants_hold_for_any_text(text: str, words: int, data: st.DataObject) -> None:
    overlap = data.draw(st.integers(0, words - 1))
    check_invariants(text, words, overlap)


@settings(max_examples=50, deadline=None, database=None)
@given(text=st.text(max_size=400), words=st.integers(2, 12))
def test_invariants_hold_for_arbitrary_unicode(text: str, words: int) -> None:
    check_invariants(text, words, words // 3)


def test_short_text_is_one_chunk_trimmed() -> None:
    (chunk,) = chunk_text("  \n Hello world.  \n", 10, 2)
    assert (chunk.text, chunk.start, chunk.end) == ("Hello world.", 4, 16)


@pytest.mark.parametrize("text", ["", "   \n\t  ", "\r\n\r\n"])
def test_whitespace_gives_no_chunks(text: str) -> None:
    assert chunk_text(text, 5, 1) == []


def test_prefers_paragraph_break() -> None:
    para1 = " ".join(f"w{i}." if i == 3 else f"w{i}" for i in range(7))  # a sentence end at w3
    para2 = " ".join(f"x{i}" for i in range(7))
    text = para1 + "\n\n" + para2
    chunks = chunk_text(text, 10, 0)
    assert chunks[0].text == para1  # cut at the paragraph (7 words), not at the 10-word limit
    assert chunks[1].text == para2


def test_prefers_sentence_end_without_paragraphs() -> None:
    text = "one two three four five six. seven eight nine ten eleven twelve"
    first = chunk_text(text, 8, 0)[0]
    assert first.text == "one two three four five six."


def test_hard_cut_when_no_boundary() -> None:
    text = " ".join(f"w{i}" for i in range(25))
    chunks = chunk_text(text, 10, 0)
    assert [c.text.split()[0] for c in chunks] == ["w0", "w10", "w20"]
    assert [len(c.text.split()) for c in chunks] == [10, 10, 5]


def test_overlap_repeats_words() -> None:
    text = " ".join(f"w{i}" for i in range(20))
    chunks = chunk_text(text, 10, 3)
    assert chunks[0].text.split()[-3:] == chunks[1].text.split()[:3]
    assert chunks[1].text.split()[0] == "w7"


def test_overlap_starts_at_a_sentence_when_possible() -> None:
    text = "a b c d e f. g h\n\ni j k"
    chunks = chunk_text(text, 10, 4)
    assert chunks[0].text == "a b c d e f. g h"  # cut at the paragraph
    assert chunks[1].text == "g h\n\ni j k"  # overlap from the sentence start, not from "e"


def test_cjk_counts_characters_as_words() -> None:
    text = "\u732b" * 25  # 25 ideographs, no spaces
    chunks = chunk_text(text, 10, 0)
    assert [len(c.text) for c in chunks] == [10, 10, 5]
    assert "".join(c.text for c in chunks) == text


def test_very_long_token_is_cut() -> None:
    blob = "A" * (MAX_WORD_CHARS * 10)
    chunks = chunk_text(blob, 3, 0)
    assert all(len(c.text) <= 3 * MAX_WORD_CHARS for c in chunks)
    assert "".join(c.text for c in chunks) == blob


def test_offsets_with_crlf_and_tabs() -> None:
    text = "Title\r\n\r\n\tFirst para here.\r\n\r\nSecond para\tends here."
    for ch in chunk_text(text, 3, 1):
        assert text[ch.start : ch.end] == ch.text
        assert not re.match(r"\s", ch.text)


def test_is_lazy_over_long_text() -> None:
    text = "word " * 200_000
    gen = iter_chunks(text, 100, 10)
    first = next(gen)
    assert first.start == 0 and len(first.text.split()) == 100


@pytest.mark.parametrize(("words", "overlap"), [(0, 0), (10, 10), (10, -1), (5, 7)])
def test_bad_params_raise_config_error(words: int, overlap: int) -> None:
    with pytest.raises(ConfigError, match="chunk_"):
        chunk_text("some text", words, overlap)


def test_a_section_starts_its_own_chunk_and_no_chunk_ends_on_its_title() -> None:
    """Documents, slides and PDFs are written with Markdown headings: a chunk ends before the first heading
    after a quarter of its window (not at the paragraph break after it), and the next chunk starts at the
    heading with nothing of the section before it."""
    intro = " ".join(f"intro{n}" for n in range(14)) + "."
    text = f"{intro}\n\n## Fog horns\n\n" + " ".join(f"horn{n}" for n in range(30)) + "."
    chunks = chunk_text(text, 20, 5)
    assert chunks[0].text == intro  # cut before the heading (word 15 of a 20-word window), not after it
    assert chunks[1].text.startswith("## Fog horns") and "intro" not in chunks[1].text
    assert all(text[c.start : c.end] == c.text for c in chunks)
    assert not any(c.text.split("\n")[-1].startswith("#") for c in chunks)
    early = " ".join(f"w{n}" for n in range(2)) + "\n\n# Title\n\n" + " ".join(f"v{n}" for n in range(30))
    first = chunk_text(early, 12, 3)[0]  # two words before the heading, under a quarter of 12: joined to it
    assert not first.text.split("\n")[-1].startswith("#") and len(first.text.split()) == 12
    late = " ".join(f"w{n}" for n in range(3)) + "\n\n# Title\n\n" + " ".join(f"v{n}" for n in range(30))
    assert chunk_text(late, 12, 3)[0].text == "w0 w1 w2"  # three: a quarter of the window, a chunk of its own
    titled = "# Lighthouse Manual\n\n## 1 Lamp room\n\n" + " ".join(f"v{n}" for n in range(30))
    assert chunk_text(titled, 12, 3)[0].text.startswith("# Lighthouse Manual\n\n## 1 Lamp room\n\nv0")  # no title alone


def test_each_section_of_a_short_text_is_a_chunk_of_its_own() -> None:
    """A text shorter than a window (a page, a note) is cut before its headings too, unless the section before
    one is under a quarter of the window: "What does the guide say about fog horns?" finds the fog horns'
    section, not a chunk that is mostly about lamps."""
    lamps = " ".join(f"lamp{n}" for n in range(45)) + "."
    horns = " ".join(f"horn{n}" for n in range(45)) + "."
    text = f"# Guide\n\n## Lamps\n\n{lamps}\n\n## Fog horns\n\n{horns}\n\n## Bells\n\nRing twice.\n\n## Whistles\n\nBlow."
    chunks = [c.text for c in chunk_text(text, 160, 32)]
    assert chunks == [f"# Guide\n\n## Lamps\n\n{lamps}", f"## Fog horns\n\n{horns}",
                      "## Bells\n\nRing twice.\n\n## Whistles\n\nBlow."]  # two small sections: one chunk


def test_each_chunk_knows_the_headings_it_falls_under() -> None:
    """A heading ends the headings of its level and deeper; a chunk that opens with a title is in its section; a
    ``# comment`` inside a fence is code; the trail at a page's end carries into the next page."""
    prose = " ".join(f"w{n}" for n in range(30)) + "."
    text = (f"# Guide\n\n{prose}\n\n## Install\n\n{prose}\n\n```\n# not a heading\n```\n\n### From source\n\n"
            f"{prose}\n\n## Use\n\n{prose}")
    assert [(lvl, w) for _, lvl, w in headings(text)] == [(1, "Guide"), (2, "Install"), (3, "From source"), (2, "Use")]
    got = [(c.text.split()[0], trail_words(t)) for c, t in sectioned(headings(text), chunk_text(text, 20, 5))]
    assert ("##", "Guide > Install") in got and ("###", "Guide > Install > From source") in got
    assert ("##", "Guide > Use") in got
    assert got[0] == ("#", "Guide")
    mid = [t for c, t in sectioned(headings(text), chunk_text(text, 20, 5)) if c.text.startswith("w") and "From" not in c.text]
    assert trail_words(mid[-1]) == "Guide > Use"  # a chunk inside a section, not at its title
    after = trail_after(headings(text))
    assert trail_words(after) == "Guide > Use"
    nxt = [trail_words(t) for _, t in sectioned([], chunk_text("more words on the next page"), after)]
    assert nxt == ["Guide > Use"]
    assert trail_words(trail_after(headings("#### Deep\n\ntext\n\n## Up"), after)) == "Guide > Up"
    assert [t for _, t in sectioned(headings("plain text only"), chunk_text("plain text only"))] == [()]
    opened = "# Bread\n\n## Starter\n\nFeed it.\n\n## Baking\n\nBake it hot."  # one chunk: where its words start
    assert [trail_words(t) for _, t in sectioned(headings(opened), chunk_text(opened))] == ["Bread > Starter"]
    assert trail_words(((1, "Bread"), (2, "Starter")), "bread") == "Starter"  # the document's title is shown anyway


def test_setext_headings_are_read_and_cut_before_like_atx_ones() -> None:
    """In a Markdown file a person wrote (``setext``), a README's ``Install`` over ``-------`` is a heading (level 2; ``=====``: level 1): a section starts there,
    no chunk ends on it or between its words and its rule. Not a heading: a paragraph's last line over a rule,
    a list item over ``---`` (an item and a thematic break), a line inside a fence, a table's row."""
    prose = " ".join(f"w{n}" for n in range(30)) + "."
    text = (f"Lamp guide\n==========\n\n{prose}\n\nInstall\n-------\n\n{prose}\n\n```\nnot a heading\n---\n```\n\n"
            f"- an item\n---\n\nfirst line\nlast line\n---\n\n| a | b |\n---\n\nUse it\r\n------\r\n{prose}")
    assert [(lvl, w) for _, lvl, w in headings(text, setext=True)] == [(1, "Lamp guide"), (2, "Install"), (2, "Use it")]
    assert headings(text) == []  # what the readers write: marked headings only
    assert [text[at:].split("\n")[0].strip() for at, _, _ in headings(text, setext=True)] == ["Lamp guide", "Install", "Use it"]
    chunks = chunk_text(text, 24, 4, setext=True)
    assert all(text[c.start : c.end] == c.text for c in chunks)
    install = next(c for c in chunks if "Install" in c.text)
    assert install.text.startswith("Install\n-------") and "Lamp" not in install.text  # a section of its own
    for c in chunks:  # never ends on a title or its rule, never between them
        last = c.text.rstrip().split("\n")[-1].strip()
        assert last not in ("Install", "-------", "Use it", "------"), c.text
    got = {c.text.split()[0]: trail_words(t) for c, t in sectioned(headings(text, setext=True), chunks)}
    assert got["Install"] == "Lamp guide > Install" and got["Use"] == "Lamp guide > Use it"

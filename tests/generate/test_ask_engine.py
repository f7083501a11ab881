"""``engine.ask`` end to end with the ``extractive`` generator: real MiniLM space, real OCR,
real LanceDB folder. The answer's citations must point at the file that holds the answer,
whether that is a note or the text OCR'd from a picture.

Slow (model loads + indexing take 20-90 s on 2 busy cores): ``pytest -m slow tests/generate``.
The fast end-to-end check on hand-made hits of every modality is in ``test_extractive.py``.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image, ImageDraw, ImageFont

import mmrag
from mmrag.config import load_config

NOTES = {
    "tower.md": "# Paris\n\nThe Eiffel Tower is 330 metres tall. It was finished in 1889 for the World's Fair.",
    "budget.txt": "Planning memo. The budget for next year is four million euros. Two engineers will be hired.",
    "bread.md": "To bake sourdough bread, feed the starter, mix flour and water, and let the dough rise overnight.",
}
pytestmark = pytest.mark.slow

SIGN = ["WAREHOUSE HOURS", "The warehouse opens", "at seven on Mondays"]


def _sign(path: Path) -> None:
    img = Image.new("RGB", (900, 360), "white")
    draw = ImageDraw.Draw(img)
    try:
        font = ImageFont.truetype("DejaVuSans.ttf", 56)
    except OSError:
        font = ImageFont.load_default(size=56)
    for i, line in enumerate(SIGN):
        draw.text((40, 30 + i * 105), line, fill="black", font=font)
    img.save(path)


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    root = tmp_path_factory.mktemp("mixed")
    for name, text in NOTES.items():
        (root / name).write_text(text, encoding="utf-8")
    _sign(root / "sign.png")
    index = tmp_path_factory.mktemp("idx") / "index"
    cfg = load_config({"index": str(index), "space.name": "minilm", "generate.backend": "extractive"}, environ={})
    eng = mmrag.Engine.open(str(index), cfg)
    report = eng.add([root])
    assert not report.failed, report.failed
    yield eng
    eng.close()


@pytest.mark.parametrize(
    ("question", "source", "words"),
    [
        ("How tall is the Eiffel Tower?", "tower.md", "330 metres"),
        ("What is the budget for next year?", "budget.txt", "four million euros"),
        ("When does the warehouse open?", "sign.png", "seven"),
    ],
)
def test_ask_cites_the_file_holding_the_answer(engine, question: str, source: str, words: str) -> None:  # type: ignore[no-untyped-def]
    streamed: list[str] = []
    answer = engine.ask(question, stream=streamed.append)
    assert answer.generator == "extractive"
    assert answer.citations, answer.text
    first = answer.citations[0]
    assert Path(first.hit.source).name == source, answer.text
    assert words in answer.text.lower() or words in answer.text
    assert words.lower() in (first.hit.text or "").lower()  # the cited segment really holds the words
    assert answer.dropped_citations == ()
    assert "".join(streamed).strip() == answer.text
    for key in ("embed_s", "search_s", "prompt_s", "first_token_s", "generate_s"):
        assert answer.timings[key] >= 0

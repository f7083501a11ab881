"""End to end through Engine with the real offline space (MiniLM + OCR) and a real LanceDB folder."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import mmrag
from mmrag.config import load_config
from mmrag.errors import FilterError, MmragError, QueryError, SpaceMismatch
from mmrag.ingest.pipeline import AddEvent

NOTES = {
    "volcano.md": "# Volcanoes\n\nMagma rises through the crust and erupts as lava, ash and gas from the crater.",
    "bread.txt": "To bake sourdough bread, feed the starter, mix flour and water, let the dough rise overnight, then bake it hot.",
    "football.md": "The striker scored twice in the second half and the team won the league title on goal difference.",
    "tax.txt": "Quarterly budget review: travel spending exceeded the plan, so the finance team froze new hires.",
    "office-faq.md": "# Office FAQ\n\n## Where do I park my bike?\n\nBikes go in the shed behind building B. "
                     "The door code is on the intranet.\n\n## Can I bring my dog?\n\nDogs are welcome on Fridays "
                     "if they stay on a lead.\n",
}


def _cfg(index: Path, **over: object) -> mmrag.Config:
    base = {"index": str(index), "space.name": "minilm"}
    base.update({k: v for k, v in over.items()})
    return load_config(base, environ={})


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.conftest import package_file

    root = tmp_path_factory.mktemp("corpus")
    for name, text in NOTES.items():
        (root / name).write_text(text, encoding="utf-8")
    shutil.copyfile(package_file("skimage", "data/page.png"), root / "scan.png")  # a printed book page
    shutil.copyfile(package_file("sklearn", "datasets/images/china.jpg"), root / "IMG_0042.jpg")
    shutil.copyfile(package_file("skimage", "data/chelsea.png"), root / "tabby-cat.png")
    (root / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 40)  # PNG magic, corrupt body
    (root / "empty.txt").write_bytes(b"")
    return root


@pytest.fixture(scope="module")
def engine(corpus: Path, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    index = tmp_path_factory.mktemp("idx") / "index"
    eng = mmrag.Engine.open(str(index), _cfg(index))
    report = eng.add([corpus])
    eng.report = report  # type: ignore[attr-defined]
    yield eng
    eng.close()


def test_ask_quotes_the_answer_under_an_faq_heading_not_the_heading(engine) -> None:  # type: ignore[no-untyped-def]
    """The heading restates the question; the answer is the text under it (``ask`` once answered
    "Where do I park my bike [1]?"). Extractive generator, the offline default."""
    answer = engine.ask("Where do I park my bike?")
    assert answer.generator == "extractive"
    assert Path(answer.citations[0].hit.source).name == "office-faq.md", answer.text
    assert answer.text.startswith("Bikes go in the shed behind building B [1]."), answer.text
    assert "park my bike" not in answer.text and "dog" not in answer.text.lower()


def test_add_reports_per_file_and_bad_files_do_not_stop_the_batch(engine, corpus: Path) -> None:  # type: ignore[no-untyped-def]
    report = engine.report
    failed = {Path(s).name: reason for s, reason in report.failed}
    assert set(failed) == {"broken.png", "empty.txt"}
    assert "empty" in failed["empty.txt"].lower()
    assert {Path(s).name for s in report.added} == set(NOTES) | {"scan.png", "tabby-cat.png", "IMG_0042.jpg"}
    assert report.segments >= len(NOTES) + 3
    assert len(engine.sources()) == len(NOTES) + 3


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("lava coming out of a mountain", "volcano.md"),
        ("how do I make a loaf at home", "bread.txt"),
        ("who won the soccer championship", "football.md"),
        ("what did finance decide about the budget", "tax.txt"),
    ],
)
def test_paraphrased_text_queries_rank_the_right_note_first(engine, query: str, expected: str) -> None:  # type: ignore[no-untyped-def]
    hits = engine.search(query, k=3)
    assert Path(hits[0].source).name == expected
    assert hits[0].score > hits[-1].score


def test_image_found_through_its_ocr_text_and_name(engine) -> None:  # type: ignore[no-untyped-def]
    hits = engine.search("tabby cat", k=3, modality="image")
    assert hits and all(h.modality.value == "image" for h in hits)
    assert Path(hits[0].source).name == "tabby-cat.png"
    assert hits[0].has_thumbnail and engine.thumbnail(hits[0].segment_id)[:2] == b"\xff\xd8"  # JPEG
    # words printed on skimage's page.png ("Let us first determine markers of the coins and the background")
    ocr_hits = engine.search("markers of coins and background", k=3, modality="image")
    assert Path(ocr_hits[0].source).name == "scan.png"
    assert "coins" in (ocr_hits[0].text or "")
    assert ocr_hits[0].score > ocr_hits[1].score + 1.0


def test_where_filter_and_modality(engine) -> None:  # type: ignore[no-untyped-def]
    hits = engine.search("anything at all", k=10, where="source LIKE '%bread%'")
    assert hits and {Path(h.source).name for h in hits} == {"bread.txt"}
    with pytest.raises(FilterError):
        engine.search("x", where="nonsense_column = 3")
    with pytest.raises(QueryError, match="unknown modality"):
        engine.search("x", modality="smell")


def test_calibrated_scores_are_comparable_across_modalities(engine) -> None:  # type: ignore[no-untyped-def]
    hits = engine.search("sourdough starter and flour", k=8)
    scores = [h.score for h in hits]
    assert scores == sorted(scores, reverse=True)
    assert Path(hits[0].source).name == "bread.txt"
    assert hits[0].score > 3.0  # a real match stands several background deviations out


def test_readd_is_noop_change_replaces_remove_deletes(corpus: Path, tmp_path: Path) -> None:
    index = tmp_path / "idx"
    work = tmp_path / "work"
    shutil.copytree(corpus, work)
    (work / "broken.png").unlink()
    (work / "empty.txt").unlink()
    eng = mmrag.Engine.open(str(index), _cfg(index, **{"ingest.ocr": False}))
    first = eng.add([work])
    rows = eng.store.count()
    again = eng.add([work])
    assert len(again.unchanged) == len(first.added) and not again.added and not again.replaced
    assert eng.store.count() == rows

    (work / "volcano.md").write_text("Glaciers carve valleys as the ice slowly flows downhill.", encoding="utf-8")
    changed = eng.add([work])
    assert [Path(s).name for s in changed.replaced] == ["volcano.md"]
    top = eng.search("ice flowing down a valley", k=1)[0]
    assert Path(top.source).name == "volcano.md" and "Glaciers" in (top.text or "")
    assert not eng.search("magma and crater", k=10, where=f"source = '{work / 'volcano.md'}' AND text LIKE '%Magma%'")

    removed = eng.remove([work / "bread.txt"])
    assert [Path(s).name for s in removed] == ["bread.txt"]
    assert all(Path(h.source).name != "bread.txt" for h in eng.search("sourdough bread", k=10))
    assert len(eng.sources()) == len(first.added) - 1
    eng.close()


def test_reopen_remembers_space_and_refuses_another(engine, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    location = engine.config.index
    reopened = mmrag.Engine.open(location, load_config({"index": location}, environ={}))
    assert reopened.info().space is not None and reopened.info().space.name == "minilm"
    assert Path(reopened.search("lava", k=1)[0].source).name == "volcano.md"
    reopened.close()
    with pytest.raises(SpaceMismatch, match="built with space 'minilm'"):
        mmrag.Engine.open(location, load_config({"index": location, "space.name": "clip"}, environ={}))


def test_interrupt_leaves_complete_files_and_resumes(tmp_path: Path) -> None:
    src = tmp_path / "many"
    src.mkdir()
    for i in range(6):
        (src / f"note{i}.txt").write_text(f"Note number {i} about topic {i} " * 5, encoding="utf-8")
    index = tmp_path / "idx"
    eng = mmrag.Engine.open(str(index), _cfg(index, **{"space.batch_size": 1}))
    settled: list[str] = []

    def stop_after_two(event: AddEvent) -> None:
        if event.kind == "file":
            settled.append(event.path)
            if len(settled) == 2:
                raise KeyboardInterrupt

    report = eng.add([src], progress=stop_after_two)
    assert report.interrupted
    stored = {s.source: s.segments for s in eng.sources()}
    assert 1 <= len(stored) < 6
    assert all(n >= 1 for n in stored.values())  # no half-written file
    resumed = eng.add([src])
    assert not resumed.interrupted
    assert set(resumed.unchanged) == set(stored)
    assert len(eng.sources()) == 6
    eng.close()


def test_search_on_missing_index_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(MmragError, match="no mmrag index"):
        mmrag.Engine.open(str(tmp_path / "nothing"), _cfg(tmp_path / "nothing"), create=False)


def test_reopen_keeps_the_recorded_tower_choice(tmp_path: Path) -> None:
    notes = tmp_path / "n"
    notes.mkdir()
    (notes / "a.txt").write_text("Otters hold hands while they sleep on the water.", encoding="utf-8")
    index = tmp_path / "idx"
    eng = mmrag.Engine.open(str(index), _cfg(index, **{"space.image_model": "off"}))
    eng.add([notes])
    assert eng.space.extra["space_config"]["image_model"] == "off"
    eng.close()
    # same space name given explicitly, tower unset: the recorded 'off' is used, no mismatch
    again = mmrag.Engine.open(str(index), _cfg(index))
    assert "image" not in again.space.spec.encoders
    assert Path(again.search("sea animals sleeping", k=1)[0].source).name == "a.txt"
    again.close()
    # an explicit, different tower is refused with a clear error
    other = mmrag.Engine.open(str(index), _cfg(index, **{"space.image_model": "shipped"}))
    with pytest.raises(SpaceMismatch):
        _ = other.space
    other.close()


def test_a_file_added_by_relative_and_absolute_paths_is_one_source(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`add notes` then `add /abs/notes` (or `add notes/a.txt`) indexed the same file twice; an index an
    older mmrag wrote with a relative source is cleaned up once the absolute copy lands."""
    from tests.ingest.test_relative_spellings import as_an_older_mmrag_left_it

    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "a.txt").write_text("Relative and absolute spellings of one file.", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    idx = str(tmp_path / "idx")
    eng = mmrag.Engine.open(idx, load_config({"space.name": "minilm", "index": idx, "ingest.ocr": False}, environ={}))
    eng.add(["notes"])
    eng.add([str(tmp_path / "notes")])
    eng.add(["notes/a.txt"])
    assert [s.source for s in eng.sources()] == [str((tmp_path / "notes" / "a.txt").resolve())]
    # an index written by an older mmrag: the same file stored under its relative spelling too
    absolute = str((tmp_path / "notes" / "a.txt").resolve())
    as_an_older_mmrag_left_it(eng, absolute)
    assert len(eng.sources()) == 2
    eng.add(["notes"])
    assert [s.source for s in eng.sources()] == [absolute]
    eng.close()


def _manual_page(command: str, what: str) -> str:
    """A manual page in Markdown whose OPTIONS section is word for word another page's: only the page's title
    and section tell the two apart."""
    about = " ".join(f"The {command} {what} is kept in working order by the keeper of station {n}." for n in range(9))
    return (f"# {command.upper()}(1)\n\n## NAME\n\n{command} - {what}\n\n## DESCRIPTION\n\n{about}\n\n"
            "## OPTIONS\n\n-c, --clean: Wipe everything before starting.\n\n-s, --slow: Start at half speed.\n")


def test_a_chunk_is_embedded_under_its_title_and_section(tmp_path: Path) -> None:
    """Two pages whose OPTIONS chunks are the same words: without the words that place a chunk (its document's
    title, its section) both queries would rank them alike; with them, each command's question finds its own
    page's options, and the hit says which section it is in."""
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "lamp.md").write_text(_manual_page("lamp", "lights the lighthouse lamp at dusk"), encoding="utf-8")
    (docs / "horn.md").write_text(_manual_page("horn", "sounds the fog horn over the bay"), encoding="utf-8")
    over = {"ingest.ocr": False, "ingest.chunk_words": 40, "ingest.chunk_overlap": 8}  # OPTIONS: a chunk of its own
    eng = mmrag.Engine.open(str(tmp_path / "idx"), _cfg(tmp_path / "idx", **over))
    try:
        eng.add([docs])
        for command in ("lamp", "horn"):
            hits = eng.search(f"What does the --clean option of the {command} command do?", k=10, modality="text")
            options = [h for h in hits if "--clean" in (h.text or "")]
            assert len(options) == 2 and options[0].text == options[1].text  # the same words on both pages
            assert Path(options[0].source).name == f"{command}.md", [(h.source, h.section) for h in options]
            assert options[0].section == "OPTIONS" and options[0].meta["title"] == f"{command.upper()}(1)"
    finally:
        eng.close()


_PACK_OPTIONS = {  # a manual's options, each described without the words a question about it would use
    "-c": "Write a new archive in place of any archive already there, which is emptied first.",
    "-C DIR": "Go into DIR before anything is read, so that stored names are relative to it.",
    "-l": "Print every stored name with its size and date, one name to a line, oldest first.",
    "-L": "Follow symbolic links and store what they point at rather than the links themselves.",
    "--level=N": "Squeeze harder: from 1, fast and loose, up to 9, slow and tight; 6 unless told.",
    "--list": "Show what an archive holds without unpacking anything, in the order it was stored.",
}


def test_an_option_asked_about_finds_its_own_entry(tmp_path: Path) -> None:
    """``-C`` is not ``-c`` and ``--list`` is not "list": a full-text index reads all of them as plain words
    (``c``, ``list``), so each entry of a manual's option list looked alike to a question about one option, and
    the query's ``-C`` was a negative term besides. The options a row names are indexed as tokens of their own
    (``option_terms``), a question's options are looked for there, and an entry of the option asked about gets
    a bonus: each question, asked as a sentence or as words, finds its own option's entry before any other
    entry. (The chunk that says what the command does may come first: it is about the command.)"""
    docs = tmp_path / "docs"
    docs.mkdir()
    about = "It keeps their names, their times and their modes, and reads them back the same way on any machine. " * 3
    entries = "\n\n".join(f"{tag}\n: {what} {what}" for tag, what in _PACK_OPTIONS.items())
    (docs / "pack.md").write_text(f"# PACK(1)\n\n## DESCRIPTION\n\npack puts files in an archive. {about}\n\n"
                                  f"## OPTIONS\n\n{entries}\n", encoding="utf-8")
    over = {"ingest.ocr": False, "ingest.chunk_words": 36, "ingest.chunk_overlap": 4}  # an entry a chunk
    eng = mmrag.Engine.open(str(tmp_path / "idx"), _cfg(tmp_path / "idx", **over))
    try:
        eng.add([docs])
        for tag in _PACK_OPTIONS:
            option = tag.split()[0].split("=")[0]
            for question in (f"What does the {option} option of pack do?", f"pack {option}"):
                hits = eng.search(question, k=10, modality="text")
                entries = [[line for line in (h.text or "").splitlines() if line in _PACK_OPTIONS] for h in hits]
                assert next((e for e in entries if e), None) == [tag], (question, entries)  # its entry before any other one
                assert hits[0].meta["section"] in ("OPTIONS", "DESCRIPTION")
    finally:
        eng.close()

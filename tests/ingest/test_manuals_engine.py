"""Manual pages, an Info manual, a LaTeX paper and an Org note through the engine: the default offline space, a real LanceDB folder. A page is
found by what it says, its hits carry no markup, ``ask`` quotes and cites it; an alias page is left out."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import mmrag
from mmrag.config import load_config
from mmrag.ingest.postscript import ghostscript

DATA = Path(__file__).parents[1] / "data"
MARKUP = ("\\f", "\\-", "\\(", ".TP", ".SH", ".Op", ".It", "File:", "* Menu:", ":PROPERTIES:", "[[")


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    root = tmp_path_factory.mktemp("manuals")
    docs = root / "man1"
    docs.mkdir()
    for name in ("appres.1", "ssh.1.gz", "xz.1.gz"):
        shutil.copy(DATA / "roff" / name, docs / name)
    shutil.copy(DATA / "info" / "orchard.info.gz", docs / "orchard.info.gz")
    shutil.copy(DATA / "latex" / "orchard_paper.tex", docs / "orchard_paper.tex")
    shutil.copy(DATA / "org" / "orchard-notes.org", docs / "orchard-notes.org")
    if ghostscript() is not None:  # a manual page as ``man -t`` prints it (PostScript, read through Ghostscript)
        shutil.copy(DATA / "postscript" / "lamp_options.ps", docs / "lamp_options.ps")
    (docs / "unxz.1").write_text(".so man1/xz.1\n")  # an alias, as Debian ships them
    index = root / "index"
    eng = mmrag.Engine.open(str(index), load_config({"index": str(index), "space.name": "minilm"}, environ={}))
    added = eng.add([docs])
    assert len(added.added) == 6 + (ghostscript() is not None) and [Path(p).name for p, _ in added.failed] == ["unxz.1"]
    yield eng
    eng.close()


def test_a_page_is_found_by_what_it_says_without_its_markup(engine) -> None:  # type: ignore[no-untyped-def]
    hit = engine.search("forwarding of the authentication agent connection", k=1)[0]
    assert Path(hit.source).name == "ssh.1.gz"
    assert "authentication agent" in hit.text and not any(m in hit.text for m in MARKUP)
    hit = engine.search("memory needed to decompress with preset -9", k=1)[0]
    assert Path(hit.source).name == "xz.1.gz"
    hit = engine.search("sterilise the blades between the trees", k=1)[0]  # the Org notes say when to prune too
    assert Path(hit.source).name == "orchard.info.gz" and not any(m in hit.text for m in MARKUP)
    hit = engine.search("the pear trees flowered two weeks early", k=1)[0]
    assert Path(hit.source).name == "orchard_paper.tex"
    assert "[keeper2020, gardener19]" in hit.text and "\\cite" not in hit.text and "\\label" not in hit.text
    hit = engine.search("sharpen the secateurs on the whetstone", k=1)[0]
    assert Path(hit.source).name == "orchard-notes.org"
    assert "TODO Sharpen the secateurs" in hit.text and "LOGBOOK" not in hit.text and "[#A]" not in hit.text


def test_ask_quotes_the_page_and_cites_it(engine) -> None:  # type: ignore[no-untyped-def]
    answer = engine.ask("Which option forces ssh to use IPv4 addresses only?")
    assert "-4: Forces ssh to use IPv4 addresses only" in answer.text  # the answer names the option
    answer = engine.ask("What does the -6 option of ssh do?")  # and the option asked about finds its entry
    assert answer.text.startswith("-6: Forces ssh to use IPv6 addresses only"), answer.text
    assert "ssh.1.gz" in {Path(c.hit.source).name for c in answer.citations}


@pytest.mark.skipif(ghostscript() is None, reason="Ghostscript not installed: bash scripts/install_system_tools.sh")
def test_a_typeset_manual_answers_for_each_option_apart(engine) -> None:  # type: ignore[no-untyped-def]
    # groff sets -C and -c as "−C" and "−c" (minus signs), in a PostScript file: each is still the option typed
    answer = engine.ask("What does the -C option of lampctl do?")
    assert answer.text.startswith("-C: clean the lens with a soft cloth"), answer.text
    assert {Path(c.hit.source).name for c in answer.citations} == {"lamp_options.ps"}
    answer = engine.ask("What does -c do in lampctl?")
    assert answer.text.startswith("-c: count the turns of the lamp since dusk"), answer.text

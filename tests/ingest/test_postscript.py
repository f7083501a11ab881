"""PostScript documents through Ghostscript: pages with their words, the file cited; no Ghostscript, a hint."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from mmrag.config import IngestConfig
from mmrag.errors import IngestError
from mmrag.ingest import postscript
from mmrag.ingest.postscript import GS_HINT, PostScriptLoader, ghostscript
from mmrag.ingest.sources import sniff_reason
from mmrag.option_terms import defines

DATA = Path(__file__).parents[1] / "data" / "postscript"
EPS = Path(__file__).parents[1] / "data" / "pillow" / "zero_bb_emptyline.eps"
needs_gs = pytest.mark.skipif(ghostscript() is None, reason="Ghostscript not installed: bash scripts/install_system_tools.sh")
CFG = IngestConfig(ocr=False)


def test_postscript_is_sniffed_as_a_document_and_eps_as_a_picture() -> None:
    assert sniff_reason(DATA / "field_notes.ps") == ("ps", "")
    assert sniff_reason(DATA / "field_notes.ps.gz") == ("ps", "")  # what is inside the gzip decides
    assert sniff_reason(EPS) == ("image", "")


def test_a_postscript_font_is_not_a_document(tmp_path: Path) -> None:
    font = tmp_path / "euro.pfa"  # how a Type 1 font written as text begins (groff ships some)
    font.write_text("%!PS-AdobeFont-1.0: FreeEuro 001.001\n%%Title: FreeEuro\n/FontName /FreeEuro def\n")
    kind, reason = sniff_reason(font)
    assert kind is None and reason.startswith("a PostScript font (Type 1), not a document")


@needs_gs
@pytest.mark.parametrize("name", ["field_notes.ps", "field_notes.ps.gz"])
def test_pages_keep_their_words_and_cite_the_postscript_file(name: str) -> None:
    segments = list(PostScriptLoader().load(DATA / name, CFG))
    assert {s.source for s in segments} == {str(DATA / name)}
    pages = {s.span.page: s.text for s in segments}
    assert sorted(pages) == [1, 2]
    assert "pear trees along the north wall" in pages[1] and "quinces" not in pages[1]
    assert "ninety kilograms of quinces" in pages[2]
    assert segments[0].thumbnail  # the drawn page, for the result grid


@needs_gs
def test_a_manuals_option_list_is_read_as_its_entries() -> None:
    """``man -t``'s PostScript (groff 1.22.4, ``lamp_options.7``): each ``.TP`` item is one ``tag: text`` line, its
    tag with the dashes people type (groff sets minus signs), so ``-C`` and ``-c`` each have their entry."""
    text = "\n".join(s.text or "" for s in PostScriptLoader().load(DATA / "lamp_options.ps", CFG))
    lines = text.split("\n")
    assert "-C: clean the lens with a soft cloth before the lamp is lit" in lines  # tag and text on one line
    assert "-c: count the turns of the lamp since dusk" in lines
    assert "-r, --rate=RPM: turn the lamp RPM times a minute; the keepers use four turns a minute in fog" in lines
    assert "--fog-horn-interval=SECONDS: sound the fog horn every SECONDS seconds while the lamp is lit" in lines  # a tag alone over its text
    assert defines(text, {"-C"}) and defines(text, {"-c"}) and defines(text, {"--fog-horn-interval"})
    assert any(line.startswith("\u2212C and \u2212c are not the same") for line in lines)  # a sentence, as typeset: no entry
    # groff's words as they look: pdfium reads "set howfast it turns. Tw o of its options" (a space left out
    # where groff moved to the next word, one put inside a kerned pair)
    assert "set how fast it turns. Two of its options differ only in case" in text


@needs_gs
def test_a_relative_path_is_read_from_where_it_was_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "-notes.ps").write_bytes((DATA / "field_notes.ps").read_bytes())  # a name like an option, too
    monkeypatch.chdir(tmp_path)  # Ghostscript itself runs in a private folder of its own
    segments = list(PostScriptLoader().load(Path("-notes.ps"), CFG))
    assert "pear trees along the north wall" in segments[0].text and segments[0].source == "-notes.ps"


@needs_gs
def test_a_damaged_program_says_so() -> None:
    with pytest.raises(IngestError, match="Ghostscript could not draw this PostScript .*damaged or cut short"):
        list(PostScriptLoader().load(DATA / "truncated.ps", CFG))


@needs_gs
def test_a_program_cannot_read_other_files(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("the launch code is 0000\n")
    spy = tmp_path / "spy.ps"  # draws the secret's first line on the page, if it may open it (-dSAFER: it may not)
    spy.write_text(f"%!PS-Adobe-3.0\n/Times-Roman findfont 12 scalefont setfont 72 720 moveto\n"
                   f"({secret}) (r) file 100 string readline pop show showpage\n")
    with pytest.raises(IngestError, match="could not draw") as info:
        list(PostScriptLoader().load(spy, CFG))
    assert "launch code" not in str(info.value)


@needs_gs
def test_a_program_that_loops_is_stopped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    forever = tmp_path / "forever.ps"
    forever.write_text("%!PS-Adobe-3.0\n{ 1 pop } loop\n")
    monkeypatch.setattr(postscript, "GS_TIMEOUT_S", 2.0)
    with pytest.raises(IngestError, match="did not finish drawing it in 2 s"):
        list(PostScriptLoader().load(forever, CFG))


def test_without_ghostscript_the_reason_names_the_install(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(postscript, "ghostscript", lambda: None)
    with pytest.raises(IngestError) as info:
        list(PostScriptLoader().load(DATA / "field_notes.ps", CFG))
    assert info.value.reason == GS_HINT and "apt-get install ghostscript" in GS_HINT
    bomb = tmp_path / "big.ps.gz"  # a compressed program is bounded like any compressed text
    bomb.write_bytes(gzip.compress(b"%!PS-Adobe-3.0\n" + b" " * (300 << 20), 9))
    monkeypatch.setattr(postscript, "ghostscript", lambda: "/bin/false")
    with pytest.raises(IngestError, match="expands past"):
        list(PostScriptLoader().load(bomb, CFG))


@needs_gs
def test_an_eps_picture_that_loops_is_stopped_and_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Pillow's own EPS reader runs Ghostscript with no time limit: this picture hung `mmrag add`."""
    from mmrag.ingest.image import open_image

    forever = tmp_path / "forever.eps"
    forever.write_text("%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 100 100\n{ 1 pop } loop\n%%EOF\n")
    monkeypatch.setattr(postscript, "GS_TIMEOUT_S", 2.0)
    with pytest.raises(IngestError, match=r"did not finish drawing it in 2 s \(an EPS picture that loops forever\?\)"):
        open_image(forever, "forever.eps", CFG)

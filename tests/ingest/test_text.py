"""TextLoader and HtmlLoader: decoding, titles, offsets, refusals."""

from __future__ import annotations

from pathlib import Path

import pytest

from mmrag import registry
from mmrag.config import IngestConfig
from mmrag.engine import Engine
from mmrag.errors import ConfigError, IngestError
from mmrag.generate.prompt import paragraphs
from mmrag.ingest.base import Loader
from mmrag.ingest.pipeline import embedded_text
from mmrag.ingest.text import (
    HtmlLoader,
    TextLoader,
    decode_text,
    find_title,
    html_to_text,
    stray_brackets_escaped,
)
from mmrag.markdown import as_shown, headings, hidden_blanked
from mmrag.types import Modality, Segment

MARKDOWN = """---
layout: post
---
Intro line before the heading.

# Solar *Power* Basics

Photovoltaic cells turn sunlight into electricity. They are made of silicon.

## Storage

Batteries store the energy for the night.
"""


def load(loader: TextLoader | HtmlLoader, path: Path, config: IngestConfig) -> list:  # type: ignore[type-arg]
    return list(loader.load(path, config))


def test_loaders_are_registered_and_follow_the_protocol() -> None:
    for kind, cls in (("text", TextLoader), ("html", HtmlLoader)):
        loader = registry.resolve("loader", kind)()
        assert isinstance(loader, cls) and isinstance(loader, Loader)
        assert loader.kinds == (kind,)


def test_markdown_title_offsets_and_values(tmp_path: Path) -> None:
    path = tmp_path / "solar notes.md"
    path.write_text(MARKDOWN, encoding="utf-8")
    cfg = IngestConfig(chunk_words=12, chunk_overlap=2)
    segs = load(TextLoader(), path, cfg)
    assert len(segs) >= 3
    for s in segs:
        assert s.modality is Modality.TEXT and s.source == str(path)
        assert MARKDOWN[s.span.start : s.span.end] == s.text
        meta = dict(s.meta)
        meta.pop("section", None)
        assert meta == {"format": "markdown", "encoding": "utf-8", "title": "Solar Power Basics"}
    # each chunk names the headings it falls under; the text tower reads the title and the innermost one first
    intro, solar, storage = (next(s for s in segs if s.text.startswith(w)) for w in ("---", "# Solar", "## Storage"))
    assert "section" not in intro.meta and "section" not in solar.meta  # under the title alone: no section
    assert storage.meta["section"] == "Storage"  # the title, shown anyway, is not repeated
    assert embedded_text(storage) == f"Solar Power Basics > Storage\n\n{storage.text}"  # the title, its section
    silicon = next(s for s in segs if s.text.startswith("into electricity"))  # inside the section
    assert embedded_text(silicon) == f"Solar Power Basics\n\n{silicon.text}"  # the title once, not twice
    assert embedded_text(intro) == f"Solar Power Basics\n\n{intro.text}"
    joined = " ".join(s.text for s in segs)
    for word in ("Photovoltaic", "silicon.", "Batteries", "night."):
        assert word in joined
    assert len({s.id for s in segs}) == len(segs)


@pytest.mark.parametrize(
    ("text", "title"),
    [
        ("# Hello *World*\n\nbody", "Hello World"),
        ("intro\n\n## [Linked](http://x.org) title ##\n", "Linked title"),
        ("Setext Title\n============\n\ntext", "Setext Title"),
        ('---\ntitle: "Front Matter"\ndate: 2020\n---\n# Other', "Front Matter"),
        ("no heading at all\njust text", None),
        ("    # indented code, not a heading\n", None),
    ],
)
def test_find_title(text: str, title: str | None) -> None:
    assert find_title(text) == title


@pytest.mark.parametrize(
    ("data", "text", "encoding"),
    [
        ("h\u00e9llo".encode(), "h\u00e9llo", "utf-8"),
        ("\ufeffh\u00e9llo".encode(), "h\u00e9llo", "utf-8-sig"),
        ("h\u00e9llo w\u00f6rld".encode("utf-16"), "h\u00e9llo w\u00f6rld", "utf-16"),
        ("h\u00e9llo".encode("utf-16-be").join([b"\xfe\xff", b""]), "h\u00e9llo", "utf-16"),
        ("\u00e7a va tr\u00e8s bien aujourd'hui".encode("cp1252"), "\u00e7a va tr\u00e8s bien aujourd'hui", "cp1252"),
        ("\u041f\u0440\u0438\u0432\u0435\u0442 \u043c\u0438\u0440, \u043a\u0430\u043a \u0434\u0435\u043b\u0430?".encode("cp1251"),
         "\u041f\u0440\u0438\u0432\u0435\u0442 \u043c\u0438\u0440, \u043a\u0430\u043a \u0434\u0435\u043b\u0430?", "cp1251"),
    ],
)  # fmt: skip
def test_decode_text(data: bytes, text: str, encoding: str) -> None:
    assert decode_text(data) == (text, encoding)


@pytest.mark.parametrize(
    ("text", "codec"),
    [
        ("\u65e5\u672c\u8a9e\u306e\u30c6\u30ad\u30b9\u30c8\u3067\u3059\u3002\u6771\u4eac\u306f\u65e5\u672c\u306e\u9996\u90fd\u3067\u3059\u3002", "shift_jis"),
        ("\u4e2d\u6587\u6587\u672c\u6d4b\u8bd5\uff0c\u8fd9\u662f\u4e00\u4e2a\u6d4b\u8bd5\u3002\u5317\u4eac\u662f\u4e2d\u56fd\u7684\u9996\u90fd\u3002", "gbk"),
        ("Gr\u00fc\u00dfe aus M\u00fcnchen, sch\u00f6ne Stra\u00dfe", "cp1252"),
    ],
)  # fmt: skip
def test_legacy_encodings_decode_to_the_right_text(text: str, codec: str) -> None:
    assert decode_text(text.encode(codec))[0] == text


def test_utf16_file_loads(tmp_path: Path, cfg: IngestConfig) -> None:
    path = tmp_path / "win.txt"
    path.write_bytes("Notes from Windows\r\n\r\nSecond paragraph.".encode("utf-16"))
    (seg,) = load(TextLoader(), path, cfg)
    assert seg.text == "Notes from Windows\r\n\r\nSecond paragraph."
    assert seg.meta["encoding"] == "utf-16" and seg.meta["format"] == "text"
    assert "title" not in seg.meta


def test_control_characters_become_spaces_keeping_offsets(tmp_path: Path, cfg: IngestConfig) -> None:
    path = tmp_path / "log.txt"
    path.write_bytes(b"start\x00\x01middle\x1b[0m end\tok\x7f")
    (seg,) = TextLoader().load(path, cfg)
    assert seg.text == "start  middle [0m end\tok"
    assert (seg.span.start, seg.span.end) == (0, 24)  # same offsets as in the raw file


@pytest.mark.parametrize("content", [b"", b"   \n\t\r\n  ", "\ufeff  \n".encode(), b"\x00\x00 \x01"])
def test_empty_or_whitespace_is_refused(tmp_path: Path, cfg: IngestConfig, content: bytes) -> None:
    path = tmp_path / "blank.txt"
    path.write_bytes(content)
    with pytest.raises(IngestError, match="empty") as err:
        TextLoader().load(path, cfg)
    assert err.value.source == str(path)


def test_oversized_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "big.txt"
    path.write_text("word " * 1000)
    with pytest.raises(IngestError, match="max_file_mb"):
        TextLoader().load(path, IngestConfig(max_file_mb=0.001))


def test_bad_chunk_config_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "a.txt"
    path.write_text("some words here")
    with pytest.raises(ConfigError):
        TextLoader().load(path, IngestConfig(chunk_words=10, chunk_overlap=10))


HTML = """<!DOCTYPE html>
<html><head>
<meta charset="utf-8">
<title>  Tide   Tables </title>
<meta name="description" content="When the sea comes in.">
<style>body { color: red; } .hidden { display: none }</style>
<script>var secret = "do not index";</script>
</head>
<body>
<nav><a href="/">Home</a></nav>
<h1>High &amp; low tides</h1>
<p>The moon pulls the <b>ocean</b>&nbsp;twice a day.</p>
<noscript>Enable JavaScript</noscript>
<ul><li>Spring tides<li>Neap tides</ul>
<table><tr><td>06:12</td><td>high</td></tr></table>
<pre>  indented
  code</pre>
<script type="module">console.log("nope")</script>
</body></html>
"""


def test_html_visible_text_and_meta(tmp_path: Path, cfg: IngestConfig) -> None:
    path = tmp_path / "tides.html"
    path.write_text(HTML, encoding="utf-8")
    segs = load(HtmlLoader(), path, cfg)
    text = " ".join(s.text for s in segs)
    assert "High & low tides" in text
    assert "The moon pulls the ocean twice a day." in text  # &nbsp; becomes a plain space
    assert "Spring tides\nNeap tides" in text
    assert "06:12 | high" in text  # a table row as a line of cells, as the other readers write one
    for hidden in ("secret", "color: red", "console", "Enable JavaScript", "Tide Tables"):
        assert hidden not in text
    meta = dict(segs[0].meta)
    assert meta.pop("section") == "High & low tides"  # the page's heading: the chunk is in its section
    assert meta == {
        "format": "html",
        "encoding": "utf-8",
        "title": "Tide Tables",
        "description": "When the sea comes in.",
    }


def test_html_offsets_point_into_extracted_text() -> None:
    text, _ = html_to_text(HTML)
    from mmrag.ingest.chunking import chunk_text

    for ch in chunk_text(text, 5, 1):
        assert text[ch.start : ch.end] == ch.text


def test_html_title_falls_back_to_h1_and_head_may_be_unclosed() -> None:
    text, meta = html_to_text(
        "<html><head><title></title><link rel=x><body><h1>Only <i>Heading</i></h1><p>para"
    )
    assert meta["title"] == "Only Heading"
    assert text == "Only Heading\n\npara"


def test_html_declared_charset_is_used(tmp_path: Path, cfg: IngestConfig) -> None:
    path = tmp_path / "old.htm"
    path.write_bytes(
        '<html><head><meta charset="windows-1252"><title>Caf\u00e9</title></head><body>Cr\u00e8me br\u00fbl\u00e9e</body></html>'.encode(
            "cp1252"
        )
    )
    (seg,) = load(HtmlLoader(), path, cfg)
    assert seg.text == "Cr\u00e8me br\u00fbl\u00e9e"
    assert seg.meta["title"] == "Caf\u00e9" and seg.meta["encoding"] == "cp1252"


def test_html_without_visible_text_is_refused(tmp_path: Path, cfg: IngestConfig) -> None:
    path = tmp_path / "app.html"
    path.write_text(
        "<html><head><title>App</title><script>boot()</script></head><body><script>x()</script></body></html>"
    )
    with pytest.raises(IngestError, match="no visible text"):
        HtmlLoader().load(path, cfg)


def test_rich_text_is_indexed_by_its_words_not_its_markup(tmp_path: Path) -> None:
    """An .rtf note (WordPad, TextEdit) was indexed as its markup: "{\\rtf1\\ansi\\deff0 {\\fonttbl ..."."""
    rtf = ("{\\rtf1\\ansi\\deff0 {\\fonttbl {\\f0 Times New Roman;}}\n\\f0\\fs24 The {\\b harbour} master "
           "retires in {\\i May}.\\par\nThe caf\\'e9 opens in June \\u8212? on the pier.\\par\n}")
    path = tmp_path / "harbour.rtf"
    path.write_text(rtf, encoding="ascii")
    (seg,) = list(TextLoader().load(path, IngestConfig()))
    assert seg.text == "The harbour master retires in May.\nThe café opens in June — on the pier."
    assert seg.meta["format"] == "rtf"


# ---------------------------------------------------------------- an HTML page as Markdown (headings, code, no navigation)

PYTHON_FAQ = Path(__file__).parents[1] / "data" / "html" / "python-faq-gui.html"


def test_a_published_page_keeps_its_headings_and_drops_its_navigation_and_permalinks(cfg: IngestConfig) -> None:
    segs = load(HtmlLoader(), PYTHON_FAQ, cfg)
    text = "\n\n".join(s.text or "" for s in segs)
    assert "### Can I have Tk events handled while waiting for I/O?\n\nOn platforms other than Windows, yes" in text
    assert "## What GUI toolkits exist for Python?" in text
    assert "¶" not in text  # Sphinx's permalink after every heading
    for chrome in ("Table of Contents", "Previous topic", "Quick search", "modules |", "Theme"):
        assert chrome not in text  # the sidebar, the link bars and the search box are role="navigation"/"search"
    assert segs[0].meta["title"] == "Graphic User Interface FAQ — Python 3.11.2 documentation"


def test_html_markdown_details() -> None:
    page = """<html><body><div role="navigation"><ul><li><a href="/">Home</a></li><li><div>Docs<div>API</div></div></li></ul></div>
    <main><h1>Install<a class="headerlink" href="#install">¶</a></h1><h2></h2><h3><a href="#x">#</a></h3>
    <p>Run this:</p><pre>pip install tool
if ok:
    print("done")
</pre><pre>  </pre><p>See <a href="/more">the guide</a> <a href="#s">§</a>.</p>
    <nav><a href="/next">Next page</a></nav><p>After the menu.</p><p>Unclosed <a href="/x">link text"""
    text, _ = html_to_text(page, markdown=True)
    assert text == (
        '# Install\n\nRun this:\n\n```\npip install tool\nif ok:\n    print("done")\n```\n\n'
        "See the guide .\n\nAfter the menu.\n\nUnclosed link text"
    )
    plain, _ = html_to_text(page)  # a mail's body or a book's section: no marks, navigation kept
    assert plain.startswith("Home\n\nDocs\nAPI") and "Next page" in plain and "# " not in plain and "¶" not in plain


def test_an_html_tables_rows_are_lines_of_cells() -> None:
    """A Sphinx table (each cell a ``<p>``, links in cells, ``<thead>``/``<tbody>``) was written a cell a
    paragraph, so "Japanese" stood alone three rows from its codec; each row is now one ``a | b`` line, the
    rows of one table on consecutive lines, as the office, roff and PDF readers write theirs."""
    page = """<h1>Codecs</h1><p>The encodings:</p><table class="docutils">
    <thead><tr class="row-odd"><th class="head"><p>Codec</p></th><th class="head"><p>Aliases</p></th>
    <th class="head"><p>Languages</p></th></tr></thead>
    <tbody>
    <tr><td><p><a href="#iso">iso2022_jp_1</a></p></td><td><p>iso2022jp-1, iso-2022-jp-1</p></td><td><p>Japanese</p></td></tr>
    <tr><td><p>cp720</p></td><td></td><td><p>Arabic</p><p class="versionadded">New in version 3.4.</p></td></tr>
    <tr><td colspan="3"><p>a group's own line</p></td></tr>
    <tr><td><p>hz</p></td><td><p>hzgb<br>hz-gb</p></td><td><ul><li>Simplified</li><li>Chinese</li></ul></td></tr>
    </tbody></table><p>After the table.</p>"""
    text, _ = html_to_text(page, markdown=True)
    assert text == (
        "# Codecs\n\nThe encodings:\n\nCodec | Aliases | Languages\n"
        "iso2022_jp_1 | iso2022jp-1, iso-2022-jp-1 | Japanese\ncp720 |  | Arabic; New in version 3.4.\n\n"
        "a group's own line\n\nhz | hzgb; hz-gb | Simplified; Chinese\n\nAfter the table."
    )
    assert [p for p in paragraphs(text).split("\n") if "|" in p] == [
        "Codec | Aliases | Languages", "iso2022_jp_1 | iso2022jp-1, iso-2022-jp-1 | Japanese",
        "cp720 | | Arabic; New in version 3.4.", "hz | hzgb; hz-gb | Simplified; Chinese",
    ]  # the prompt keeps each row a line of its own (its spaces collapsed)


def test_a_layout_tables_cells_keep_their_lines() -> None:
    """A table that lays out a page (a heading or code in a cell, a table inside a row, a cell of more than
    ``MAX_ROW_CHARS``) is no data table: its cells keep their paragraphs, as before; a data table inside it is
    still written as rows."""
    long_cell = "<p>" + "word " * 250 + "</p>"
    page = f"""<table><tr><td><h2>Menu</h2><p>Home</p></td><td><p>Welcome.</p><pre>ls</pre></td></tr>
    <tr><td><p>Side</p></td><td><table><tr><td>a</td><td>1</td></tr><tr><td>b</td><td>2</td></tr></table></td></tr>
    <tr><td><p>Story</p></td><td>{long_cell}<p>The end.</p></td></tr></table>"""
    text, _ = html_to_text(page, markdown=True)
    assert "## Menu\n\nHome\n\nWelcome.\n\n```\nls\n```" in text
    assert "Side\n\na | 1\nb | 2\n" in text
    assert "Story\n\nword word" in text and "word\n\nThe end." in text and "Story |" not in text


def test_an_mdbook_pages_popups_and_menus_are_left_out() -> None:
    """mdBook (the Rust books) puts its keyboard help and its theme menu in every page, shown only on demand:
    every page's text began "## Keyboard shortcuts Press ← or → ... Auto Light Rust Coal Navy Ayu"."""
    page = """<body><div id="mdbook-help-container"><div id="mdbook-help-popup"><h2>Keyboard shortcuts</h2>
    <div><p>Press <kbd>S</kbd> to search</p></div></div></div>
    <div class="menu-bar"><ul id="mdbook-theme-list" class="theme-popup" role="menu"><li><button>Ayu</button></li></ul>
    <div role="menubar"><button>File</button></div></div>
    <main><h1>Operators</h1><p>The popup-free text.</p><div class="popups-page"><p>Kept.</p></div>
    <section id="popup-menus"><h2>Popup menus</h2><p>A section named so is kept.</p></section></main></body>"""
    text, _ = html_to_text(page, markdown=True)
    assert text == "# Operators\n\nThe popup-free text.\n\nKept.\n\n## Popup menus\n\nA section named so is kept."
    # rustdoc (cargo doc): a skip link, the top bar repeating the item's name, a button in the item's heading
    page = """<body><a class="skip-main-content" href="#main-content">Skip to main content</a>
    <rustdoc-topbar><h2><a href="#">Vec</a></h2></rustdoc-topbar><main><h1>Struct <span>Vec</span>&nbsp;<button
    id="copy-path" title="Copy item path to clipboard">Copy item path</button></h1><p>A growable array.</p>
    <p><a class="skip" href="/skip.html">Skip</a> is a function; <button>Run</button> runs it.</p></main></body>"""
    text, _ = html_to_text(page, markdown=True)
    assert text == "# Struct Vec\n\nA growable array.\n\nSkip is a function; Run runs it.", text


def test_a_pages_own_line_that_starts_with_a_hash_is_no_heading() -> None:
    """Only the page's ``<h1>``-``<h6>`` are headings: a paragraph "# of guests: 12" is written escaped (shown as
    written), a ``<pre>`` keeps its ``# comment`` inside the fence, and a control character of the page's own
    never passes for the reader's mark of a heading."""
    page = "<h1>Party</h1><p># of guests: 12</p><p>\x05## not one</p><pre># a comment\nls</pre><h2>Food</h2><p>Soup.</p>"
    text, _ = html_to_text(page, markdown=True)
    assert [(lvl, w) for _, lvl, w in headings(text)] == [(1, "Party"), (2, "Food")]
    assert text.startswith("# Party\n\n\\# of guests: 12\n\n\\## not one\n\n```\n# a comment\nls\n```")
    assert as_shown(text).split("\n")[2] == "# of guests: 12"


def test_a_definition_list_writes_each_term_before_its_definition() -> None:
    """``<dt>dialout</dt><dd>Full and direct access to serial ports.</dd>`` was two lines, so an answer
    quoting the definition never said which group it was; now the term starts its definition's line."""
    page = """<html><body><h1>Groups</h1><dl>
    <dt>dialout<a class="headerlink" href="#dialout">¶</a></dt><dd><p>Full and direct access to serial ports.</p>
    <p>Members can dial anywhere.</p></dd>
    <dt><code>-v</code></dt><dt>--verbose</dt><dd>Say more.</dd>
    <dt>Parameters:</dt><dd><p>obj – the object</p></dd>
    <dt>""" + "a very long signature " * 10 + """</dt><dd>Too long to be a label.</dd>
    <dt>example</dt><dd><pre>x = 1</pre></dd>
    <dt>sneaky\x02term\x03</dt><dd>Control characters in the page stay out of the way.</dd>
    <dt></dt><dd>No term at all.</dd>
    </dl></body></html>"""
    text, _ = html_to_text(page, markdown=True)
    lines = text.splitlines()
    assert "dialout: Full and direct access to serial ports." in lines
    assert "Members can dial anywhere." in lines  # only the first line of a definition carries its term
    assert "-v, --verbose: Say more." in lines  # two terms of one definition
    assert "Parameters: obj – the object" in lines  # a term ending in a colon gets no second one
    assert "Too long to be a label." in lines and not any(line.endswith(": Too long to be a label.") for line in lines)
    assert "example\n\n```\nx = 1\n```" in text  # code after a term: the term stays a line of its own
    assert "sneaky term: Control characters in the page stay out of the way." in lines
    assert "No term at all." in lines
    assert "\x02" not in text and "\x03" not in text
    plain, _ = html_to_text(page)  # a mail's body: no joining
    assert "dialout\n" in plain
    # end tags HTML lets a page omit: the next <dt> or the <dd> ends a term
    omitted, _ = html_to_text("<dl><dt>a<dd>Alpha.<dt>b<dt>c<dd>Beta.</dl>", markdown=True)
    assert omitted.splitlines() == ["a: Alpha.", "b, c: Beta."]


def test_terms_with_no_definition_stay_lines_of_their_own() -> None:
    """A table of contents written as ``<dt>`` entries with no ``<dd>`` (DocBook's): nothing is joined."""
    toc = "<dl><dt>5.13. Where is ezmlm?</dt><dt>5.14. Where is VoIP software?</dt></dl><p>Two protocols are used.</p>"
    text, _ = html_to_text(toc, markdown=True)
    assert [line for line in text.splitlines() if line] == [
        "5.13. Where is ezmlm?", "5.14. Where is VoIP software?", "Two protocols are used."]


def test_a_bracket_that_opens_no_tag_is_text_not_a_tag_to_scan_for() -> None:
    """Python 3.11's HTMLParser scans from each ``<`` that opens no tag to the end of the text (minutes for a
    page of ``a<b a<b ...``): such a ``<`` is escaped first; tags, comments and the words stay."""
    assert stray_brackets_escaped("a<b a<b <p>x</p> <!-- <div>old</div> --> if a < b <i>y</i> end <") == (
        "a&lt;b a&lt;b <p>x</p> <!-- <div>old</div> --> if a &lt; b <i>y</i> end &lt;")
    assert stray_brackets_escaped("no brackets") == "no brackets"
    text, _ = html_to_text("<p>a<b a<b c</p><!-- <div>old</div> --><p>x < y < z</p>" + "a<b " * 20_000, markdown=True)
    assert text.startswith("a<b a<b c\n\nx < y < z") and "old" not in text and text.count("a<b") == 20_002


def test_a_comment_never_closed_hides_the_rest_of_the_page_as_in_a_browser() -> None:
    assert stray_brackets_escaped("<p>a</p><!-- open <b>x</b> and <!-- again") == "<p>a</p>"
    text, _ = html_to_text("<p>Shown.</p><!--" * 20_000, markdown=True)
    assert text == "Shown."


def test_a_readme_with_underlined_titles_has_sections(tmp_path: Path, cfg: IngestConfig) -> None:
    """Setext headings (``Install`` over ``-------``, common in READMEs and changelogs) place each chunk as ATX
    ones do; the title is the first one's words."""
    path = tmp_path / "README.md"
    words = " ".join(f"w{n}" for n in range(40))
    path.write_text(f"Lamp\n====\n\nA desk lamp. {words[:70]}\n\nInstall\n-------\n\nPlug it in. {words}\n\n"
                    f"Usage\n-----\n\nPress the switch. {words}\n", encoding="utf-8")
    segs = load(TextLoader(), path, IngestConfig(chunk_words=30, chunk_overlap=4))
    assert {s.meta["title"] for s in segs} == {"Lamp"}
    placed = {s.text.split("\n")[0]: s.meta.get("section") for s in segs}
    assert placed["Install"] == "Install" and placed["Usage"] == "Usage", placed
    usage = next(s for s in segs if s.text.startswith("Usage"))
    assert embedded_text(usage) == f"Lamp > Usage\n\n{usage.text}"


def test_a_markdown_files_link_definitions_are_no_text_and_its_comments_are_hidden_when_shown(
        tmp_path: Path, cfg: IngestConfig) -> None:
    """The link reference definitions that end a file (Node's docs: hundreds of ``[`util.inspect()`]: #utilinspect``)
    are not indexed (a chunk of nothing else answers nothing), each other character at its offset in the file;
    an HTML comment (``<!-- YAML added: v10.0.0 -->``, a lint directive) is indexed, its words searchable, and
    hidden where the file is shown: a card, a result line, the prompt and so the extractive answer. A comment
    inside a fence is an HTML example."""
    path = tmp_path / "util.md"
    raw = ("# Util\n\n<!-- markdownlint-disable -->\n\n## Modifiers\n\n<!-- YAML\nadded: v10.0.0\n-->\n\n"
           "Modifier support varies <!-- see #123 --> between [terminals][].\n\n```html\n<!-- a comment -->\n```\n\n"
           "[terminals]: https://example.org/terminals\n[`util.inspect()`]: #utilinspect \"inspect\"\n")
    path.write_text(raw, encoding="utf-8")
    segs = load(TextLoader(), path, cfg)
    text = " ".join(s.text for s in segs)
    assert "example.org" not in text and "utilinspect" not in text and text.rstrip().endswith("```")
    assert "added: v10.0.0" in text  # indexed: a comment's words can be searched for
    for s in segs:  # offsets into the file: only the link definitions differ
        assert len(raw[s.span.start : s.span.end]) == len(s.text) and raw[s.span.start : s.span.start + 6] == s.text[:6]
    shown = " ".join(as_shown(text).split())
    assert shown == "Util Modifiers Modifier support varies between terminals. <!-- a comment -->", shown
    assert "YAML" not in shown and "markdownlint" not in shown and "#123" not in shown and "<!-- a comment -->" in shown
    said = paragraphs(text)
    assert "YAML" not in said and "#123" not in said and "Modifier support varies between [terminals][]." in said
    assert hidden_blanked("a <!-- never closed") == "a <!-- never closed"


def test_plain_text_has_no_sections_and_only_chunks_are_placed(tmp_path: Path, cfg: IngestConfig) -> None:
    """A plain text file's ``# x`` lines are comments (a script, a config), not headings; a table's row, a
    picture's words and a chunk without a title or section are embedded as they are."""
    path = tmp_path / "setup.txt"
    path.write_text("# install the lamp first\n\nrun make lamp then make horn\n", encoding="utf-8")
    segs = load(TextLoader(), path, cfg)
    assert segs and not any("section" in s.meta for s in segs)
    row = Segment(source="t.csv", modality=Modality.TEXT, text="name: Ada", meta={"title": "Ada", "row": "1"})
    picture = Segment(source="p.png", modality=Modality.IMAGE, text="a red boat", meta={"title": "boat"})
    bare = Segment(source="n.txt", modality=Modality.TEXT, text="just words")
    assert [embedded_text(s) for s in (row, picture, bare)] == ["name: Ada", "a red boat", "just words"]
    deep = Segment(source="m.md", modality=Modality.TEXT, text="body", meta={"title": "T", "section": "A > B > " + "c" * 300})
    assert embedded_text(deep).split("\n\n")[0] == ("T > " + "c" * 300)[:200]  # the innermost heading, capped


def test_a_markdown_pipe_table_is_also_read_as_rows(tmp_path: Path, cfg: IngestConfig) -> None:
    """A README's table (GitHub's pipe tables) was only text, its rows run together in a chunk: "What is the
    support tier of FreeBSD?" found no answer in Node.js's BUILDING.md. Its rows are now typed row segments with
    the header's names, as an HTML or PDF table's are; cells read as they read; a table in fenced code, one
    with no delimiter row or a delimiter row of another width is no table."""
    from mmrag.ingest.tables import markdown_tables
    from mmrag.markdown import as_read

    text = ("# Ports\n\nThe firewall keeps these open.\n\n| Service | Port | Notes |\n|:--------|----:|---|\n"
            "| [SSH](https://www.openssh.com/) | 22 | **admins** only |\n| DNS | 53 |\n"
            "| `a\\|b` | 7 | extra | dropped |\nEverything else is closed.\n\n```\n| a | b |\n|---|---|\n| 1 | 2 |\n```\n\n"
            "x | y\n--- | ---\n1 | 2\n\n| no | rule |\n| 1 | 2 |\n\n| wide | rule |\n|---|---|---|\n| 1 | 2 |\n")
    (ports, plain) = markdown_tables(text)
    assert ports.header == ["Service", "Port", "Notes"]
    assert ports.rows[:3] == [["SSH", "22", "admins only"], ["DNS", "53", ""], ["`a|b`", "7", "extra"]]
    assert len(ports.rows) == 3  # the line after the table has no bar: the table ended
    assert plain.header == ["x", "y"] and plain.rows == [["1", "2"]]  # no bars at either end
    assert as_read("| SSH | 22 | |") == "SSH | 22" and as_read("|:---|---:|") == ""
    # a table row's record whose title is an operator is no Markdown row: it keeps its title
    assert as_read("|| — Example: expr || expr") == "|| — Example: expr || expr"
    assert markdown_tables("| item |\n|---|\n| one |\n| two |") == []  # one column: a list
    (wide,) = markdown_tables("| a " * 5000 + "|\n" + "|---" * 5000 + "|\n" + "| 1 " * 5000 + "|")
    assert len(wide.header) == len(wide.rows[0]) == 100  # a hostile line of bars keeps 100 fields

    path = tmp_path / "ports.md"
    path.write_text(text, encoding="utf-8")
    rows = [s for s in load(TextLoader(), path, cfg) if s.meta.get("kind") == "table_row"]
    assert [s.text for s in rows[:2]] == ["Service: SSH; Port: 22; Notes: admins only", "Service: DNS; Port: 53"]
    assert rows[0].fields == {"service": "SSH", "port": 22, "notes": "admins only"} and rows[0].meta["title"] == "SSH"
    assert len(rows) == 4  # 3 + 1: the fenced table is code


def test_a_markdown_tables_row_answers_a_question_about_it(tmp_path: Path, extractive_engine: Engine) -> None:
    """End to end (MiniLM, LanceDB, the extractive answer): asked about one platform of a README's support
    table, the answer is that platform's row under the table's column names; before, the table's lines were
    one run-together sentence ("| Operating System | ... | | --- | ... | | GNU/Linux | x64 | ...")."""
    rows = [("GNU/Linux", "x64", "kernel >= 4.18", "Tier 1"), ("Windows", "arm64", ">= Windows 10", "Tier 2"),
            ("macOS", "arm64", ">= 11", "Tier 1"), ("SmartOS", "x64", ">= 18", "Tier 2"), ("FreeBSD", "x64", ">= 12.4", "Experimental")]
    table = "\n".join(f"| {' | '.join(row)} |" for row in rows)
    (tmp_path / "BUILDING.md").write_text(
        "# Building\n\n## Platforms\n\nThis list of supported platforms is current as of the release.\n\n"
        f"| Operating System | Architectures | Versions | Support Type |\n| --- | --- | --- | --- |\n{table}\n\n"
        "## Toolchain\n\nA C++20 compiler is needed on every platform.\n", encoding="utf-8")
    extractive_engine.add([str(tmp_path / "BUILDING.md")])
    answer = extractive_engine.ask("What is the support tier of FreeBSD?")
    tier2 = extractive_engine.search("Tier 2", k=20, where="support_type = 'Tier 2'")
    assert answer.text.startswith("FreeBSD — Architectures: x64; Versions: >= 12.4; Support Type: Experimental [1]."), answer.text
    assert "Tier" not in answer.text and "|" not in answer.text, answer.text  # no other platform's row, whole or as a line
    assert sorted(hit.meta["title"] for hit in tier2) == ["SmartOS", "Windows"]


def test_a_web_pages_table_row_answers_a_question_about_it(tmp_path: Path, extractive_engine: Engine) -> None:
    """End to end (MiniLM, LanceDB, the extractive answer) over a Sphinx-built page whose table cells are each a
    ``<p>``: the answer is the row asked about, not another row's line of the page's text ("iso8859_11 |
    iso-8859-11, thai | Thai languages"), its header line, or a cell alone ("Thai languages [1]."); an operator
    asked about finds its row."""
    codecs = [("iso8859_5", "iso-8859-5, cyrillic", "Bulgarian, Russian"), ("iso8859_6", "iso-8859-6, arabic", "Arabic"),
              ("iso8859_7", "iso-8859-7, greek", "Greek"), ("iso8859_11", "iso-8859-11, thai", "Thai languages")]
    operators = [("%", "expr % expr", "Arithmetic remainder"), ("%=", "var %= expr", "Arithmetic remainder and assignment"),
                 ("!=", "expr != expr", "Nonequality comparison"), (">=", "expr >= expr", "Greater than or equal to comparison")]

    def table(header: tuple[str, ...], rows: list[tuple[str, str, str]]) -> str:
        head = "".join(f"<th class=\"head\"><p>{h}</p></th>" for h in header)
        body = "".join("<tr>" + "".join(f"<td><p>{c}</p></td>" for c in row) + "</tr>\n" for row in rows)
        return f"<table class=\"docutils\"><thead><tr>{head}</tr></thead><tbody>\n{body}</tbody></table>"

    (tmp_path / "codecs.html").write_text(
        "<html><head><title>codecs</title></head><body><h1>Standard Encodings</h1><p>Python comes with a number of "
        "codecs built in.</p>" + table(("Codec", "Aliases", "Languages"), codecs) +
        "<h2>Operators</h2><p>The operators of the language.</p>" + table(("Operator", "Example", "Explanation"), operators) +
        "</body></html>", encoding="utf-8")
    extractive_engine.add([str(tmp_path / "codecs.html")])
    arabic = extractive_engine.ask("What is the languages of iso8859_6?")
    remainder = extractive_engine.ask("What does the % operator do?")
    assert arabic.text.startswith("iso8859_6 — Aliases: iso-8859-6, arabic; Languages: Arabic ["), arabic.text
    assert "Thai" not in arabic.text and "Codec | Aliases" not in arabic.text, arabic.text
    assert "% — Example: expr % expr; Explanation: Arithmetic remainder [" in remainder.text, remainder.text
    assert "No source states" not in remainder.text and "assignment" not in remainder.text, remainder.text


def test_an_operator_asked_about_is_searched_as_written(tmp_path: Path, extractive_engine: Engine) -> None:
    """Search finds a row by the operator a question asks about, which no word of the question names (a tokenizer
    drops ``?`` and ``->``): end to end through the engine's full-text list (MiniLM, LanceDB). Without the
    operators' tokens, 9 of these 30 questions found a sibling first (``+=`` for ``+``, ``%=`` for ``%``)."""
    ops = ["+", "+=", "-=", "*=", "/=", "%", "%=", "^", "^=", "!", "!=", "&", "&=", "&&", "|=", "||", "<<", "<<=",
           ">>", ">>=", "==", "<", "<=", ">", ">=", "=>", "->", "?", "=", "~"]  # (not ".." or "::": no operators)
    rows = "".join(f"<tr><td><p>{op}</p></td><td><p>x {op} y</p></td><td><p>Operator of kind {i}</p></td></tr>\n"
                   for i, op in enumerate(ops))
    (tmp_path / "ops.html").write_text(
        "<html><body><h1>Operators</h1><table><thead><tr><th>Operator</th><th>Example</th><th>Explanation</th></tr>"
        f"</thead><tbody>\n{rows}</tbody></table></body></html>", encoding="utf-8")
    extractive_engine.add([str(tmp_path / "ops.html")])
    missed = {}
    for op in ops:
        hits = extractive_engine.search(f"What does the {op} operator do?", k=1)
        if not hits or hits[0].meta.get("title") != op:
            missed[op] = [h.meta.get("title") for h in hits]
    assert not missed, (len(missed), missed)

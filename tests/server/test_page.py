"""The web page in a real browser (Playwright driving Debian's Chromium; never `playwright install`).

Screenshots of the results grid and the answer panel are saved under the test's tmp dir.
"""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from tests.server.conftest import Corpus, Server, text_picture

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run", "--autoplay-policy=no-user-gesture-required"]


@pytest.fixture(scope="module")
def browser():  # type: ignore[no-untyped-def]
    sync_api = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian chromium is missing: apt-get install chromium")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


@pytest.fixture()
def page(browser, server: Server):  # type: ignore[no-untyped-def]
    ctx = browser.new_context(viewport={"width": 1280, "height": 800})
    pg = ctx.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    pg.goto(server.url + "/")
    yield pg
    ctx.close()
    assert not errors, errors


def run_search(page, text: str) -> None:  # type: ignore[no-untyped-def]
    page.fill("#q", text)
    page.click("#search-btn")
    page.wait_for_function("document.querySelector('#status').textContent.includes('result')")


def test_type_a_query_and_see_the_right_thumbnail_first(page, corpus: Corpus, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    run_search(page, "a tabby cat")
    first = page.locator(".card").first
    assert first.get_attribute("data-modality") == "image"
    assert first.locator(".name").inner_text() == corpus.cat.name
    img = first.locator(".thumb img")
    page.wait_for_function("img => img.complete && img.naturalWidth > 16", arg=img.element_handle())
    assert "/thumbnail/" in img.get_attribute("src")
    assert page.locator(".card").count() >= 5
    # each card says, in words, which list found it (the API's found_by)
    assert first.locator(".found-by").inner_text() in ("words → pixels", "by words")
    got = page.evaluate("""() => ["text->audio", "audio->audio", "text->image", "visual->visual", "lexical", "text->text"]
        .map((f) => foundBy({ found_by: f }))""")
    assert got == ["words → sound", "by sound", "words → pixels", "by pixels", "by keywords", "by words"]
    page.wait_for_function("[...document.querySelectorAll('.thumb img')].every((i) => i.complete)")
    page.screenshot(path=str(tmp_path / "results-grid.png"))
    # the index panel: counts per modality and the space
    page.click("#index-toggle")
    panel = page.locator("#index-panel").inner_text()
    assert "video segments" in panel and "minilm" in panel and "older readers" not in panel  # made by today's
    notes = page.evaluate("""() => [readersNote({ readers: 1, readers_now: 2, segments_by_modality: { text: 3 } }),
        readersNote({ readers: 2, readers_now: 2, segments_by_modality: { text: 3 } }),
        readersNote({ readers: 1, readers_now: 2, segments_by_modality: { image: 3 } })]""")
    assert "mmrag add --reindex" in notes[0] and notes[1:] == ["", ""]  # pictures only: nothing to read again


def test_query_words_are_marked_where_a_word_starts(page) -> None:  # type: ignore[no-untyped-def]
    """A term marks words that start with it ("cat", "Cats"), never the middle of another ("modifications",
    "bobcats"): seen in a screenshot, where "cat" lit up inside "modifications"."""
    got = page.evaluate("""() => {
        const d = document.createElement("div");
        d.append(marked("Modifications of a cat; Cats and bobcats. Été, étés", ["cat", "été"]));
        return [...d.querySelectorAll("mark")].map((m) => m.textContent);
    }""")
    assert got == ["cat", "Cat", "Été", "été"]
    run_search(page, "a tabby cat")
    before = page.evaluate("""() => [...document.querySelectorAll("mark")].map((m) => {
        const prev = m.previousSibling;
        return prev && prev.textContent ? prev.textContent.slice(-1) : "";
    })""")
    assert all(not c.isalnum() for c in before), before
    # nothing open on the side: the results use the page's width (at 1280 px: more than 4 columns of cards)
    width = page.evaluate("document.querySelector('#results').getBoundingClientRect().width")
    assert width > 1100, width


def test_a_text_card_names_the_section_it_is_in(page, corpus: Corpus) -> None:  # type: ignore[no-untyped-def]
    run_search(page, "feed the sourdough starter")
    card = page.locator(f".card:has(.name:text-is('{corpus.note.name}'))").first
    assert card.locator(".section").inner_text() == "§ Starter"  # the heading the note's chunk falls under
    assert page.locator(".card[data-modality='image'] .section").count() == 0  # a picture has none
    # a deep trail shows its last two headings (the whole one is the tooltip)
    assert page.evaluate("() => innermost('Notes > 4.7 The PIC16 port > 4.7.6 Pragmas')") == "… › 4.7 The PIC16 port › 4.7.6 Pragmas"
    assert page.evaluate("() => innermost('Using SDCC > 3.16 Pragmas')") == "Using SDCC › 3.16 Pragmas"


def test_a_long_text_card_shows_the_part_that_matches(page) -> None:  # type: ignore[no-untyped-def]
    """A card showed a chunk's first 260 characters, so a hit on a long FAQ chunk showed floating-point
    notes where its match was about strings further down (seen in a screenshot)."""
    got = page.evaluate("""() => excerpt("Intro words go here. ".repeat(30) + "The budget is four million euros. "
                                         + "Tail words. ".repeat(30), ["budget"], 120)""")
    assert got.startswith("…The budget is four million euros."), got
    assert got.endswith("…") and len(got) == 122
    assert page.evaluate("() => excerpt('A short note.', ['budget'], 120)") == "A short note."
    assert page.evaluate("() => excerpt('abc '.repeat(50), ['budget'], 20)") == "abc " * 5 + "…"  # no match: the start
    # a text card's page and a snippet show the excerpt
    shown = page.evaluate("""() => {
        state.terms = ["budget"];
        const text = "Intro words go here. ".repeat(30) + "The budget is four million euros. " + "Tail words. ".repeat(30);
        const hit = { modality: "text", text, shown: text, name: "memo.txt", source: "/x/memo.txt", score: 1.5, segment_id: "s1",
                      found_by: "text->text", channel_scores: {} };
        return card(hit, 0).querySelector(".paper").textContent;
    }""")
    assert shown.startswith("…The budget is four million euros."), shown
    # the card shows the text as the server sends it to be shown (markdown.as_shown: no "#", no fence lines,
    # links as their words), not the raw chunk
    heading = page.evaluate("""() => card({ modality: "text", text: "# Ferry timetable\\n[The first ferry](https://f.pt) leaves.",
        shown: "Ferry timetable\\nThe first ferry leaves.", name: "inbox.mbox", source: "/x/inbox.mbox", score: 1.0,
        segment_id: "s2", found_by: "text->text", channel_scores: {} }, 1).querySelector(".paper").textContent""")
    assert heading == "Ferry timetable\nThe first ferry leaves.", heading


def test_drop_an_image(page, corpus: Corpus) -> None:  # type: ignore[no-untyped-def]
    png = base64.b64encode(text_picture("fog horn repairs")).decode()
    page.evaluate(
        """([b64, name]) => {
            const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
            const dt = new DataTransfer();
            dt.items.add(new File([bytes], name, { type: "image/png" }));
            document.getElementById("dropzone").dispatchEvent(new DragEvent("drop", { dataTransfer: dt, bubbles: true }));
        }""",
        [png, "screenshot.png"],
    )
    page.wait_for_function("document.querySelector('#status').textContent.includes('result')", timeout=120_000)
    assert page.locator(".attachment img").count() == 1  # the dropped picture is shown in the search box
    first = page.locator(".card").first
    assert first.locator(".name").inner_text() == corpus.pdf.name
    assert first.locator(".where-label").inner_text() == "p. 2"
    first.click()
    assert "fog horn" in page.locator("#viewer-body .chunk").inner_text()


def test_a_slide_hit_shows_its_slide_number_and_picture(page, corpus: Corpus) -> None:  # type: ignore[no-untyped-def]
    """A picture inside a deck (or a PDF, or a Word file) is shown from its thumbnail: the viewer once
    pointed an <img> at the .pptx file itself, a broken picture."""
    if corpus.deck is None:
        pytest.skip("python-pptx is not installed (the office extra)")
    run_search(page, "coin collection insurance")
    first = page.locator(".card").first
    assert first.locator(".name").inner_text() == corpus.deck.name
    assert first.locator(".where-label").inner_text().startswith("slide 1")
    first.click()
    img = page.locator("#viewer-body img")
    assert "/thumbnail/" in img.get_attribute("src")
    page.wait_for_function("img => img.complete && img.naturalWidth > 16", arg=img.element_handle())


def test_click_a_video_hit_plays_from_t0(page, corpus: Corpus) -> None:  # type: ignore[no-untyped-def]
    page.select_option("#modality", "video")
    run_search(page, "rabbit documentary about forests")
    first = page.locator(".card").first
    assert first.get_attribute("data-modality") == "video"
    where = first.locator(".where-label").inner_text()
    assert where.startswith("00:0") and "–" in where
    first.click()
    page.wait_for_function("() => { const v = document.getElementById('player'); return v && v.readyState >= 1 && v.currentTime > 0; }",
                           timeout=60_000)
    t = page.evaluate("document.getElementById('player').currentTime")
    assert abs(t - corpus.video_cut) < 1.0, t
    t1 = page.evaluate("() => { const v = document.getElementById('player'); return v.duration; }")
    assert t1 > corpus.video_cut


def test_ask_streams_an_answer_and_a_citation_opens_its_source(page, corpus: Corpus, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    page.fill("#q", "What does the lighthouse keeper paint?")
    page.click("#ask-btn")
    page.wait_for_selector("#answer a.cite", timeout=120_000)
    shown = page.locator("#answer").inner_text().lower()
    assert "lighthouse keeper" in shown and "summer" in shown  # the recording's words as Whisper tiny heard them
    page.screenshot(path=str(tmp_path / "answer-panel.png"))
    cite = page.locator("#answer a.cite").first
    number = cite.get_attribute("data-n")
    name = page.locator(f"#citations a[data-n='{number}']").inner_text()
    cite.click()
    assert page.locator("#viewer").is_visible()
    assert page.locator("#viewer-title").inner_text().startswith(name.split(" · ")[0])
    if corpus.speech.name in name:  # an audio citation plays its span
        page.wait_for_function("() => { const a = document.getElementById('player'); return a && a.readyState >= 1; }", timeout=60_000)
        assert page.locator("#viewer-body audio").count() == 1
    page.set_viewport_size({"width": 390, "height": 844})
    page.screenshot(path=str(tmp_path / "phone.png"), full_page=True)


def test_a_misheard_recording_says_what_else_was_heard(browser, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Real recordings (Debian pocketsphinx-testdata's cards): Whisper tiny.en writes 004.wav ("five five")
    as "5 5", with "five five." among its alternatives. Searched for "five five" it comes first, and its
    card shows the alternative that holds the query's words ("or heard: five five."), so the hit explains
    itself; the next card (a transcript without those words) shows none."""
    import shutil

    from tests.server.conftest import cli, start_server, stop_server

    cards = Path("/usr/share/pocketsphinx/test/data/cards")
    if not (cards / "001.wav").is_file():
        pytest.skip("needs Debian's pocketsphinx-testdata (apt-get install pocketsphinx-testdata)")
    root = tmp_path / "cards"
    root.mkdir()
    for name in ("001.wav", "003.wav", "004.wav"):
        shutil.copyfile(cards / name, root / name)
    idx = tmp_path / "idx"
    done = cli("add", str(root), "--index", str(idx), "--space", "minilm", "--json")
    assert done.returncode == 0, done.stderr[-3000:]
    server = start_server(idx)
    ctx = browser.new_context(viewport={"width": 1280, "height": 800})
    try:
        pg = ctx.new_page()
        errors: list[str] = []
        pg.on("pageerror", lambda e: errors.append(str(e)))
        pg.goto(server.url + "/")
        run_search(pg, "five five")
        first, second = pg.locator(".card").nth(0), pg.locator(".card").nth(1)
        assert first.locator(".name").inner_text() == "004.wav"
        also = first.locator(".heard-also")
        assert also.count() == 1 and "five five" in also.inner_text().lower()
        assert also.locator("mark").first.inner_text().lower() == "five"
        assert second.locator(".name").inner_text() in ("001.wav", "003.wav")
        assert second.locator(".heard-also").count() == 0
        first.click()  # the viewer says it too
        assert "five five" in pg.locator("#viewer-body .heard-also").inner_text().lower()
        pg.screenshot(path=str(tmp_path / "heard-also.png"))
        none = pg.evaluate("""() => { state.terms = ["close"];
            return heardAlso({ text: "10 of close.", meta: { heard_also: "10 of clubs / ten of close" } }); }""")
        assert none is None  # every query word is in the transcript: nothing to explain
        assert not errors, errors
    finally:
        ctx.close()
        stop_server(server)

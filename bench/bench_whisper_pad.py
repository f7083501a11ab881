"""Hearing 0.25 s around each VAD region: what it changes in the words heard and in time.

1. **Short clips** (what the padding is for; ``speech.transcribe`` pads speech that fits one Whisper
   window): each recording of Debian ``pocketsphinx-testdata`` (13, with exact transcripts) and, with
   ``--ktuberling DIR``, KTuberling's 67 spoken words, at 16 kHz and as 8 kHz G.711 mu-law (the
   telephone copies of ``bench_speech_retrieval.py --telephone``). Per clip: every word of the exact
   transcript among the words heard (Whisper's English normaliser on both sides). Wall time of all
   clips, padded against the VAD's regions only (``WHISPER_PAD_S = 0``), alternating.
2. **A long recording** (not padded by mmrag): the pocketsphinx recordings and ``--tts`` fortunes
   spoken by espeak-ng, joined with pauses of 0.4-1.6 s (``--seeds``), transcribed on the VAD's regions
   and on the same regions padded (passed in already padded), counting the words heard. This is why
   multi-window speech is not padded: it moved which windows the batched decoder skipped.

    python bench/bench_whisper_pad.py --ktuberling /tmp/ktub/x/usr/share/ktuberling/sounds/en --tts 60

Not a test.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_speech_retrieval import Recording, ktuberling_set, real_set, telephone
from bench_speech_skips import recording

from mmrag.ingest import speech, vad
from mmrag.retrieve.heard import normalize


def short_clips(recs: list[Recording], pad: float) -> tuple[float, int]:
    """(wall seconds, clips whose every transcript word was heard)."""
    speech.WHISPER_PAD_S = pad  # read by speech.transcribe at call time
    wall, right = 0.0, 0
    for r in recs:
        x, _ = speech.decode_audio(r.path)
        t = time.perf_counter()
        heard = normalize(" ".join(s.text for s in speech.transcribe(x, beam_size=5))).split()
        wall += time.perf_counter() - t
        right += all(w in heard for w in normalize(r.transcript).split())
    return wall, right


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ktuberling", type=Path, default=None, help="KTuberling's sounds/en folder (optional)")
    ap.add_argument("--tts", type=int, default=60, help="espeak-ng fortunes in the long recording")
    ap.add_argument("--seeds", default="0,1,2", help="pause patterns of the long recording")
    ap.add_argument("--rounds", type=int, default=2, help="timed passes per side on the short clips")
    args = ap.parse_args()
    default = vad.WHISPER_PAD_S
    with tempfile.TemporaryDirectory(prefix="mmrag-pad-") as tmp:
        work = Path(tmp)
        sets = {"pocketsphinx 16 kHz": real_set(work)}
        if args.ktuberling:
            sets["KTuberling 16 kHz"] = ktuberling_set(work, args.ktuberling)
        for name in list(sets):
            sets[name.replace("16 kHz", "8 kHz mu-law")] = telephone(sets[name], work)
        speech.transcribe(speech.decode_audio(sets["pocketsphinx 16 kHz"][0].path)[0])  # load the model
        print("| clips | n | every word heard: VAD regions only | padded | wall, regions only | padded | ratio |")
        print("|---|---|---|---|---|---|---|")
        for name, recs in sets.items():
            res: dict[float, list[tuple[float, int]]] = {0.0: [], default: []}
            for _ in range(args.rounds):
                for pad in (0.0, default):
                    res[pad].append(short_clips(recs, pad))
            w0, w1 = min(w for w, _ in res[0.0]), min(w for w, _ in res[default])
            print(f"| {name} | {len(recs)} | {res[0.0][0][1]} | {res[default][0][1]} | {w0:.1f} s | {w1:.1f} s "
                  f"| {w1 / w0:.2f}x |", flush=True)
        speech.WHISPER_PAD_S = default
        print("\n| long recording | length | VAD regions | words heard: regions | padded regions |")
        print("|---|---|---|---|---|")
        for seed in (int(s) for s in args.seeds.split(",") if s):
            x = recording(work, args.tts, seed)[0]
            regions = speech.speech_regions(x)
            padded = vad.pad_regions(regions, default, len(x) / 16000)
            words = [sum(len(s.text.split()) for s in speech.transcribe(x, regions=r, beam_size=5)) for r in (regions, padded)]
            print(f"| seed {seed} | {len(x) / 16000:.0f} s | {len(regions)} | {words[0]} | {words[1]} |", flush=True)


if __name__ == "__main__":
    main()

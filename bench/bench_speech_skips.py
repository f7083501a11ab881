"""Speech the batched Whisper pass skipped: what ``skips.fill`` recovers, and what it costs.

Long recordings (the 13 real recordings of Debian ``pocketsphinx-testdata`` and ``--tts`` fortunes of
Debian ``fortunes-min`` spoken by espeak-ng, joined with pauses of 0.4-1.6 s, one pause pattern per
seed; the same builder as ``bench_whisper_pad.py``) are transcribed the way the index does it
(``speech.transcribe``, beam 5) with the refill off and on, alternating. Per recording:

- stretches of packed speech that no word covered after the batched pass (``skips.uncovered``),
  and how many are left after the refill;
- **reference words heard**: of the words of the exact transcripts (Whisper's English normaliser on
  both sides), how many the transcript holds (multiset overlap), and the words heard that are in no
  transcript (made up or misheard);
- wall time of ``speech.transcribe``.

    python bench/bench_speech_skips.py --tts 60 --seeds 0,1,2,3,4

Not a test.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_speech_retrieval import real_set, tts_set

from mmrag.ingest import loops, skips, speech
from mmrag.retrieve.heard import normalize


def recording(work: Path, n_tts: int, seed: int) -> tuple[np.ndarray, str]:
    """The joined samples and the joined exact transcript."""
    rng = np.random.default_rng(seed)
    parts: list[np.ndarray] = []
    said: list[str] = []
    for rec in real_set(work) + tts_set(work, n_tts):
        parts += [speech.decode_audio(rec.path)[0], np.zeros(int(rng.uniform(0.4, 1.6) * 16000), np.float32)]
        said.append(rec.transcript)
    return np.concatenate(parts), " ".join(said)


class Spy:
    """Records the windows and segments ``speech.transcribe`` hands to ``loops.redecode`` and ``skips.fill``."""

    def __init__(self) -> None:
        self.before: list[tuple[float, float]] = []
        self.after: list[tuple[float, float]] = []
        self._redecode, self._fill = loops.redecode, skips.fill

    def redecode(self, load, packed, windows, segs, **kw):  # type: ignore[no-untyped-def]
        self.windows = windows
        out = self._redecode(load, packed, windows, segs, **kw)
        self.before = skips.uncovered(out, windows)
        return out

    def fill(self, pipeline, packed, segs, stretches, **kw):  # type: ignore[no-untyped-def]
        out = self._fill(pipeline, packed, segs, stretches, **kw)
        self.after = skips.uncovered(out, self.windows)
        return out


def score(heard: str, truth: str) -> tuple[int, int, int]:
    """(reference words, of them heard, heard words in no reference)."""
    h, t = Counter(normalize(heard).split()), Counter(normalize(truth).split())
    both = sum((h & t).values())
    return sum(t.values()), both, sum(h.values()) - both


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tts", type=int, default=60, help="espeak-ng fortunes in each recording")
    ap.add_argument("--seeds", default="0,1,2,3,4", help="pause patterns, one recording each")
    args = ap.parse_args()
    spy = Spy()
    loops.redecode, skips.fill = spy.redecode, spy.fill  # speech.transcribe calls them through their modules
    print("| recording | length | windows | skipped stretches (s) | left after refill | reference words | heard: batched only "
          "| with refill | not in any transcript: batched only | with refill | wall: batched only | with refill |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    total = Counter()
    with tempfile.TemporaryDirectory(prefix="mmrag-skips-") as tmp:
        work = Path(tmp)
        speech.transcribe(speech.decode_audio(real_set(work)[0].path)[0])  # load the models
        for seed in (int(s) for s in args.seeds.split(",") if s):
            x, truth = recording(work, args.tts, seed)
            res = {}
            for on in (False, True):
                speech.FILL_SKIPS = on
                t = time.perf_counter()
                text = " ".join(s.text for s in speech.transcribe(x, beam_size=5))
                res[on] = (time.perf_counter() - t, score(text, truth))
            stretches = ", ".join(f"{b - a:.1f}" for a, b in spy.before) or "none"
            n, h0, x0 = res[False][1]
            _, h1, x1 = res[True][1]
            total.update(n=n, h0=h0, h1=h1, x0=x0, x1=x1, w0=res[False][0], w1=res[True][0])
            print(f"| seed {seed} | {len(x) / 16000:.0f} s | {len(spy.windows)} | {stretches} | {len(spy.after)} | {n} "
                  f"| {h0} ({h0 / n:.1%}) | {h1} ({h1 / n:.1%}) | {x0} | {x1} | {res[False][0]:.1f} s | {res[True][0]:.1f} s |",
                  flush=True)
    speech.FILL_SKIPS = True
    print(f"| all | | | | | {total['n']} | {total['h0']} ({total['h0'] / total['n']:.1%}) | {total['h1']} "
          f"({total['h1'] / total['n']:.1%}) | {total['x0']} | {total['x1']} | {total['w0']:.1f} s | {total['w1']:.1f} s "
          f"({total['w1'] / total['w0']:.2f}x) |")


if __name__ == "__main__":
    main()

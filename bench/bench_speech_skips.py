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

With ``--moments``, each recording is then indexed (``mmrag.open(...).add``, the minilm space, a
LanceDB folder per recording and side) with the refill off and on, and every sentence of it is asked
for by the first 60 % of its words: a query is answered when the top audio hit's time range overlaps
that sentence's own time in the recording (moment R@1, and R@5 over the top 5 hits).

    python bench/bench_speech_skips.py --tts 60 --seeds 0,1,2,3,4 [--moments]

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


def recording(work: Path, n_tts: int, seed: int) -> tuple[np.ndarray, str, list[tuple[float, float, str]]]:
    """The joined samples, the joined exact transcript, and each sentence's (start s, end s, transcript)."""
    rng = np.random.default_rng(seed)
    parts: list[np.ndarray] = []
    said: list[str] = []
    moments: list[tuple[float, float, str]] = []
    pos = 0
    for rec in real_set(work) + tts_set(work, n_tts):
        x = speech.decode_audio(rec.path)[0]
        loud = np.flatnonzero(np.abs(x) > 0.01)
        if len(loud):
            moments.append(((pos + loud[0]) / 16000, (pos + loud[-1]) / 16000, rec.transcript))
        pause = np.zeros(int(rng.uniform(0.4, 1.6) * 16000), np.float32)
        parts += [x, pause]
        pos += len(x) + len(pause)
        said.append(rec.transcript)
    return np.concatenate(parts), " ".join(said), moments


def moment_recall(work: Path, x: np.ndarray, moments: list[tuple[float, float, str]], fill: bool) -> tuple[int, int, int]:
    """(queries, answered at rank 1, within the top 5): each sentence asked for by its first 60 % of words."""
    import soundfile as sf

    import mmrag

    speech.FILL_SKIPS = fill
    side = work / ("fill" if fill else "plain")
    side.mkdir(parents=True, exist_ok=True)
    wav = side / "rec.wav"
    sf.write(wav, x, 16000, subtype="PCM_16")
    n = r1 = r5 = 0
    with mmrag.open(side / "idx", space__name="minilm") as engine:
        engine.add([wav])
        for t0, t1, text in moments:
            words = text.split()
            if len(words) < 3:
                continue
            query = " ".join(words[: max(2, int(0.6 * len(words) + 0.5))])
            hits = engine.search(query, k=5, modality="audio")
            ok = [h.span is not None and h.span.t0 < t1 and h.span.t1 > t0 for h in hits]
            n, r1, r5 = n + 1, r1 + bool(ok[:1] and ok[0]), r5 + any(ok)
    return n, r1, r5


class Spy:
    """Records the windows ``speech.transcribe`` hands to ``loops.redecode`` and the stretches it hands to
    ``skips.fill`` (only called with the refill on; the table shows the last run of each recording, the refill's)."""

    def __init__(self) -> None:
        self.before: list[tuple[float, float]] = []
        self.after: list[tuple[float, float]] = []
        self._redecode, self._fill = loops.redecode, skips.fill

    def redecode(self, load, packed, windows, segs, **kw):  # type: ignore[no-untyped-def]
        self.windows = windows
        return self._redecode(load, packed, windows, segs, **kw)

    def fill(self, pipeline, packed, segs, stretches, **kw):  # type: ignore[no-untyped-def]
        self.before = list(stretches)  # what speech.transcribe found unheard
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
    ap.add_argument("--moments", action="store_true", help="also index each recording and ask for every sentence")
    args = ap.parse_args()
    spy = Spy()
    loops.redecode, skips.fill = spy.redecode, spy.fill  # speech.transcribe calls them through their modules
    print("| recording | length | windows | skipped stretches (s) | left after refill | reference words | heard: batched only "
          "| with refill | not in any transcript: batched only | with refill | wall: batched only | with refill |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    total = Counter()
    found: dict[bool, list[tuple[int, int, int]]] = {False: [], True: []}
    with tempfile.TemporaryDirectory(prefix="mmrag-skips-") as tmp:
        work = Path(tmp)
        speech.transcribe(speech.decode_audio(real_set(work)[0].path)[0])  # load the models
        for seed in (int(s) for s in args.seeds.split(",") if s):
            x, truth, moments = recording(work, args.tts, seed)
            if args.moments:
                for on in (False, True):
                    found[on].append(moment_recall(work / f"seed{seed}", x, moments, on))
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
    if args.moments:
        print("\n| recording | sentences asked | moment R@1: batched only | with refill | R@5: batched only | with refill |")
        print("|---|---|---|---|---|---|")
        for seed, a, b in zip((s for s in args.seeds.split(",") if s), found[False], found[True]):
            print(f"| seed {seed} | {a[0]} | {a[1] / a[0]:.3f} | {b[1] / b[0]:.3f} | {a[2] / a[0]:.3f} | {b[2] / b[0]:.3f} |")
        n = sum(a[0] for a in found[False])
        a1, b1 = sum(a[1] for a in found[False]), sum(b[1] for b in found[True])
        a5, b5 = sum(a[2] for a in found[False]), sum(b[2] for b in found[True])
        print(f"| all | {n} | {a1 / n:.3f} | {b1 / n:.3f} | {a5 / n:.3f} | {b5 / n:.3f} |")


if __name__ == "__main__":
    main()

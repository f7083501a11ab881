"""Re-adding an unchanged folder: the quick check (size + mtime) vs hashing every file.

``mmrag add`` on a folder that is already indexed used to read and hash every
byte. With the stat cache (``ingest.quick_check``, on by default) a file whose
size and mtime match what was indexed is settled without being opened. Both
are measured in one process on the same index and folder, after one real
``add`` (MiniLM space, LanceDB folder):

- ``notes/``: many small Markdown notes (per-file overhead);
- ``media/``: one long WAV recording (bytes: hashing reads all of it).

Usage::

    python bench/bench_readd.py                  # 1,000 notes + a 400 MB recording
    python bench/bench_readd.py --notes 200 --wav-mb 50
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
import wave
from pathlib import Path

import numpy as np

import mmrag
from mmrag.config import load_config

WORDS = ["river", "mountain", "budget", "invoice", "violin", "harbour", "lecture", "garden", "signal", "rocket", "meadow", "ledger"]


def make_data(root: Path, notes: int, wav_mb: int) -> tuple[Path, Path]:
    rng = np.random.default_rng(0)
    nd, md = root / "notes", root / "media"
    nd.mkdir(parents=True, exist_ok=True)
    md.mkdir(parents=True, exist_ok=True)
    for i in range(notes):
        f = nd / f"note-{i:05d}.md"
        if not f.exists():
            f.write_text(f"# Note {i}\n\n" + " ".join(rng.choice(WORDS, 300)) + "\n", encoding="utf-8")
    wav = md / "recording.wav"
    if not wav.exists() or wav.stat().st_size < wav_mb * 1_000_000:
        seconds = wav_mb * 1_000_000 // (16_000 * 2)
        with wave.open(str(wav), "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(16_000)
            block = (rng.normal(0, 30, 16_000 * 60)).astype("<i2").tobytes()  # a quiet room: no speech
            for _ in range(int(seconds // 60)):
                w.writeframes(block)
    return nd, md


def timed_adds(engine: mmrag.Engine, folder: Path, quick: bool, repeats: int) -> tuple[float, int]:
    engine.config = engine.config.with_overrides({"ingest.quick_check": quick})
    times, unchanged = [], 0
    for _ in range(repeats):
        t0 = time.perf_counter()
        report = engine.add([folder])
        times.append(time.perf_counter() - t0)
        unchanged = len(report.unchanged)
    return statistics.median(times), unchanged


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--notes", type=int, default=1000)
    ap.add_argument("--wav-mb", type=int, default=400)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--data", type=Path, default=Path(".cache/bench_readd"))
    args = ap.parse_args()

    notes, media = make_data(args.data, args.notes, args.wav_mb)
    tmp = Path(tempfile.mkdtemp(prefix="mmrag-readd-"))
    try:
        index = str(tmp / "idx")
        engine = mmrag.Engine.open(index, load_config({"space.name": "minilm", "index": index}, environ={}))
        rows = []
        for name, folder in (("notes", notes), ("media", media)):
            t0 = time.perf_counter()
            first = engine.add([folder])
            first_s = time.perf_counter() - t0
            size_mb = sum(f.stat().st_size for f in folder.rglob("*") if f.is_file()) / 1e6
            full, n_full = timed_adds(engine, folder, quick=False, repeats=args.repeats)
            quick, n_quick = timed_adds(engine, folder, quick=True, repeats=args.repeats)
            assert n_full == n_quick == len(first.added), "every file must come back unchanged"
            rows.append((name, len(first.added), size_mb, first_s, full, quick))
        engine.close()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    print("| folder | files | MB | first add | re-add, hashing every file | re-add, quick check | faster |")
    print("|---|---|---|---|---|---|---|")
    for name, n, mb, first_s, full, quick in rows:
        print(f"| {name} | {n} | {mb:.0f} | {first_s:.1f} s | {full * 1000:.0f} ms | {quick * 1000:.0f} ms | **{full / quick:.1f}×** |")


if __name__ == "__main__":
    main()

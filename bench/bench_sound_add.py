"""What the shipped sound tower costs at `mmrag add`: the same folder of recordings indexed with
`space.audio_model = off` (the baseline) and with the default `sound0`, in one process.

    python bench/bench_sound_add.py FOLDER [--repeat 2]

FOLDER: recordings (e.g. GCompris' farm animals and instruments under neutral names, as
tests/media/test_shipped_sound_tower.py makes them). Models are loaded once before timing (a
first `add` of one file warms both configurations), so the figures are the per-file work:
decoding, voice activity detection, transcription where speech is found, and for `sound0` one
Whisper encoder pass per sound window. Prints seconds per configuration and the ratio.
Not a test.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

import mmrag
from mmrag.config import load_config


def timed_add(folder: Path, audio_model: str, work: Path) -> float:
    index = work / f"index-{audio_model}"
    shutil.rmtree(index, ignore_errors=True)
    cfg = load_config({"index": str(index), "space.name": "minilm", "space.audio_model": audio_model, "ingest.quick_check": False},
                      environ={})
    with mmrag.Engine.open(str(index), cfg) as eng:
        eng.add([next(iter(sorted(folder.iterdir())))])  # loads the models; not timed
        t0 = time.perf_counter()
        report = eng.add([folder])
        secs = time.perf_counter() - t0
        if report.failed:
            print(f"  ({audio_model}: {len(report.failed)} failed: {report.failed[:2]})")
    return secs


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("folder", type=Path)
    ap.add_argument("--repeat", type=int, default=2, help="runs per configuration; the fastest counts")
    args = ap.parse_args()
    files = [p for p in sorted(args.folder.iterdir()) if p.is_file()]
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        best = {m: min(timed_add(args.folder, m, work) for _ in range(args.repeat)) for m in ("off", "sound0")}
    print(f"{len(files)} recordings in {args.folder}")
    for m, s in best.items():
        print(f"  audio_model={m:7} {s:6.1f} s  ({len(files) / s:.1f} files/s)")
    print(f"sound0 / off: {best['sound0'] / best['off']:.2f}x the time")


if __name__ == "__main__":
    main()

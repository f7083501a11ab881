#!/usr/bin/env python
"""Render labelled sound clips from a General MIDI soundfont for `mmrag train --modality audio`.

Needs: apt-get install fluidsynth fluid-soundfont-gm; pip install pyfluidsynth pretty_midi
(both are in `pip install -e ".[dev]"`).

Usage: python scripts/make_sound_pairs.py OUT [--clips 16] [--unseen 0.15] [--seed 0] [--soundfont FILE.sf2]
Then:  mmrag train OUT/pairs.jsonl --modality audio --eval-pairs OUT/unseen.jsonl --out ./my-audio-tower

--unseen keeps that share of the 175 sounds out of pairs.jsonl (they go to unseen.jsonl):
a tower's recall on them says how it transfers to sounds it never heard.
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np

from mmrag.errors import MmragError
from mmrag.train.soundfont import all_specs, render_sound_pairs


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", help="folder to write the clips and pairs.jsonl into")
    ap.add_argument("--clips", type=int, default=16, help="clips per instrument/drum sound (175 sounds)")
    ap.add_argument("--unseen", type=float, default=0.15, help="share of sounds kept out of training (0 = none)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--soundfont", default=None, help="a GM .sf2 file (default: Debian's FluidR3_GM.sf2)")
    args = ap.parse_args()
    t0 = time.perf_counter()
    last = [0.0]

    def progress(task: str, done: int, total: int) -> None:
        if time.perf_counter() - last[0] > 5 or done == total:
            last[0] = time.perf_counter()
            print(f"{task} {done}/{total}", file=sys.stderr)

    try:
        specs = all_specs()
        rng = np.random.default_rng(args.seed)
        unseen = [specs[i] for i in sorted(rng.permutation(len(specs))[: round(args.unseen * len(specs))])]
        pairs = render_sound_pairs(args.out, specs, args.clips, args.seed, args.soundfont, progress, unseen=unseen)
    except MmragError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    names = ", ".join(s.name for s in unseen) or "none"
    print(f"wrote {pairs} ({len(specs) - len(unseen)} sounds) and unseen.jsonl ({len(unseen)}: {names}) "
          f"in {time.perf_counter() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""What beam search and the n-best alternatives cost a video's ingest, against greedy decoding, in one process.

Video speech used to be decoded greedily while recordings got ``ingest.beam_size`` (5) and the
n-best alternatives of unsure words (``ingest.speech_alternatives``, 4); now both do. This runs
``VideoLoader`` over ``bench_media.py``'s long video (10.5 min, 35 scenes, 8 spoken sentences:
``python bench/bench_media.py prepare`` makes it) with greedy decoding (``beam_size = 1``,
``speech_alternatives = 0``) and with the defaults, alternating, and prints wall time, the ratio,
and how many shots hold speech and alternatives.

    python bench/bench_video_beam.py --rounds 2
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VIDEO = ROOT / ".cache" / "media" / "bench" / "long_video.mp4"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--video", type=Path, default=VIDEO)
    args = ap.parse_args()

    from mmrag.config import IngestConfig
    from mmrag.ingest import speech
    from mmrag.ingest.video import VideoLoader

    speech.warm_up()  # model loads are not ingest work
    configs = {"greedy (before)": IngestConfig(beam_size=1, speech_alternatives=0), "beam 5 + n-best (now)": IngestConfig()}
    for r in range(args.rounds):
        times = {}
        for name, cfg in configs.items():
            t = time.perf_counter()
            segs = list(VideoLoader().load(args.video, cfg))
            times[name] = time.perf_counter() - t
            spoken = [s for s in segs if s.meta.get("kind") == "speech"]
            alts = [s for s in spoken if s.meta.get("heard_also")]
            print(f"round {r + 1} {name}: {times[name]:.1f} s, {len(segs)} segments, {len(spoken)} shots with speech, "
                  f"{len(alts)} with alternatives", flush=True)
        a, b = times.values()
        print(f"round {r + 1}: ratio {b / a:.2f}", flush=True)


if __name__ == "__main__":
    main()

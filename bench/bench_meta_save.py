"""A writer's save of the row-metadata snapshot (``ann/rows.arrow``): materialised (before) vs streamed (now).

Opens the snapshot of a built index (``--index``, e.g. bench_scale's 1M
``index-new``), puts ``--new`` rows written since (copies of snapshot rows under
fresh keys: a writer's save point holds up to 20% new rows), and saves it into
a temp folder, each method in a fresh process. Reported: resident memory
before the save and the peak during it (VmHWM; the process starts its peak
count at the save by resetting it through /proc/self/clear_refs).

    python bench/bench_meta_save.py --index .cache/scale-1m/index-new --new 200000
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))


def status(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024.0
    return 0.0


def old_save(meta, folder: Path) -> None:  # type: ignore[no-untyped-def]
    """The save before this change, verbatim: the whole snapshot materialised and sorted, then written."""
    import pyarrow as pa

    from mmrag.stores import lance_meta as lm

    table = old_snapshot(meta)
    tmp = folder / (lm.FILE + ".tmp")
    with pa.OSFile(str(tmp), "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
        for batch in table.to_batches(max_chunksize=lm.BATCH_ROWS):
            writer.write_batch(batch)


def old_snapshot(self):  # type: ignore[no-untyped-def]
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    from mmrag.stores.lance_meta import meta_schema

    parts = []
    if self._live_base:
        if self._gone:
            gone = np.fromiter(self._gone, dtype=np.uint64, count=len(self._gone))
            parts.append(self._base.filter(pa.array(~np.isin(self._base_keys, gone))))
        else:
            parts.append(self._base)
    if self._at:
        latest: dict[int, list[int]] = {}
        for t, r in self._at.values():
            latest.setdefault(t, []).append(r)
        parts.extend(self._added[t].take(pa.array(sorted(rs), pa.int64())) for t, rs in latest.items())
    if not parts:
        return meta_schema().empty_table()
    table = pa.concat_tables(parts)
    return table.take(pc.sort_indices(table, [("key", "ascending")]))


def child(method: str, index: Path, new: int) -> dict:
    import numpy as np
    import pyarrow as pa

    from mmrag.stores.lance_meta import RowMeta

    state = json.loads((index / "ann" / "state.json").read_text())
    meta = RowMeta.load(index / "ann" / state["folder"])
    fresh = meta._base.slice(0, new)
    keys = np.arange(1, new + 1, dtype=np.uint64) * np.uint64(7919) + np.uint64(1 << 62)
    meta.put(fresh.set_column(0, "key", pa.array(keys, pa.uint64())))
    Path("/proc/self/clear_refs").write_text("5")  # reset VmHWM to the current RSS
    before = status("VmRSS")
    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        (old_save if method == "old" else RowMeta.save)(meta, Path(tmp))
        took = time.perf_counter() - t
    return {"rows": len(meta), "rss_before_mb": before, "peak_mb": status("VmHWM"), "save_s": took}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--index", type=Path, required=True)
    ap.add_argument("--new", type=int, default=200_000)
    ap.add_argument("--child")
    args = ap.parse_args()
    if args.child:
        print("RESULT " + json.dumps(child(args.child, args.index, args.new)), flush=True)
        return
    for method in ("old", "new"):
        out = subprocess.run([sys.executable, __file__, "--child", method, "--index", str(args.index), "--new", str(args.new)],
                             capture_output=True, text=True, check=False)
        res = [json.loads(x[7:]) for x in out.stdout.splitlines() if x.startswith("RESULT ")]
        if not res:
            print(f"{method} failed: {out.stderr[-2000:]}")
            continue
        r = res[0]
        print(f"{method:4s} save of {r['rows']} rows: RSS before {r['rss_before_mb']:6.0f} MB, peak during {r['peak_mb']:6.0f} MB "
              f"(+{r['peak_mb'] - r['rss_before_mb']:.0f} MB), {r['save_s']:.1f} s", flush=True)


if __name__ == "__main__":
    main()

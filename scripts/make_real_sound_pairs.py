#!/usr/bin/env python
"""Build captioned real sound-effect pairs from Debian packages for `mmrag train --modality audio`.

Downloads the packages below with `apt-get download` into --cache (nothing is installed),
extracts them with `dpkg-deb -x` (Qt .rcc, OpenTTD .cat and OpenClonk .ocg archives are
unpacked too; of 0 A.D.'s 3.3 GB public.zip only audio/ minus voice/ and music/ is read, then
the zip and its 1.4 GB .deb are deleted; a `.done` file makes reruns reuse each folder), decodes every sound to 16 kHz mono (PyAV, as `mmrag.ingest.avio` does),
drops silent/broken/short (<0.3 s) files, keeps the loudest --max-seconds window (up to 3
windows of long files such as music loops), writes OUT/clips/<package>/*.wav and captions each
clip from its file and folder names (scripts/real_sound_captions.py: "a dog barking").

Writes:
  OUT/pairs.jsonl           training pairs {"a": wav, "b": caption} (all packages but GCompris)
  OUT/heldout.jsonl         GCompris (gcompris-qt-data) only: never trained on
  OUT/heldout_unseen.jsonl  ~--unseen of the distinct captions of --unseen-package (default
                            wesnoth-1.16-data, fixed so that adding a bigger package such as 0ad-data
                            keeps the split; only captions no other training package has): sounds
                            never trained on. Packages added later (0ad-data) neither change this
                            choice nor train on its captions: their clips with such a caption are dropped
  OUT/sources.json          per package: version, licence (debian/copyright), clips, captions

Then: mmrag train OUT/pairs.jsonl --mode bind --modality audio --backbone whisper --eval-pairs OUT/heldout.jsonl
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import time
import wave
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from real_sound_captions import caption
from sound_archives import unpack_c4group, unpack_openttd_cat, unpack_rccs, unpack_zip
from zeroad_captions import ZEROAD as ZEROAD_PHRASES
from zeroad_captions import ZEROAD_DROP, ZEROAD_SKIP, ZEROAD_SKIP_FILES

SR = 16000
AUDIO = (".ogg", ".oga", ".wav", ".flac", ".mp3", ".opus")
KEEP = ["*.ogg", "*.oga", "*.wav", "*.flac", "*.mp3", "*.opus", "*.rcc", "*.cat", "*.ocg", "*.wz", "*/copyright"]
HELDOUT_PACKAGE = "gcompris-qt-data"
UNSEEN_PACKAGE = "wesnoth-1.16-data"  # default --unseen-package: fixed, so adding a bigger package keeps the split
ZEROAD = "0ad-data"
ZEROAD_ZIP = "usr/share/games/0ad/mods/public/public.zip"
GCOMPRIS_RCC = ("explore_farm_animals", "memory-sound", "instruments", "core", "melody", "watercycle",
                "clickgame", "explore_world_music")


@dataclass(frozen=True)
class Source:
    """Where a package keeps its sounds and how its folders add to a caption."""

    package: str
    roots: tuple[str, ...]  # folders (inside the extracted package or its unpacked archives) holding sounds
    skip: str = r"$^"  # regex on the path under the root: files to leave out (speech, music, junk)
    folders: bool = False  # do folder names add words?
    drop: frozenset[str] = frozenset()  # folder names that add nothing (categories)
    templates: tuple[tuple[str, str], ...] = ()  # (folder name, caption template)
    # added after the unseen split was fixed: its captions do not change which captions are held out, and its
    # clips whose caption is held out are dropped (so heldout_unseen.jsonl stays the same and stays unseen)
    after_split: bool = False


G = "usr/share/games/"
SOURCES = (
    Source("scratch", ("usr/share/scratch/Media/Sounds",), r"^Vocals/(?!BeatBox|Singer)",
           templates=(("Electronic", "{}, electronic sound effect"), ("Music Loops", "{}, music loop"))),
    Source("openttd-opensfx", ("unpacked/opensfx",)),
    Source("wesnoth-1.16-data", (G + "wesnoth/1.16/data/core/sounds", G + "wesnoth/1.16/sounds",
                                 G + "wesnoth/1.16/data/campaigns/World_Conquest/sounds")),
    Source("openclonk-data", ("unpacked/Sound",), r"Skin/.*/(Confirm|Decline|Doubt|EvilConfirm)|Disasters/EarthquakeEnd",
           folders=True, drop=frozenset(["Animals", "Action", "Movement", "Environment", "Fire", "Hits", "Materials", "Liquids", "Objects", "Structures", "UI", "Weapons", "Disasters", "Lightning", "Glass", "Metal", "Rock", "Wood", "Clonk"]),
           templates=(("UI", "{}, user interface sound"),)),
    Source("hedgewars-data", (G + "hedgewars/Data/Sounds",), r"^voices/"),
    Source("freedink-data", (G + "dink/dink/Sound",)),
    Source("sound-icons", ("usr/share/sounds/sound-icons",)),
    # sound-theme-freedesktop is left out: the shipped sound tower's tests use it as sounds it never heard
    Source("supertux-data", (G + "supertux2/sounds",)),
    Source("extremetuxracer-data", (G + "etr/sounds",)),
    Source("pingus-data", (G + "pingus/data/sounds",)),
    Source("lincity-ng-data", (G + "lincity-ng/sounds",)),
    Source("minetest-data", (G + "minetest/games/minetest_game/mods",)),
    Source("widelands-data", (G + "widelands/data/sound", G + "widelands/data/world/critters"),
           r"^(music|message|lobby|military|click|create_construction|barbarians/mortar|barbarians/blackwood)"),
    Source("warzone2100-data", ("unpacked/sfx",), r"(scream|help|silence|gmeshtdn|ecmtower|nxstower|rotlsr|bldstart|tflight|thover|tland)"),
    # 0 A.D.: speech and music are never unpacked; interface sounds named after game events are skipped
    Source(ZEROAD, ("unpacked/audio",), ZEROAD_SKIP_FILES, folders=True, drop=ZEROAD_DROP, after_split=True),
    Source(HELDOUT_PACKAGE, tuple(f"unpacked/{n}" for n in GCOMPRIS_RCC), r"voices|/intro\."),
)


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def fetch(package: str, cache: Path) -> Path:
    """The extracted package folder in ``cache`` (downloaded and extracted unless already there)."""
    root = cache / "x" / package
    if (root / ".done").exists():
        return root
    debs = cache / "debs"
    debs.mkdir(parents=True, exist_ok=True)
    found = sorted(debs.glob(f"{package}_*.deb"))
    if not found:
        log(f"downloading {package} ...")
        r = subprocess.run(["apt-get", "download", package], cwd=debs, capture_output=True, text=True, check=False)
        found = sorted(debs.glob(f"{package}_*.deb"))
        if r.returncode != 0 or not found:
            raise SystemExit(f"error: `apt-get download {package}` failed ({r.stderr.strip()[-300:]}); "
                             f"run `apt-get update` or check that the package exists (`apt-cache show {package}`)")
    root.mkdir(parents=True, exist_ok=True)
    # only sounds, sound archives and licences: some of these packages are hundreds of MB
    keep = [*KEEP, "*/" + ZEROAD_ZIP] if package == ZEROAD else KEEP
    tar = subprocess.Popen(["dpkg-deb", "--fsys-tarfile", str(found[-1])], stdout=subprocess.PIPE)
    subprocess.run(["tar", "-x", "-C", str(root), "--wildcards", *keep], stdin=tar.stdout,
                   stderr=subprocess.DEVNULL, check=False)  # tar complains about patterns that match nothing
    if tar.wait() != 0:
        raise SystemExit(f"error: cannot unpack {found[-1]} (dpkg-deb failed): delete it and run again to download it anew")
    unpacked = root / "unpacked"
    if package == "openttd-opensfx":
        unpack_openttd_cat(root / G / "openttd/baseset/opensfx/opensfx.cat", unpacked / "opensfx")
    elif package == "openclonk-data":
        unpack_c4group(root / G / "openclonk/Sound.ocg", unpacked / "Sound")
    elif package == "warzone2100-data":
        unpack_zip(root / G / "warzone2100/base.wz", "audio/sfx/", unpacked / "sfx")
    elif package == HELDOUT_PACKAGE:
        unpack_rccs(root / "usr/share/gcompris-qt/rcc", GCOMPRIS_RCC, unpacked)
    elif package == ZEROAD:  # 3.3 GB zip: read only the wanted audio members, then delete zip and .deb (1.4 GB)
        zipped = root / ZEROAD_ZIP
        if not zipped.exists():
            raise SystemExit(f"error: {found[-1].name} has no {ZEROAD_ZIP}: delete it and run again to download it anew")
        log(f"{package}: reading audio/ of {zipped.name} ({zipped.stat().st_size / 1e9:.1f} GB) ...")
        n = unpack_zip(zipped, "audio/", unpacked / "audio", ZEROAD_SKIP)
        log(f"{package}: {n} sound files unpacked; deleting {zipped.name} and {found[-1].name}")
        zipped.unlink()
        (root / ".done").write_text(found[-1].name)
        found[-1].unlink()
        return root
    (root / ".done").write_text(found[-1].name)
    return root


def meta(package: str, root: Path) -> dict[str, object]:
    """Version (from the .deb name) and licence lines (from usr/share/doc/*/copyright)."""
    deb = (root / ".done").read_text()
    version = deb.split("_")[1].replace("%3a", ":")
    lic: list[str] = []
    for cp in sorted(root.glob("usr/share/doc/*/copyright")):
        for m in re.finditer(r"^License:\s*(\S.*)$", cp.read_text(errors="replace"), re.MULTILINE):
            name = m.group(1).strip()
            if name not in lic and len(name) < 60 and not re.match(r"(Copyright|This|The) ", name):  # DEP-5 names only
                lic.append(name)
        if not lic:  # not machine-readable: name the licences the text mentions
            text = " ".join(cp.read_text(errors="replace").split())
            pat = (r"GNU (?:Lesser |Library )?General Public License(?:,? [Vv]ersion \d(?:\.\d)?)?|Creative Commons [A-Za-z -]+\d\.\d"
                   r"|ISC license|zlib license|provided 'as-is'[^.]*|public domain")
            lic += list(dict.fromkeys(m.group(0) for m in re.finditer(pat, text, re.IGNORECASE))) or [text[:200]]
    return {"version": version, "licence": "; ".join(lic)}


def windows(x: np.ndarray, max_s: float) -> list[np.ndarray]:
    """Silence-trimmed clip, or its loudest ``max_s`` window (up to 3 for files >= 3 x max_s)."""
    peak = float(np.abs(x).max()) if len(x) else 0.0
    if peak < 1e-3:
        return []
    loud = np.flatnonzero(np.abs(x) > peak * 0.01)
    x = x[loud[0]: loud[-1] + 1]
    n = int(max_s * SR)
    if len(x) <= n:
        return [x]
    hop = SR // 4
    energy = np.concatenate([[0.0], np.cumsum(x.astype(np.float64) ** 2)])
    starts = np.arange(0, len(x) - n + 1, hop)
    e = energy[starts + n] - energy[starts]
    picked: list[int] = []
    for i in np.argsort(-e):
        if len(picked) >= min(3, len(x) // n) or e[i] < 0.25 * e[np.argmax(e)]:
            break
        if all(abs(int(starts[i]) - p) >= n for p in picked):
            picked.append(int(starts[i]))
    return [x[p: p + n] for p in sorted(picked)]


def write_wav(path: Path, x: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(SR)
        w.writeframes((np.clip(x, -1, 1) * 32767).astype("<i2").tobytes())


def sounds(src: Source, root: Path) -> list[tuple[Path, str | None]]:
    """(file, caption or None) for every audio file of ``src``."""
    out: list[tuple[Path, str | None]] = []
    for r in src.roots:
        base = root / r
        for f in sorted(p for p in base.rglob("*") if p.suffix.lower() in AUDIO and p.is_file()):
            rel = f.relative_to(base).as_posix()
            if re.search(src.skip, rel):
                continue
            parts = rel.split("/")[:-1]
            if src.package == "openclonk-data" and "Skin" in parts:
                parts = ["person"]
            template = next((t for name, t in src.templates if name in (*parts, base.name)), "{}")
            folders = tuple(p for p in parts if p not in src.drop) if src.folders else ()
            stem = f.stem if src.package != "openttd-opensfx" else f.stem.split("__", 1)[-1]
            out.append((f, caption(stem, folders, template, ZEROAD_PHRASES if src.package == ZEROAD else None)))
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0], epilog="\n".join(__doc__.splitlines()[1:]),
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out", type=Path, help="folder for clips/, pairs.jsonl, heldout*.jsonl, sources.json")
    ap.add_argument("--cache", type=Path, default=Path(".cache/sound-debs"), help="where .debs are downloaded and extracted (reused)")
    ap.add_argument("--seed", type=int, default=0, help="picks the held-out captions of --unseen-package")
    ap.add_argument("--max-seconds", type=float, default=10.0, help="longest clip; longer files keep their loudest window(s)")
    ap.add_argument("--min-seconds", type=float, default=0.3, help="shorter (after trimming silence) files are dropped")
    ap.add_argument("--max-per-caption", type=int, default=8, help="clips kept per (package, caption)")
    ap.add_argument("--unseen", type=float, default=0.2, help="share of --unseen-package's distinct captions held out")
    ap.add_argument("--unseen-package", default=UNSEEN_PACKAGE,
                    help=f"hold out captions of this package (default {UNSEEN_PACKAGE}, kept fixed so that adding packages "
                         "keeps the split; when it is not built, the largest training package built)")
    ap.add_argument("--packages", nargs="*", default=None,
                    help=f"only these packages (default: all of SOURCES but {ZEROAD}, whose 1.4 GB download is opt-in)")
    ap.add_argument("--zeroad", action="store_true",
                    help=f"also {ZEROAD} (1.4 GB download; the shipped sound0 is trained without it: bench/README.md)")
    ap.add_argument("--with", dest="also", type=Path, action="append", default=[], metavar="PAIRS.jsonl",
                    help="add another pairs file's rows to pairs.jsonl (paths made absolute), e.g. the General MIDI "
                         "sounds of make_sound_pairs.py; repeatable")
    ap.add_argument("--list", action="store_true", help="only print 'package<TAB>file<TAB>caption' for every sound (no decoding)")
    args = ap.parse_args()
    unknown = set(args.packages or ()) - {s.package for s in SOURCES}
    if unknown:
        ap.error(f"unknown package(s) {', '.join(sorted(unknown))}: choose among {', '.join(s.package for s in SOURCES)}")
    from mmrag.ingest.avio import decode_audio

    t0 = time.perf_counter()
    cache, out = args.cache.resolve(), args.out.resolve()
    rows: dict[str, list[tuple[str, str]]] = defaultdict(list)
    info: dict[str, dict[str, object]] = {}
    for src in SOURCES:
        if (args.packages and src.package not in args.packages) or (
            not args.packages and src.package == ZEROAD and not args.zeroad
        ):
            continue
        root = fetch(src.package, cache)
        info[src.package] = meta(src.package, root)
        files = sounds(src, root)
        if args.list:
            for f, text in files:
                print(f"{src.package}\t{f.relative_to(root)}\t{text}")
            continue
        per_caption: dict[str, int] = defaultdict(int)
        skipped = 0
        for i, (f, text) in enumerate(files, 1):
            if text is None:
                skipped += 1
                continue
            if per_caption.get(text, 0) >= args.max_per_caption:
                continue
            try:
                x, _ = decode_audio(f, max_s=600)
            except Exception as exc:  # noqa: BLE001 - one broken file is a warning, the rest lands
                log(f"warning: {src.package}: {f.name}: cannot decode ({type(exc).__name__}: {exc})")
                continue
            clips = [c for c in windows(x, args.max_seconds) if len(c) >= args.min_seconds * SR]
            if not clips:
                log(f"warning: {src.package}: {f.name}: silent or shorter than {args.min_seconds} s, dropped")
                continue
            rel = f.relative_to(root).with_suffix("")
            for k, c in enumerate(clips[: args.max_per_caption - per_caption.get(text, 0)]):
                name = re.sub(r"[^A-Za-z0-9._-]+", "_", "__".join(rel.parts[-3:]))
                wav = out / "clips" / src.package / f"{name}{'' if k == 0 else f'.w{k}'}.wav"
                write_wav(wav, c)
                rows[src.package].append((str(wav), text))
                per_caption[text] += 1
            if i % 50 == 0:
                log(f"{src.package}: {i}/{len(files)} files, {len(rows[src.package])} clips")
        log(f"{src.package}: {len(rows[src.package])} clips, {len(per_caption)} captions, {skipped} files skipped by name")
    if args.list:
        return 0
    train = [p for p in rows if p != HELDOUT_PACKAGE]
    unseen: set[str] = set()
    if train and args.unseen > 0:
        big = args.unseen_package
        if big == UNSEEN_PACKAGE and big not in train:  # the default, but --packages left it out
            big = max(train, key=lambda p: len(rows[p]))
            log(f"{UNSEEN_PACKAGE} not built: holding out captions of the largest training package, {big}")
        if big not in train:
            ap.error(f"--unseen-package {big} is not among the training packages built: {', '.join(train)}")
        late = {s.package for s in SOURCES if s.after_split}
        others = {t for p in train if p != big and p not in late for _, t in rows[p]}
        own = sorted({t for _, t in rows[big]} - others)
        rng = np.random.default_rng(args.seed)
        n = round(args.unseen * len({t for _, t in rows[big]}))
        unseen = {own[i] for i in rng.permutation(len(own))[:n]}
        info[big]["unseen_from"] = True
        for p in late & set(rows):  # never train a later package on a held-out caption
            kept = [(a, b) for a, b in rows[p] if b not in unseen]
            if len(kept) < len(rows[p]):
                dropped = sorted({b for _, b in rows[p] if b in unseen})
                info[p]["dropped_as_unseen"] = {"clips": len(rows[p]) - len(kept), "captions": dropped}
                log(f"{p}: {len(rows[p]) - len(kept)} clips dropped: their captions are held out ({'; '.join(dropped)})")
                rows[p] = kept
    outputs: dict[str, list[dict[str, str]]] = {"pairs.jsonl": [], "heldout.jsonl": [], "heldout_unseen.jsonl": []}
    for p, items in rows.items():
        clips_in: dict[str, int] = defaultdict(int)
        captions_in: dict[str, set[str]] = defaultdict(set)
        for a, b in items:
            name = "heldout.jsonl" if p == HELDOUT_PACKAGE else "heldout_unseen.jsonl" if b in unseen else "pairs.jsonl"
            outputs[name].append({"a": a, "b": b})
            clips_in[name] += 1
            captions_in[name].add(b)
        info[p]["clips"] = dict(clips_in)
        info[p]["captions"] = {k: len(v) for k, v in captions_in.items()}
    for extra in args.also:  # e.g. General MIDI instruments (make_sound_pairs.py): relative paths are to its folder
        added = [json.loads(line) for line in extra.read_text(encoding="utf-8").splitlines() if line.strip()]
        for row in added:
            a = Path(row["a"])
            outputs["pairs.jsonl"].append({"a": str(a if a.is_absolute() else (extra.parent / a).resolve()), "b": row["b"]})
        info[str(extra)] = {"clips": {"pairs.jsonl": len(added)}, "captions": {"pairs.jsonl": len({r["b"] for r in added})}}
    out.mkdir(parents=True, exist_ok=True)
    for name, lines in outputs.items():
        with (out / name).open("w", encoding="utf-8") as fh:
            fh.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in lines)
    (out / "sources.json").write_text(json.dumps(info, indent=2, ensure_ascii=False) + "\n")
    log(" ".join(f"{k}: {len(v)} clips ({len({r['b'] for r in v})} captions)" for k, v in outputs.items())
        + f" in {time.perf_counter() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

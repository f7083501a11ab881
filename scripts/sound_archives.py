"""Unpack the game archives that hold sounds: OpenTTD's .cat, OpenClonk's .ocg (c4group), Qt .rcc.

Used by ``scripts/make_real_sound_pairs.py``; each writes plain files into a folder.
"""

from __future__ import annotations

import gzip
import re
import struct
import sys
import zipfile
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from classify_data import unpack_rcc

# OpenTTD OpenSFX titles that say what the game uses a sound for, not what it sounds like.
OPENTTD_NAMES = {
    "Good Year": "cheerful fanfare", "Bad Year": "sad trombone jingle", "Splat": "construction thud",
    "Splat (building docks/canals/river)": "splashing construction", "Steam (of steam engine)": "steam engine hiss",
    "Road vehicle breakdown": "heavy metal clunk", "Train/ship breakdown": "metal clanking and banging",
    "Oooh sound": "crowd going oooh", "Morse": "morse code beeps", "Cash till": "cash register",
    "Toy factory": "toy factory machinery", "Sugar mine": "shaker rattling", "Toffee quarry": "metallic clanging",
    "Plastic mine": "bubbling liquid", "Bubble generated": "bubbles", "Bubble slurped": "slurping bubbles",
    "Bubble plop": "bubble plop", "Comedy bus start": "cartoon bus starting with a honk",
    "Comedy truck start": "cartoon truck starting", "Mining machinery": "mining machinery rumbling",
    "Building bridge": "blacksmith hammering", "Sawmill": "circular saw cutting", "Bird": "tropical bird calling",
    "Lion roar": "lion roaring", "Monkeys": "monkeys screeching", "Crashing tree": "tree crashing down",
    "Falling tree": "tree falling", "Chainsaw": "chainsaw", "Level crossing": "railway level crossing bell",
    "Plane wheels touching ground": "plane wheels screeching on landing",
}


def openttd_title(raw: str) -> str | None:
    """Plain name for an OpenSFX entry title (``"Toyland: Toy factory (2)". By ...`` -> ``toy factory machinery``)."""
    m = re.match(r'"([^"]+)"', raw)
    if not m or m.group(1).startswith("Unused"):
        return None
    title = re.sub(r"^(Toyland|Tropical|Lumber mill): ", "", m.group(1))
    if title in OPENTTD_NAMES:
        return OPENTTD_NAMES[title]
    title = re.sub(r"\s*\(\d\)$", "", title)
    return OPENTTD_NAMES.get(title, re.sub(r"\s*\([^)]*\)?", "", title).replace("/", " or ").strip())


def unpack_openttd_cat(cat: Path, out: Path) -> None:
    """Write each sample of an OpenTTD sound catalogue as ``NN__<plain name>.wav``."""
    b = cat.read_bytes()
    count = (struct.unpack("<I", b[:4])[0] & 0x7FFFFFFF) // 8
    out.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        off, size = struct.unpack("<II", b[i * 8: i * 8 + 8])
        off &= 0x7FFFFFFF
        n = b[off]
        name = openttd_title(b[off + 1: off + 1 + n].split(b"\0")[0].decode("utf-8", "replace"))
        if name and size > 1000:
            safe = re.sub(r"[^A-Za-z0-9 ,+-]+", " ", name).strip()
            (out / f"{i:02d}__{safe}.wav").write_bytes(b[off + 1 + n: off + size])


def _c4_header(d: bytes, o: int) -> int:
    h = bytearray(d[o: o + 204])
    for i in range(0, 202, 3):  # c4group scrambles its 204-byte header: swap bytes 0/2 of each triple, xor 237
        h[i], h[i + 2] = h[i + 2], h[i]
    h = bytearray(x ^ 237 for x in h)
    if not h.startswith(b"RedWolf Design"):
        raise ValueError(f"not a c4group header at offset {o}")
    return int(struct.unpack("<i", h[36:40])[0])


def unpack_c4group(path: Path, out: Path) -> None:
    """Unpack an OpenClonk/Clonk ``.ocg`` group (gzip with magic 1E 8C; nested groups become folders)."""
    raw = bytearray(path.read_bytes())
    raw[0:2] = b"\x1f\x8b"
    d = gzip.decompress(bytes(raw))
    stack = [(0, out)]
    while stack:
        o, folder = stack.pop()
        n = _c4_header(d, o)
        base = o + 204 + n * 316  # entry cores are 316 bytes; data offsets count from their end
        for i in range(n):
            e = d[o + 204 + i * 316: o + 204 + (i + 1) * 316]
            name = e[:260].split(b"\0")[0].decode("latin1").replace("/", "_")
            _packed, child, size, _unused, off = struct.unpack("<iiiii", e[260:280])
            if child:
                stack.append((base + off, folder / name.removesuffix(".ocg")))
            elif name.lower().endswith((".ogg", ".wav")):
                folder.mkdir(parents=True, exist_ok=True)
                (folder / name).write_bytes(d[base + off: base + off + size])


def unpack_zip(path: Path, prefix: str, out: Path, skip: str = r"$^") -> int:
    """Extract the sound files under ``prefix`` of a zip archive (Warzone 2100's .wz, 0 A.D.'s
    public.zip) into ``out``, leaving out those whose path under ``prefix`` matches ``skip``.

    Reads only those members (zipfile seeks to each), so a 3 GB archive costs only its sounds.
    Returns how many files were written."""
    n = 0
    with zipfile.ZipFile(path) as z:
        for name in z.namelist():
            rel = name[len(prefix):]
            if (name.startswith(prefix) and name.lower().endswith((".ogg", ".wav")) and not re.search(skip, rel)
                    and ".." not in rel.split("/") and not rel.startswith("/")):  # no writing outside ``out``
                n += 1
                dest = out / rel
                dest.parent.mkdir(parents=True, exist_ok=True)
                dest.write_bytes(z.read(name))
    return n


def unpack_rccs(rcc_dir: Path, names: Sequence[str], out: Path) -> None:
    """Unpack GCompris' ``<name>.rcc`` Qt resource files into ``out/<name>/``."""
    for name in names:
        unpack_rcc(rcc_dir / f"{name}.rcc", out / name)


__all__ = ["openttd_title", "unpack_c4group", "unpack_openttd_cat", "unpack_rccs", "unpack_zip"]

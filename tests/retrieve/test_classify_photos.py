"""Zero-shot classification on real photos with the fitted classifier (real towers, real index).

The issue's report: rocket.jpg came out "cat" at 90 % because classify read the
image tower's one vector (ConSE mixed with a head trained on drawings at 0.9)
at a constant scale. Now the parts are weighed by scales fitted on held-out
labelled pictures; the margins asserted here were measured (bench/README.md).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from tests.conftest import package_file

from mmrag.classify import classify_images, classify_index, flatness, label_vectors, softmax_scores
from mmrag.classify_model import (
    ClassifyModel,
    Task,
    fit_weights,
    fused_logits,
    load_classify_model,
    nll,
    softmax,
)
from mmrag.types import Channel

LABELS = ["cat", "coffee", "rocket", "horse"]
CASES = {"chelsea.png": "cat", "coffee.png": "coffee", "rocket.jpg": "rocket"}


def test_fused_logits_and_likelihood_math() -> None:
    cos = {"conse": np.array([[0.8, 0.2], [0.1, 0.5]]), "text": np.array([[0.0, 1.0], [1.0, 0.0]])}
    has = np.array([False, True])
    z = fused_logits({"conse": 10.0, "text": 2.0, "head": 5.0}, cos, has)  # head absent: ignored
    assert np.allclose(z, [[8.0, 2.0], [3.0, 5.0]])  # the text part counts only where the picture has words
    task = Task(cos, np.array([0, 1]), has)
    w = np.array([10.0, 2.0])
    val, grad = nll(w, ("conse", "text"), [task])
    p = softmax(z)
    assert val == pytest.approx(-(np.log(p[0, 0]) + np.log(p[1, 1])) / 2)
    eps = 1e-5
    for i in range(2):  # the analytic gradient matches a finite difference
        step = np.eye(2)[i] * eps
        num = (nll(w + step, ("conse", "text"), [task])[0] - nll(w - step, ("conse", "text"), [task])[0]) / (2 * eps)
        assert grad[i] == pytest.approx(num, rel=1e-4, abs=1e-8)


def test_flatness_tells_drawings_from_photos() -> None:
    from PIL import Image

    assert flatness(Image.new("RGB", (50, 50), (10, 200, 30))) == 1.0
    noise = np.random.default_rng(0).integers(0, 255, (64, 64, 3), dtype=np.uint8)
    assert flatness(Image.fromarray(noise)) == 0.0
    # measured: chelsea 0.11, coffee 0.16; 90 % of Twemoji / OpenMoji drawings 0.71-0.92
    for name in ("chelsea.png", "coffee.png"):
        assert flatness(Image.open(package_file("skimage", f"data/{name}"))) < 0.3


def test_fit_recovers_a_known_scale() -> None:
    rng = np.random.default_rng(0)
    cos = rng.uniform(-0.2, 0.6, size=(4000, 5))
    p = softmax(25.0 * cos)  # labels drawn from a classifier whose true scale is 25
    y = np.array([rng.choice(5, p=row) for row in p])
    w = fit_weights(["image"], [Task({"image": cos}, y)])
    assert w["image"] == pytest.approx(25.0, rel=0.1)


def test_shipped_model_is_used_for_the_offline_space(engine) -> None:  # type: ignore[no-untyped-def]
    model = load_classify_model(engine.space.spec.encoders)
    assert isinstance(model, ClassifyModel) and model.source.endswith("classify-minilm-lite0b.json")  # the default tower's own fit
    assert set(model.weights) == {"conse", "head", "conse:flat", "head:flat", "text"} and set(model.fused) == {"image", "text"}
    assert load_classify_model({"text": "other", "image": "other"}).source.startswith("unfitted")


@pytest.fixture(scope="module")
def neutral_photos(tmp_path_factory: pytest.TempPathFactory) -> dict[Path, str]:
    """The issue's photos under names that say nothing (the file name is a picture's own words)."""
    root = tmp_path_factory.mktemp("neutral-photos")
    out = {}
    for i, (name, label) in enumerate(CASES.items()):
        dst = root / f"{i:04d}{Path(name).suffix}"
        shutil.copyfile(package_file("skimage", f"data/{name}"), dst)
        out[dst] = label
    return out


def test_real_photos_get_the_right_label_by_what_they_show(engine, neutral_photos) -> None:  # type: ignore[no-untyped-def]
    paths = list(neutral_photos)
    preds = classify_images(engine.space, engine.config, paths, LABELS)
    for p, truth in zip(preds, neutral_photos.values()):
        assert abs(sum(p.scores.values()) - 1) < 1e-6
        ranked = sorted(p.scores.values(), reverse=True)
        assert p.label == truth, (p.item, p.scores)
        # measured: margins 0.53 (rocket.jpg: 0.74 vs cat 0.20), 0.9993, 0.9998; asserted with room
        assert ranked[0] - ranked[1] >= 0.35, p.scores
    # the old classifier (one tower vector at CLIP's constant scale) got rocket.jpg wrong with the fixed-mix tower
    # (mostly the drawings head); the default tower weighs ConSE in by flatness, so even its one vector gets it right
    from PIL import Image

    from mmrag.space.adapters import backbone_tower_dir, load_image_tower

    pictures = [Image.open(p).convert("RGB") for p in paths]
    labels = label_vectors(engine.space, LABELS)
    assert LABELS[int(np.argmax(softmax_scores(engine.space.encode(Channel.IMAGE, pictures), labels)[2]))] == "rocket"
    fixed = load_image_tower(backbone_tower_dir(), engine.space.dim).encode(pictures)
    assert LABELS[int(np.argmax(softmax_scores(fixed, labels)[2]))] != "rocket"


def test_label_p_is_sane_not_certain(engine, neutral_photos) -> None:  # type: ignore[no-untyped-def]
    preds = classify_images(engine.space, engine.config, list(neutral_photos), LABELS)
    # measured: chelsea cat 0.9999, coffee 0.9996, rocket.jpg rocket 0.74 (cat 0.20): sure of the clear photos,
    # less of the rocket on its gantry (ECE over 19 real photos: bench/README.md); never saturated to exactly 1
    assert all(0.6 < p.probability < 1.0 for p in preds)
    assert preds[2].probability < 0.95
    flat = classify_images(engine.space, engine.config, list(neutral_photos), LABELS, temperature=4.0)
    assert all(f.probability < p.probability for f, p in zip(flat, preds))  # temperature flattens
    # not asserted, because it is not so (README): a picture that no label fits still gets one, at times
    # confidently (coins.png among giraffe / banana / airplane: banana 0.94; astronaut.png: horse 0.88)


def test_label_index_on_real_photos(engine) -> None:  # type: ignore[no-untyped-def]
    preds = classify_index(engine, LABELS, write=False, use_text=False, where="modality = 'image'")
    by_source = {}
    for p in preds:
        src = engine.store.search(np.eye(engine.store.dim, dtype=np.float32)[0], 1, f"segment_id = '{p.item}'")[0].row.source
        by_source[Path(src).name] = p
    for name, truth in {"cat.png": "cat", "coffee.png": "coffee", "rocket.jpg": "rocket"}.items():
        assert by_source[name].label == truth, (name, by_source[name].scores)
    # with the pictures' own words (their file names here) the right label only gains
    with_text = {p.item: p for p in classify_index(engine, LABELS, write=False, where="modality = 'image'")}
    for p in preds:
        if p.label in ("cat", "coffee", "rocket"):
            assert with_text[p.item].scores[p.label] >= p.scores[p.label] - 1e-6


def test_cli_classifies_files_without_an_index_and_creates_nothing(neutral_photos, tmp_path) -> None:  # type: ignore[no-untyped-def]
    import json
    import os
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[2]
    work = tmp_path / "empty"
    work.mkdir()
    by_label = {label: path for path, label in neutral_photos.items()}
    photos = [by_label["cat"], by_label["coffee"]]
    done = subprocess.run(
        [sys.executable, "-m", "mmrag.cli", "classify", *map(str, photos), "--labels", "cat,coffee,rocket,horse", "--json"],
        cwd=work, capture_output=True, text=True, timeout=600, check=False,
        env={**os.environ, "PYTHONPATH": str(root / "src"), "MMRAG_SPACE_NAME": "minilm"},
    )
    assert done.returncode == 0, done.stderr
    assert "no index at" in done.stderr and "default space 'minilm'" in done.stderr
    got = {Path(p["item"]).name: max(p["scores"], key=p["scores"].get) for p in json.loads(done.stdout)}
    assert got == {photos[0].name: "cat", photos[1].name: "coffee"}
    assert list(work.iterdir()) == []  # no index folder was made

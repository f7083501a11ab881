"""Contrastive losses as pure functions on tensors.

Every loss here takes already-computed embeddings (or logits) and returns a
scalar tensor (mean over the batch). None of them normalises its inputs: the
caller decides (CLIP-style towers L2-normalise before the loss).

- :func:`margin_contrastive_loss` — Chopra, Hadsell & LeCun (2005): similar
  pairs pay their squared distance ``d²``, dissimilar pairs pay
  ``max(0, ε − d)²``.
- :func:`nce_loss` — Gutmann & Hyvärinen (2010): logistic regression of data
  against noise samples with the logit ``G(u) − ln ν`` where
  ``G(u) = ln p_model(u) − ln p_noise(u)`` and ``ν`` is noise samples per data sample.
- :func:`info_nce_loss` — van den Oord et al. (2018): cross-entropy of the
  positive among N candidates, similarities divided by a temperature.
- :func:`clip_loss` — Radford et al. (2021): symmetric InfoNCE (image→text and
  text→image averaged) with a learnable logit scale clamped to ``max_scale``.
- :func:`siglip_loss` — Zhai et al. (2023): an independent sigmoid per pair,
  labels +1 on the diagonal and −1 elsewhere, learnable scale and bias.

Hard negatives (``hard``: ``(N, K, D)`` embeddings of items known to be wrong
for caption ``i``, e.g. exported feedback's wrong hits; ``hard_mask``:
``(N, K)`` which of the K slots are real) join the text→image direction:
CLIP's and InfoNCE's softmax over the batch's items gets K more columns per
caption (the denominator), SigLIP gets K more −1 pairs per caption.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

CLIP_INIT_SCALE = math.log(1 / 0.07)  # CLIP's initial temperature 0.07
CLIP_MAX_SCALE = 100.0  # CLIP clamps exp(logit_scale) at 100
SIGLIP_INIT_SCALE = math.log(10.0)
SIGLIP_INIT_BIAS = -10.0


def margin_contrastive_loss(x1: Tensor, x2: Tensor, same: Tensor, margin: float = 1.0) -> Tensor:
    """Margin contrastive loss over pairs ``(x1[i], x2[i])``.

    ``same[i]`` is 1 (or True) when the pair is a match. A match pays ``d²``;
    a non-match pays ``max(0, margin − d)²``; ``d`` is the Euclidean distance.
    """
    same_f = same.to(x1.dtype)
    d = torch.linalg.vector_norm(x1 - x2, dim=-1)
    per_pair = same_f * d.pow(2) + (1.0 - same_f) * F.relu(margin - d).pow(2)
    return per_pair.mean()


def nce_loss(data_logratio: Tensor, noise_logratio: Tensor, noise_ratio: float | None = None) -> Tensor:
    """Noise-contrastive estimation (Gutmann & Hyvärinen 2010).

    ``data_logratio`` holds ``G(x) = ln p_model(x) − ln p_noise(x)`` for the data
    samples, ``noise_logratio`` the same for the noise samples. ``noise_ratio``
    (``ν``) defaults to ``#noise / #data``. Returns the negated objective
    ``−[mean ln h(x) + ν · mean ln(1 − h(y))]`` with ``h = σ(G − ln ν)``.
    """
    if noise_ratio is None:
        noise_ratio = noise_logratio.numel() / max(1, data_logratio.numel())
    shift = math.log(noise_ratio)
    data_term = F.logsigmoid(data_logratio - shift).mean()
    noise_term = F.logsigmoid(-(noise_logratio - shift)).mean()  # ln(1 − σ(z)) = ln σ(−z)
    return -(data_term + noise_ratio * noise_term)


def info_nce_loss(
    anchor: Tensor,
    positive: Tensor,
    negatives: Tensor | None = None,
    temperature: float = 0.1,
) -> Tensor:
    """InfoNCE: classify the positive among candidates by ``(a·k)/τ``.

    ``anchor`` and ``positive`` are ``(N, D)``. ``negatives`` is ``(N, K, D)``
    (K negatives per anchor) or ``(K, D)`` (shared); ``None`` uses the other
    positives of the batch as negatives (N candidates per anchor).
    """
    if temperature <= 0:
        raise ValueError("temperature must be > 0")
    if negatives is None:
        logits = anchor @ positive.T
        target = torch.arange(anchor.shape[0], device=anchor.device)
        return F.cross_entropy(logits / temperature, target)
    pos = (anchor * positive).sum(-1, keepdim=True)  # (N, 1)
    if negatives.dim() == 2:
        neg = anchor @ negatives.T  # (N, K)
    else:
        neg = torch.einsum("nd,nkd->nk", anchor, negatives)
    logits = torch.cat([pos, neg], dim=1) / temperature
    target = torch.zeros(anchor.shape[0], dtype=torch.long, device=anchor.device)
    return F.cross_entropy(logits, target)


def hard_logits(text: Tensor, hard: Tensor, hard_mask: Tensor | None, scale: Tensor | float = 1.0) -> Tensor:
    """``(N, K)`` scaled cosines of caption ``i`` with its own hard negatives; padded slots are ``-inf``
    (masked after scaling, so a learnable scale gets no ``0 · inf`` gradient)."""
    logits = scale * torch.einsum("nd,nkd->nk", text, hard)
    if hard_mask is None:
        return logits
    return logits.masked_fill(~hard_mask.to(torch.bool), float("-inf"))


def _masked(logits: Tensor, ignore: Tensor | None) -> Tensor:
    if ignore is None:
        return logits
    eye = torch.eye(logits.shape[0], dtype=torch.bool, device=logits.device)
    return logits.masked_fill(ignore.to(torch.bool) & ~eye, float("-inf"))


def clip_loss(
    image: Tensor,
    text: Tensor,
    logit_scale: Tensor,
    max_scale: float = CLIP_MAX_SCALE,
    ignore: Tensor | None = None,
    hard: Tensor | None = None,
    hard_mask: Tensor | None = None,
) -> Tensor:
    """Symmetric CLIP loss: mean of image→text and text→image cross-entropy.

    ``logit_scale`` is the *log* of the inverse temperature (a learnable
    scalar); ``exp(logit_scale)`` is clamped to ``max_scale``. ``ignore`` is an
    optional ``(N, N)`` bool mask of off-diagonal pairs that are not negatives
    (e.g. two images with the same caption); they are left out of the softmax.
    ``hard`` / ``hard_mask``: per-caption hard negative images (module doc),
    extra columns of the text→image softmax.
    """
    scale = logit_scale.exp().clamp(max=max_scale)
    logits = scale * image @ text.T
    target = torch.arange(image.shape[0], device=image.device)
    ignore_t = None if ignore is None else ignore.T
    i2t = F.cross_entropy(_masked(logits, ignore), target)
    t2i_logits = _masked(logits.T, ignore_t)
    if hard is not None and hard.shape[1] > 0:
        t2i_logits = torch.cat([t2i_logits, hard_logits(text, hard, hard_mask, scale)], dim=1)
    t2i = F.cross_entropy(t2i_logits, target)
    return 0.5 * (i2t + t2i)


def siglip_loss(
    image: Tensor,
    text: Tensor,
    logit_scale: Tensor,
    logit_bias: Tensor,
    ignore: Tensor | None = None,
    hard: Tensor | None = None,
    hard_mask: Tensor | None = None,
) -> Tensor:
    """SigLIP's pairwise sigmoid loss, ``−1/N Σ_ij ln σ(z_ij (t·x_i·y_j + b))``.

    ``z_ij`` is +1 on the diagonal, −1 elsewhere; ``t = exp(logit_scale)``.
    ``ignore`` drops off-diagonal pairs that are not true negatives; ``hard``
    adds one −1 pair per real hard negative of each caption (still ``/ N``).
    """
    n = image.shape[0]
    logits = logit_scale.exp() * image @ text.T + logit_bias
    labels = 2.0 * torch.eye(n, device=image.device, dtype=logits.dtype) - 1.0
    per_pair = -F.logsigmoid(labels * logits)
    if ignore is not None:
        eye = torch.eye(n, dtype=torch.bool, device=image.device)
        per_pair = per_pair.masked_fill(ignore.to(torch.bool) & ~eye, 0.0)
    total = per_pair.sum()
    if hard is not None and hard.shape[1] > 0:
        extra = -F.logsigmoid(-(logit_scale.exp() * torch.einsum("nd,nkd->nk", text, hard) + logit_bias))
        if hard_mask is not None:
            extra = extra.masked_fill(~hard_mask.to(torch.bool), 0.0)
        total = total + extra.sum()
    return total / n


class ContrastiveHead(nn.Module):
    """The learnable temperature (and SigLIP bias) plus the chosen loss."""

    LOSSES = ("clip", "siglip", "infonce")

    def __init__(self, loss: str = "clip", temperature: float = 0.07) -> None:
        super().__init__()
        if loss not in self.LOSSES:
            raise ValueError(f"unknown loss '{loss}'; choose one of {', '.join(self.LOSSES)}")
        self.loss = loss
        init = SIGLIP_INIT_SCALE if loss == "siglip" else math.log(1 / temperature)
        self.logit_scale = nn.Parameter(torch.tensor(init))
        self.logit_bias = nn.Parameter(torch.tensor(SIGLIP_INIT_BIAS if loss == "siglip" else 0.0))
        self.temperature = temperature

    def forward(self, a: Tensor, b: Tensor, ignore: Tensor | None = None,
                hard: Tensor | None = None, hard_mask: Tensor | None = None) -> Tensor:
        """``a``: items (images, sounds), ``b``: their captions; ``hard``: ``(N, K, D)`` items wrong
        for caption ``i`` (``hard_mask`` marks the real ones), negatives of the text→item direction."""
        if self.loss == "clip":
            return clip_loss(a, b, self.logit_scale, ignore=ignore, hard=hard, hard_mask=hard_mask)
        if self.loss == "siglip":
            return siglip_loss(a, b, self.logit_scale, self.logit_bias, ignore=ignore, hard=hard, hard_mask=hard_mask)
        i2t = info_nce_loss(a, b, temperature=self.temperature)
        if hard is None or hard.shape[1] == 0:
            return i2t
        # with hard negatives InfoNCE also runs text->item, whose denominator holds them
        logits = torch.cat([b @ a.T, hard_logits(b, hard, hard_mask)], dim=1) / self.temperature
        t2i = F.cross_entropy(logits, torch.arange(a.shape[0], device=a.device))
        return 0.5 * (i2t + t2i)


__all__ = [
    "CLIP_INIT_SCALE",
    "CLIP_MAX_SCALE",
    "ContrastiveHead",
    "clip_loss",
    "hard_logits",
    "info_nce_loss",
    "margin_contrastive_loss",
    "nce_loss",
    "siglip_loss",
]

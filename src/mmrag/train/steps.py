"""One optimiser step, shared by the trainers (``loop.py``, ``bind_backbone.py``)."""

from __future__ import annotations

from typing import Any

from mmrag.errors import TrainingError


def optimizer_step(optim: Any, loss: Any, epoch: int) -> None:
    """One step on ``loss``; a non-finite loss stops training with the fix (lower --lr)."""
    import torch

    if not torch.isfinite(loss):
        raise TrainingError(f"the loss diverged (value {float(loss)}) at epoch {epoch + 1}: lower --lr")
    optim.zero_grad(set_to_none=True)
    loss.backward()
    optim.step()


__all__ = ["optimizer_step"]

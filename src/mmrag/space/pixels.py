"""Pictures as the image towers see them: a white-padded RGB square.

Shared by the towers at search time and by the trainer (``train.data``), so
training and inference prepare a picture the same way.
"""

from __future__ import annotations

import numpy as np

from mmrag.errors import TrainingError


def to_square_rgb(im, size: int) -> np.ndarray:  # im: PIL.Image.Image
    """Flatten alpha onto white, keep aspect, pad to a white ``size``² square."""
    from PIL import Image

    if im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info):
        im = im.convert("RGBA")
        bg = Image.new("RGBA", im.size, (255, 255, 255, 255))
        im = Image.alpha_composite(bg, im)
    im = im.convert("RGB")
    w, h = im.size
    if w < 1 or h < 1:
        raise TrainingError("empty picture (0 pixels)")
    scale = size / max(w, h)
    nw, nh = max(1, round(w * scale)), max(1, round(h * scale))
    im = im.resize((nw, nh), Image.Resampling.BICUBIC, reducing_gap=3.0)
    canvas = Image.new("RGB", (size, size), (255, 255, 255))
    canvas.paste(im, ((size - nw) // 2, (size - nh) // 2))
    return np.asarray(canvas, dtype=np.uint8)


__all__ = ["to_square_rgb"]

"""mmrag: multimodal retrieval-augmented generation in one shared embedding space.

::

    import mmrag
    engine = mmrag.open("./my-index")
    engine.add(["notes/", "photos/"])
    for hit in engine.search("a cat on a sofa", k=5):
        print(f"{hit.score:.2f}", hit.label())

Heavy parts (stores, models) are imported on first use, so ``import mmrag``
stays cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mmrag.config import Config, load_config
from mmrag.errors import MmragError
from mmrag.types import AddReport, Answer, Citation, Hit, Modality, Segment, Span

if TYPE_CHECKING:  # pragma: no cover
    from mmrag.engine import Engine, open

__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    if name in ("Engine", "open"):
        from mmrag import engine

        return getattr(engine, name)
    raise AttributeError(f"module 'mmrag' has no attribute {name!r}")


__all__ = [
    "AddReport",
    "Answer",
    "Citation",
    "Config",
    "Engine",
    "Hit",
    "MmragError",
    "Modality",
    "Segment",
    "Span",
    "__version__",
    "load_config",
    "open",
]

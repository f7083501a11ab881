"""mmrag: multimodal retrieval-augmented generation in one shared embedding space.

::

    import mmrag
    engine = mmrag.open("./my-index")
    engine.add(["notes/", "photos/"])
    for hit in engine.search("a cat on a sofa", k=5):
        print(hit.score, hit.label())
"""

from mmrag.config import Config, load_config
from mmrag.engine import Engine, open
from mmrag.errors import MmragError
from mmrag.types import AddReport, Answer, Citation, Hit, Modality, Segment, Span

__version__ = "0.1.0"

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

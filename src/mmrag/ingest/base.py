"""The ``Loader`` protocol: one file in, segments out.

``ingest/sources.py`` walks paths, sniffs each file's kind by content and
hashes it; the engine then asks the loader registered for that kind
(``registry`` kind ``loader``) for the file's segments. A loader raises
``IngestError`` (or a subclass) for a file it cannot read; the engine reports
that file and goes on with the rest of the batch.

Kinds sniffed today: ``sniffing.KINDS`` (text, html, notebook, email, image, svg, pdf, docx, doc, pptx, ppt, msg, odt,
odp, epub, audio, video, records).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Protocol, runtime_checkable

from mmrag.config import IngestConfig
from mmrag.types import Segment


@runtime_checkable
class Loader(Protocol):
    """Turns one file into segments. Stateless across files except for
    cached models (OCR engine, Whisper), which it loads lazily once."""

    kinds: tuple[str, ...]

    def load(self, path: Path, config: IngestConfig) -> Iterator[Segment]:
        """Yield the file's segments; ``segment.source`` is ``str(path)``.

        Raise ``IngestError(str(path), reason)`` for a corrupt, truncated,
        empty or oversized file. Long media should stream (bounded memory).
        """
        ...


__all__ = ["Loader"]

"""Queries in any modality -> vectors in the index's space.

- text: the text tower (``query=True``), and the text is kept for BM25;
- image (path or PIL image): the image tower when the space has one, plus the
  text the picture carries (OCR, file name, metadata) as a second vector, plus
  the backbone's own visual features when the space has a ``visual`` channel
  (searched against that channel only: similar pictures); in a
  space without one (offline ``minilm`` with no bound tower) the image is
  embedded through the text it carries (OCR + file name + metadata), exactly as
  indexed images are, and ``Query.notes`` says so;
- audio (path): speech is transcribed (faster-whisper) and searched as text;
  when the space has an audio tower the clip is also searched by its sound
  (its first ``speech.QUERY_MAX_S`` seconds) among the indexed sounds, so a
  dog's bark finds barking even with no words in it. Without a tower, a clip
  with no speech is an error.
Several inputs (``--image photo.jpg "where can I buy this?"``) give several
query vectors; their lists are fused like any others.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from mmrag.config import Config
from mmrag.errors import IngestError, QueryError
from mmrag.retrieve.search import Query
from mmrag.space.base import Space
from mmrag.types import Channel


def _load_image(image: Any, config: Config) -> tuple[Any, str]:
    """PIL image and the text it carries (OCR, name, metadata)."""
    from PIL import Image

    if isinstance(image, Image.Image):
        text = ""
        if config.ingest.ocr:
            from mmrag.ingest.ocr import ocr_text

            text = ocr_text(image)
        return image.convert("RGB"), text
    path = Path(str(image)).expanduser()
    if not path.is_file():
        raise QueryError(f"query image {path} does not exist. Check the path.")
    from mmrag.ingest.sources import sniff

    kind = sniff(path)
    if kind not in ("image", "svg"):
        raise QueryError(f"query image {path} is not an image (looks like: {kind or 'unknown'}). Pass a jpg/png/webp/gif/bmp/tiff/svg file.")
    from mmrag import registry

    loader = registry.resolve("loader", kind)()
    try:
        segments = list(loader.load(path, config.ingest))
    except IngestError as exc:
        raise QueryError(f"query image {path}: {exc.reason}") from None
    if not segments or segments[0].image is None:
        raise QueryError(f"query image {path} could not be decoded. Try another file.")
    return segments[0].image, segments[0].text or ""


def build_query(
    space: Space,
    config: Config,
    *,
    text: str | None = None,
    image: Any = None,
    audio: str | Path | None = None,
) -> Query:
    vectors: dict[str, np.ndarray] = {}
    targets: dict[str, tuple[str, ...]] = {}
    notes: list[str] = []
    lexical = text.strip() if text and text.strip() else None
    modality = "text"

    if audio is not None:
        path = Path(str(audio)).expanduser()
        if not path.is_file():
            raise QueryError(f"query audio {path} does not exist. Check the path.")
        from mmrag.ingest.speech import SAMPLE_RATE, read_query_audio, transcribe_samples

        samples = read_query_audio(path, config.ingest)  # decoded once: for the words and for the sound
        try:
            spoken = transcribe_samples(samples, config.ingest).strip()
        except IngestError as exc:
            raise QueryError(f"query audio {path}: {exc.reason}") from None
        modality = "audio"
        if spoken:
            notes.append(f"heard: \u201c{spoken}\u201d")
            lexical = f"{lexical} {spoken}" if lexical else spoken
        if space.has(Channel.AUDIO):  # the clip is also searched by how it sounds
            vectors["audio"] = space.encode(Channel.AUDIO, [(samples, SAMPLE_RATE)], query=True)[0]
            # the sound looks only for similar sounds: its cross-modal matches against texts and pictures
            # are far weaker than sound-to-sound ones and, calibrated per list, would crowd them out
            targets["audio"] = (Channel.AUDIO.value,)
            notes.append("searching by the sound itself" + (" and by the words heard" if spoken else " (no speech heard)"))
        elif not spoken:
            raise QueryError(
                f"no speech was heard in {path} and this index's space has no audio tower, "
                "so the clip cannot be searched by its sound. Record a spoken question, or bind an audio tower "
                "(mmrag train --mode bind --modality audio) and build an index with it (mmrag add --audio-model DIR)."
            )

    if image is not None:
        pil, carried = _load_image(image, config)
        modality = "image"
        if space.has(Channel.IMAGE):
            vectors["image"] = space.encode(Channel.IMAGE, [pil], query=True)[0]
            if space.has(Channel.VISUAL):  # the backbone's own features find similar pictures, nothing else
                vectors["visual"] = space.encode(Channel.VISUAL, [pil], query=True)[0]
                targets["visual"] = (Channel.VISUAL.value,)
            if carried.strip():  # the words in the picture are a second query signal, fused
                vectors["image_text"] = space.encode(Channel.TEXT, [carried], query=True)[0]
        else:
            if not carried.strip():
                raise QueryError(
                    "this index's space has no image tower and no text was found in the query image "
                    "(OCR, file name, metadata), so there is nothing to search with. "
                    "Use a space with an image tower (--space clip) or add a text query."
                )
            notes.append(f"no image tower in this space: the image was searched through its text \u201c{carried[:120]}\u201d")
            vectors["image_text"] = space.encode(Channel.TEXT, [carried], query=True)[0]

    if lexical and (text or audio is not None):
        vectors["text"] = space.encode(Channel.TEXT, [lexical], query=True)[0]

    if not vectors:
        raise QueryError("empty query: give a text, --image or --audio.")
    return Query(vectors=vectors, text=lexical, modality=modality, notes=tuple(notes), targets=targets)


__all__ = ["build_query"]

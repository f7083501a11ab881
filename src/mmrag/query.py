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
query vectors; their lists are fused like any others. With ``weights``
(``{"text": 0.3, "image": 0.7}``) they are *composed* instead: one vector
``normalize(sum w * v)`` ("like this photo, but red"). Words written
``-stripes`` are negative terms: their embedding is subtracted from every
query vector (``NEGATIVE_WEIGHT``) and hits whose text contains them are
dropped; not in a question ("What does the -name option of find do?"), not
one or two letters (``-C``, ``-la``) and not before "option"/"flag": those are
command-line options, searched as written (``option_terms``).

Embeddings go through ``QueryCache`` when one is given: a repeated text,
picture or recording (same bytes) skips the encoders, OCR and speech
recognition.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from mmrag.config import Config
from mmrag.errors import IngestError, QueryError
from mmrag.option_terms import is_short
from mmrag.querycache import QueryCache, content_hash
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


NEGATIVE_WEIGHT = 0.5  # how much of a negative term's direction is taken out of each query vector
_NEGATIVE = re.compile(r"(?:(?<=\s)|^)-([^\W\d_][\w'-]*)")
_QUESTION = re.compile(r"\s*(?:what|how|why|which|when|where|who|whom|whose|does|do|did|is|are|can|could|should|"
                       r"would|will|explain)\b", re.IGNORECASE)
_OPTION_NOUN = re.compile(r"\s+(?:option|flag|switch|argument|parameter)s?\b", re.IGNORECASE)


def is_question(text: str) -> bool:
    """Whether a query asks in a sentence: it ends with ``?`` or starts with a question word (pure)."""
    return text.rstrip().endswith("?") or _QUESTION.match(text) is not None


def split_negatives(text: str) -> tuple[str, tuple[str, ...]]:
    """``"striped shirt -red -blue"`` -> ``("striped shirt", ("red", "blue"))`` (pure).

    A dash-word is a command-line option, kept in the text, when it is one or two letters (``-C``, ``-la``),
    when "option", "flag", "switch", "argument" or "parameter" follows it, or anywhere in a question (``is_question``:
    "What does -name do in find?"): nobody excludes the letter C, and a person asking in a sentence does not
    write search-engine syntax."""
    if is_question(text):
        return " ".join(text.split()), ()
    negatives: list[str] = []

    def drop(m: re.Match[str]) -> str:
        if is_short(m.group(0)) or _OPTION_NOUN.match(text, m.end()):
            return m.group(0)
        negatives.append(m.group(1))
        return " "

    positive = " ".join(_NEGATIVE.sub(drop, text).split())
    return positive, tuple(negatives)


def _bytes_of(item: Any) -> bytes:
    from PIL import Image

    if isinstance(item, Image.Image):
        return item.tobytes() + repr((item.mode, item.size)).encode()
    path = Path(str(item)).expanduser()
    if not path.is_file():
        raise QueryError(f"query file {path} does not exist. Check the path.")
    return path.read_bytes()


def _encode(space: Space, cache: QueryCache | None, channel: Channel, key: str, payload: Any) -> np.ndarray:
    def compute() -> np.ndarray:
        return space.encode(channel, [payload() if callable(payload) else payload], query=True)[0]

    return compute() if cache is None else cache.vector(channel.value, key, compute)


def build_query(
    space: Space,
    config: Config,
    *,
    text: str | None = None,
    image: Any = None,
    audio: str | Path | None = None,
    cache: QueryCache | None = None,
    weights: Mapping[str, float] | None = None,
) -> Query:
    vectors: dict[str, np.ndarray] = {}
    targets: dict[str, tuple[str, ...]] = {}
    notes: list[str] = []
    negatives: tuple[str, ...] = ()
    if text:
        text, negatives = split_negatives(text)
    lexical = text.strip() if text and text.strip() else None
    modality = "text"

    if audio is not None:
        path = Path(str(audio)).expanduser()
        if not path.is_file():
            raise QueryError(f"query audio {path} does not exist. Check the path.")
        from mmrag.ingest.speech import SAMPLE_RATE, read_query_audio, transcribe_samples

        key = content_hash(path.read_bytes())
        decoded: list[Any] = []

        def samples() -> Any:  # decoded once, only if the cache lacks the words or the sound
            if not decoded:
                decoded.append(read_query_audio(path, config.ingest))
            return decoded[0]

        def words() -> str:
            try:
                return transcribe_samples(samples(), config.ingest).strip()
            except IngestError as exc:
                raise QueryError(f"query audio {path}: {exc.reason}") from None

        spoken = words() if cache is None else cache.text("transcript", key, words)
        modality = "audio"
        if spoken:
            notes.append(f"heard: \u201c{spoken}\u201d")
            lexical = f"{lexical} {spoken}" if lexical else spoken
        if space.has(Channel.AUDIO):  # the clip is also searched by how it sounds
            vectors["audio"] = _encode(space, cache, Channel.AUDIO, key, lambda: (samples(), SAMPLE_RATE))
            # the sound looks only for similar sounds: its cross-modal matches against texts and pictures
            # are far weaker than sound-to-sound ones and, calibrated per list, would crowd them out
            targets["audio"] = (Channel.AUDIO.value,)
            notes.append("searching by the sound itself" + (" and by the words heard" if spoken else " (no speech heard)"))
        elif not spoken:
            raise QueryError(
                f"no speech was heard in {path} and this index's space has no audio tower, "
                "so the clip cannot be searched by its sound. Record a spoken question, or build a new index with a "
                "sound tower: the offline space's shipped one is the default for new indexes (mmrag add --audio-model "
                "sound0), or bind your own (mmrag train --mode bind --modality audio; mmrag add --audio-model DIR)."
            )

    if image is not None:
        key = content_hash(_bytes_of(image))
        loaded: list[tuple[Any, str]] = []

        def load() -> tuple[Any, str]:
            if not loaded:
                loaded.append(_load_image(image, config))
            return loaded[0]

        carried = load()[1] if cache is None else cache.text("carried", key, lambda: load()[1])
        modality = "image"
        if space.has(Channel.IMAGE):
            vectors["image"] = _encode(space, cache, Channel.IMAGE, key, lambda: load()[0])
            if space.has(Channel.VISUAL):  # the backbone's own features find similar pictures, nothing else
                vectors["visual"] = _encode(space, cache, Channel.VISUAL, key, lambda: load()[0])
                targets["visual"] = (Channel.VISUAL.value,)
            if carried.strip():  # the words in the picture are a second query signal, fused
                vectors["image_text"] = _encode(space, cache, Channel.TEXT, carried, carried)
        else:
            if not carried.strip():
                raise QueryError(
                    "this index's space has no image tower and no text was found in the query image "
                    "(OCR, file name, metadata), so there is nothing to search with. "
                    "Use a space with an image tower (--space clip) or add a text query."
                )
            notes.append(f"no image tower in this space: the image was searched through its text \u201c{carried[:120]}\u201d")
            vectors["image_text"] = _encode(space, cache, Channel.TEXT, carried, carried)

    if lexical and (text or audio is not None):
        vectors["text"] = _encode(space, cache, Channel.TEXT, lexical, lexical)

    if not vectors:
        raise QueryError("empty query: give a text, --image or --audio." + (" (only negative terms were given)" if negatives else ""))
    if weights:
        vectors, targets = _compose(vectors, weights), {}
        notes.append("composed query: " + ", ".join(f"{k} x{v:g}" for k, v in weights.items()))
    if negatives:
        neg = np.mean([_encode(space, cache, Channel.TEXT, w, w) for w in negatives], axis=0)
        neg = neg / max(float(np.linalg.norm(neg)), 1e-12)
        # only vectors in the shared space move away from a word (a native channel's features live elsewhere)
        vectors = {k: v if k in _NATIVE else _unit(v - NEGATIVE_WEIGHT * neg) for k, v in vectors.items()}
        notes.append("without: " + ", ".join(negatives))
    return Query(vectors=vectors, text=lexical, modality=modality, notes=tuple(notes), targets=targets, negatives=negatives)


_NATIVE = frozenset(c.value for c in Channel if c.native)  # modality-native channels: not in the shared space


def _unit(v: np.ndarray) -> np.ndarray:
    return (v / max(float(np.linalg.norm(v)), 1e-12)).astype(np.float32)


def _compose(vectors: Mapping[str, np.ndarray], weights: Mapping[str, float]) -> dict[str, np.ndarray]:
    """One vector: the weighted sum of the parts (``image`` also weighs a picture's words) (pure)."""
    known = {"text", "image", "audio"}
    bad = [k for k in weights if k not in known]
    if bad:
        raise QueryError(f"unknown query weight {bad[0]!r}: weigh text, image or audio, e.g. text=0.3,image=0.7")
    shared = {k: v for k, v in vectors.items() if k not in _NATIVE}  # a native channel (visual) is another space
    total = np.zeros_like(next(iter(shared.values())))
    for name, v in shared.items():
        if name == "image_text" and "image" in vectors:
            continue  # a picture's pixels stand for it; its words count only without an image tower
        part = "image" if name == "image_text" else name
        total = total + float(weights.get(part, 1.0)) * v
    if not np.any(total):
        raise QueryError("the query weights cancel every part out: give at least one positive weight.")
    return {"composed": _unit(total)}


__all__ = ["NEGATIVE_WEIGHT", "build_query", "is_question", "split_negatives"]

"""The shared space: per-channel encoders that all write into one d-dim space.

An index has exactly one space, fixed when the index is created. Its
``SpaceSpec`` (name, dim, encoder ids, normalisation) is stored in the index
and compared on open: a different space is a ``SpaceMismatch``, never silent
garbage.

Encoders return float32 arrays of shape ``(n, dim)``, L2-normalised. Query and
document encodings are separate calls (``query=True``): an encoder may treat
them differently (prefixes, prompt templates).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np

from mmrag.errors import SpaceMismatch
from mmrag.types import Channel


@runtime_checkable
class Encoder(Protocol):
    """One tower of a space."""

    id: str  # stable identifier written into the index, e.g. "clip:openai/clip-vit-base-patch32#text"
    dim: int

    def encode(self, items: Sequence[Any], *, query: bool = False) -> np.ndarray:
        """Embed a batch. Text encoders take ``str``; image encoders ``PIL.Image``;
        audio encoders ``(samples: np.ndarray, sample_rate: int)`` tuples."""
        ...


@dataclass(frozen=True)
class SpaceSpec:
    """What identifies a space. Stored in the index, checked on open."""

    name: str
    dim: int
    encoders: Mapping[str, str]  # channel -> encoder id
    normalized: bool = True
    notes: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "dim": self.dim,
            "encoders": dict(sorted(self.encoders.items())),
            "normalized": self.normalized,
            "notes": self.notes,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SpaceSpec:
        return cls(
            name=str(data["name"]),
            dim=int(data["dim"]),
            encoders={str(k): str(v) for k, v in dict(data["encoders"]).items()},
            normalized=bool(data.get("normalized", True)),
            notes=str(data.get("notes", "")),
        )

    def check_compatible(self, stored: SpaceSpec, where: str) -> None:
        """Raise ``SpaceMismatch`` unless ``self`` can read/write an index built with ``stored``."""
        if (self.name, self.dim, dict(self.encoders), self.normalized) != (
            stored.name,
            stored.dim,
            dict(stored.encoders),
            stored.normalized,
        ):
            raise SpaceMismatch(
                f"the index at {where} was built with space '{stored.name}' "
                f"(dim {stored.dim}, encoders {dict(stored.encoders)}), but space "
                f"'{self.name}' (dim {self.dim}, encoders {dict(self.encoders)}) was asked for. "
                f"Open it without --space, --model, --image-model or --audio-model (it remembers its own), "
                f"or build a new index for the new space."
            )


@dataclass
class Space:
    """A set of encoders, one per channel, sharing ``dim``.

    ``text`` is mandatory (queries are typed). ``image`` and ``audio`` are
    optional towers. ``notes`` tells the user how modalities without a tower
    are indexed (e.g. images through their OCR text).
    """

    name: str
    encoders: dict[Channel, Encoder]
    notes: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if Channel.TEXT not in self.encoders:
            raise ValueError("a space needs a text encoder")
        dims = {e.dim for e in self.encoders.values()}
        if len(dims) != 1:
            raise ValueError(f"all encoders of a space must share one dim, got {sorted(dims)}")

    @property
    def dim(self) -> int:
        return self.encoders[Channel.TEXT].dim

    @property
    def channels(self) -> tuple[Channel, ...]:
        return tuple(self.encoders)

    def has(self, channel: Channel) -> bool:
        return channel in self.encoders

    @property
    def spec(self) -> SpaceSpec:
        return SpaceSpec(
            name=self.name,
            dim=self.dim,
            encoders={c.value: e.id for c, e in self.encoders.items()},
            notes=self.notes,
        )

    def references(self) -> dict[str, np.ndarray]:
        """Per channel, the reference sample its encoder ships (``reference``: unit vectors of typical
        items, e.g. a bound tower's vectors of a few hundred photos and drawings), if it has one.
        Search tops up the background of a channel that holds only a few vectors from it."""
        return self._encoder_arrays("reference")

    def label_references(self) -> dict[str, np.ndarray]:
        """Per channel, its encoder's vectors of short labels (``labels``; the bundled text model's
        file-name words and class names): the background of rows whose text is a label."""
        return self._encoder_arrays("labels")

    def _encoder_arrays(self, attr: str) -> dict[str, np.ndarray]:
        """``{channel: encoder.<attr>}`` for the encoders whose ``attr`` is a matrix of this space's width."""
        out: dict[str, np.ndarray] = {}
        for channel, encoder in self.encoders.items():
            ref = getattr(encoder, attr, None)
            if ref is not None and np.ndim(ref) == 2 and np.shape(ref)[1] == encoder.dim:
                out[channel.value] = np.asarray(ref, dtype=np.float32)
        return out

    def encode(self, channel: Channel, items: Sequence[Any], *, query: bool = False) -> np.ndarray:
        out = self.encoders[channel].encode(items, query=query)
        return np.ascontiguousarray(out, dtype=np.float32)


def owner_means(vecs: np.ndarray, owners: np.ndarray, n: int) -> np.ndarray:
    """One unit vector per owner: the renormalised mean of its rows (a clip's windows or crops). Pure."""
    sums = np.zeros((n, np.shape(vecs)[1]), dtype=np.float64)
    np.add.at(sums, np.asarray(owners), vecs)
    return l2_normalize(sums.astype(np.float32))


def l2_normalize(x: np.ndarray, eps: float = 1e-12) -> np.ndarray:
    """Row-wise L2 normalisation (pure)."""
    x = np.asarray(x, dtype=np.float32)
    norms = np.linalg.norm(x, axis=-1, keepdims=True)
    return x / np.maximum(norms, eps)


__all__ = ["Encoder", "Space", "SpaceSpec", "l2_normalize", "owner_means"]

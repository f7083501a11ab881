"""The ``Generator`` protocol: a ``Prompt`` in, an ``Answer`` (or text deltas) out.

Every backend (``openai``, ``local``, ``extractive``, or a plugin registered
under the ``mmrag.generator`` entry point group) has:

- ``name``: shown in ``Answer.generator`` (``"openai:llava"``, ``"extractive"``);
- ``vision``: whether it can take image parts (``build_prompt(..., vision=gen.vision)``);
- ``generate(prompt) -> Answer``: the whole answer, citations checked;
- ``stream(prompt) -> Iterator[str]``: the same text as deltas. The engine
  joins them and calls ``finalize(prompt, full_text)`` (citations.py).

Backends that only stream can subclass ``StreamingGenerator``, which makes
``generate`` from ``stream`` and records ``first_token_s`` / ``generate_s``.
"""

from __future__ import annotations

import time
from typing import Iterator, Protocol, runtime_checkable

from mmrag.generate.citations import finalize
from mmrag.generate.prompt import Prompt
from mmrag.types import Answer


@runtime_checkable
class Generator(Protocol):
    name: str
    vision: bool

    def generate(self, prompt: Prompt) -> Answer:
        """The full answer for ``prompt``; ``Answer.text`` cites only numbers in the prompt."""
        ...

    def stream(self, prompt: Prompt) -> Iterator[str]:
        """Text deltas whose concatenation is the raw answer (before the citation check)."""
        ...


class StreamingGenerator:
    """Mixin: ``generate`` = join ``stream`` + ``finalize``, with timings."""

    name: str = "generator"
    vision: bool = False

    def stream(self, prompt: Prompt) -> Iterator[str]:  # pragma: no cover - abstract
        raise NotImplementedError

    def generate(self, prompt: Prompt) -> Answer:
        t0 = time.perf_counter()
        first: float | None = None
        chunks: list[str] = []
        for delta in self.stream(prompt):
            if first is None and delta:
                first = time.perf_counter() - t0
            chunks.append(delta)
        total = time.perf_counter() - t0
        timings = {"generate_s": total, "first_token_s": first if first is not None else total}
        return finalize(prompt, "".join(chunks), generator=self.name, timings=timings)


__all__ = ["Generator", "StreamingGenerator"]

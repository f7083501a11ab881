"""The ``Generator`` protocol: a ``Prompt`` in, an ``Answer`` (or text deltas) out.

Every backend (``openai``, ``local``, ``extractive``, or a plugin registered
under the ``mmrag.generator`` entry point group) has:

- ``name``: shown in ``Answer.generator`` (``"openai:llava"``, ``"extractive"``);
- ``vision``: whether it can take image parts (``build_prompt(..., vision=gen.vision)``);
- ``generate(prompt) -> Answer``: the whole answer, citations checked;
- ``stream(prompt) -> Iterator[str]``: the same text as deltas. The engine
  joins them and calls ``finalize(prompt, full_text)`` (citations.py).

``StopTrimmer`` / ``cut_at_stop`` cut a completion at its stop strings on the
client side (some servers return the stop string, some don't).

Backends that only stream can subclass ``StreamingGenerator``, which makes
``generate`` from ``stream`` and records ``first_token_s`` / ``generate_s``.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Protocol, runtime_checkable

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


class StopTrimmer:
    """Holds back text that may start a stop string; cuts the stream at the first stop string."""

    def __init__(self, stops: tuple[str, ...]) -> None:
        self.stops = stops
        self.buffer = ""
        self.done = False

    def feed(self, delta: str) -> str:
        if self.done:
            return ""
        self.buffer += delta
        cut = min((i for i in (self.buffer.find(s) for s in self.stops) if i >= 0), default=-1)
        if cut >= 0:
            out, self.buffer, self.done = self.buffer[:cut], "", True
            return out
        hold = 0
        for stop in self.stops:
            for n in range(min(len(stop) - 1, len(self.buffer)), 0, -1):
                if self.buffer.endswith(stop[:n]):
                    hold = max(hold, n)
                    break
        out = self.buffer[: len(self.buffer) - hold]
        self.buffer = self.buffer[len(out) :]
        return out

    def finish(self) -> str:
        out, self.buffer = ("" if self.done else self.buffer), ""
        return out


def cut_at_stop(text: str, stops: tuple[str, ...] | list[str]) -> str:
    """``text`` up to its first stop string (servers differ on whether they strip it)."""
    cut = min((i for i in (text.find(s) for s in stops) if i >= 0), default=-1)
    return text if cut < 0 else text[:cut]


__all__ = ["Generator", "StopTrimmer", "StreamingGenerator", "cut_at_stop"]

"""Grounded answers: numbered prompt -> generator -> ``Answer`` with checked citations.

How the engine uses it::

    from mmrag.generate import build_generator, build_prompt, finalize

    gen = build_generator(config)                       # openai | local | extractive
    prompt = build_prompt(question, hits, thumbnail=store.thumbnail,
                          budget=config.generate.max_context_tokens, vision=gen.vision,
                          query_image=image)            # bytes / path / PIL, optional
    answer = gen.generate(prompt)                       # or:
    text = "".join(gen.stream(prompt)); answer = finalize(prompt, text, generator=gen.name)

``config.generate.backend``: ``auto`` (``openai`` when ``generate.base_url`` is
set, else ``extractive``), ``extractive``, ``openai``, ``local``, or any name
the registry resolves (entry point ``mmrag.generator`` or a dotted path).
Modules: ``prompt`` (assembly, budget), ``citations`` (parse/check/finalize),
``base`` (protocol), one module per backend.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mmrag.generate.base import Generator, StreamingGenerator
from mmrag.generate.citations import check_citations, finalize, parse_citations
from mmrag.generate.prompt import ImagePart, Prompt, TextPart, build_prompt

if TYPE_CHECKING:  # pragma: no cover
    from mmrag.config import Config


def backend_name(config: Config) -> str:
    """The backend ``build_generator`` will use: resolves ``auto``."""
    name = (config.generate.backend or "auto").strip().lower()
    if name == "auto":
        return "openai" if config.generate.base_url else "extractive"
    return name


def build_generator(config: Config) -> Generator:
    """Build the configured generator (see the module docstring)."""
    from mmrag import registry
    from mmrag.errors import ConfigError

    name = backend_name(config)
    factory: Any = registry.resolve("generator", name)
    generator = factory(config)
    if not isinstance(generator, Generator):
        raise ConfigError(
            f"generator backend '{name}' returned {type(generator).__name__}, which lacks name/vision/generate/stream. "
            "Fix the plugin's factory."
        )
    return generator


__all__ = [
    "Generator",
    "ImagePart",
    "Prompt",
    "StreamingGenerator",
    "TextPart",
    "backend_name",
    "build_generator",
    "build_prompt",
    "check_citations",
    "finalize",
    "parse_citations",
]

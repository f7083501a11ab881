"""Parsing query weights for composed queries (``--weight text=0.3,image=0.7``)."""

from __future__ import annotations

from mmrag.errors import QueryError


def parse_weights(spec: str | None) -> dict[str, float] | None:
    """``"text=0.3,image=0.7"`` -> ``{"text": 0.3, "image": 0.7}``; ``None``/empty -> ``None`` (pure)."""
    if spec is None or not spec.strip():
        return None
    out: dict[str, float] = {}
    for part in spec.split(","):
        name, sep, value = part.partition("=")
        name = name.strip().lower()
        if not sep or name not in ("text", "image", "audio"):
            raise QueryError(f"bad --weight part {part.strip()!r}: write text=0.3,image=0.7 (parts: text, image, audio).")
        try:
            out[name] = float(value)
        except ValueError:
            raise QueryError(f"bad --weight value {value.strip()!r} for {name}: use a number, e.g. {name}=0.5.") from None
    return out


__all__ = ["parse_weights"]

"""Token windowing shared by every text encoder (pure, no model library).

A text longer than the tower's window is never truncated. Its word pieces are
split into near-equal windows that each fit, every window is framed with the
tokenizer's own special tokens, embedded and L2-normalised; the text's vector
is the renormalised mean of its window vectors. The tokenizer is anything
called like a ``transformers`` tokenizer (``tok(text, add_special_tokens=...)
["input_ids"]``): the torch encoder passes its own, the onnxruntime encoder a
thin wrapper around ``tokenizers`` (``space/text_onnx.py``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from mmrag.errors import ConfigError, ModelNotFound, QueryError
from mmrag.space.base import l2_normalize


@dataclass(frozen=True)
class Framing:
    """Token ids a tokenizer puts around every sequence (``[CLS] ... [SEP]``, ``<bos> ... <eos>``)."""

    prefix: tuple[int, ...]
    suffix: tuple[int, ...]

    def wrap(self, content: Sequence[int], prompt: Sequence[int] = ()) -> list[int]:
        return [*self.prefix, *prompt, *content, *self.suffix]


def special_framing(tokenizer: Any) -> Framing:
    """Find the tokenizer's special tokens by encoding one word with and without them."""
    full = list(tokenizer("a")["input_ids"])
    bare = list(tokenizer("a", add_special_tokens=False)["input_ids"])
    for start in range(len(full) - len(bare) + 1):
        if full[start : start + len(bare)] == bare:
            return Framing(tuple(full[:start]), tuple(full[start + len(bare) :]))
    raise ModelNotFound(
        f"cannot tell this tokenizer's special tokens apart ({full} vs {bare}); its files may be broken."
    )


def split_windows(ids: Sequence[int], size: int) -> list[list[int]]:
    """Split ``ids`` into ``ceil(len/size)`` near-equal consecutive windows (``[[]]`` for no ids)."""
    if size < 1:
        raise ValueError("window size must be at least 1")
    n = len(ids)
    if n == 0:
        return [[]]
    count = math.ceil(n / size)
    bounds = [round(i * n / count) for i in range(count + 1)]
    return [list(ids[bounds[i] : bounds[i + 1]]) for i in range(count)]


def mean_by_owner(vectors: np.ndarray, owners: np.ndarray, n: int) -> np.ndarray:
    """Mean of the (normalised) rows of each owner, renormalised: ``(n, dim)``."""
    vectors = l2_normalize(vectors)
    sums = np.zeros((n, vectors.shape[1]), dtype=np.float64)
    np.add.at(sums, owners, vectors)
    counts = np.bincount(owners, minlength=n).astype(np.float64)[:, None]
    return l2_normalize((sums / np.maximum(counts, 1.0)).astype(np.float32))


def check_texts(items: Sequence[Any], *, query: bool) -> list[str]:
    """Validate a batch of texts; a query must have words."""
    if isinstance(items, (str, bytes)):
        raise QueryError("a text encoder takes a list of strings, not one string. Wrap it: [text].")
    texts: list[str] = []
    for i, item in enumerate(items):
        if not isinstance(item, str):
            raise QueryError(f"text #{i} is a {type(item).__name__}, not a str. Pass text as str.")
        if query and not item.strip():
            raise QueryError("the query is empty. Type some words to search for.")
        texts.append(item)
    return texts


class TextWindower:
    """Turns texts into framed token windows that fit a tower, and back into one vector per text."""

    def __init__(self, tokenizer: Any, max_tokens: int, prompts: dict[bool, str] | None = None) -> None:
        self.tokenizer = tokenizer
        self.framing = special_framing(tokenizer)
        self.max_tokens = int(max_tokens)
        self._prompt_ids: dict[bool, list[int]] = {}
        for is_query, text in (prompts or {}).items():
            if text:
                self._prompt_ids[is_query] = list(tokenizer(text, add_special_tokens=False)["input_ids"])
        for is_query in (False, True):
            if self.window(query=is_query) < 1:
                raise ConfigError(
                    f"the text window ({max_tokens} tokens) leaves no room after special tokens."
                )

    @classmethod
    def with_prompts(cls, tokenizer: Any, max_tokens: int, prompts: Mapping[str, str]) -> TextWindower:
        """From a sentence-transformers model's named prompts: ``query`` for queries, ``document`` (or
        ``passage``) for what is indexed."""
        doc = prompts.get("document") or prompts.get("passage") or ""
        return cls(tokenizer, max_tokens, {True: prompts.get("query", ""), False: doc})

    def window(self, *, query: bool = False) -> int:
        """How many content word pieces fit in one window."""
        framing = len(self.framing.prefix) + len(self.framing.suffix)
        return self.max_tokens - framing - len(self._prompt_ids.get(query, []))

    def content_ids(self, texts: Sequence[str]) -> list[list[int]]:
        if not texts:
            return []
        enc = self.tokenizer(list(texts), add_special_tokens=False, truncation=False, verbose=False)
        return [list(ids) for ids in enc["input_ids"]]

    def plan(self, texts: Sequence[str], *, query: bool = False) -> tuple[list[list[int]], np.ndarray]:
        """Framed windows for all texts and the index of the text each window belongs to."""
        prompt = self._prompt_ids.get(query, [])
        windows: list[list[int]] = []
        owners: list[int] = []
        for owner, ids in enumerate(self.content_ids(texts)):
            for chunk in split_windows(ids, self.window(query=query)):
                windows.append(self.framing.wrap(chunk, prompt))
                owners.append(owner)
        return windows, np.asarray(owners, dtype=np.int64)


def run_batches(
    windows: Sequence[Sequence[int]], forward: Callable[[list[list[int]]], np.ndarray], batch_size: int
) -> np.ndarray:
    """Embed framed windows ``batch_size`` at a time, shortest first (less padding); rows in input order."""
    order = sorted(range(len(windows)), key=lambda i: len(windows[i]))
    out: np.ndarray | None = None
    step = max(1, int(batch_size))
    for start in range(0, len(order), step):
        idx = order[start : start + step]
        vecs = np.asarray(forward([list(windows[i]) for i in idx]), dtype=np.float32)
        if out is None:
            out = np.empty((len(windows), vecs.shape[1]), dtype=np.float32)
        out[idx] = vecs
    if out is None:
        raise ValueError("no windows to embed")
    return l2_normalize(out)


def encode_windowed(
    texts: Sequence[str],
    windower: TextWindower,
    forward: Callable[[list[list[int]]], np.ndarray],
    batch_size: int,
    dim: int,
    *,
    query: bool = False,
) -> np.ndarray:
    """Texts -> windows -> vectors -> one renormalised mean vector per text, ``(len(texts), dim)``."""
    if not texts:
        return np.zeros((0, dim), dtype=np.float32)
    windows, owners = windower.plan(texts, query=query)
    return mean_by_owner(run_batches(windows, forward, batch_size), owners, len(texts))


__all__ = [
    "Framing",
    "TextWindower",
    "check_texts",
    "encode_windowed",
    "mean_by_owner",
    "run_batches",
    "special_framing",
    "split_windows",
]

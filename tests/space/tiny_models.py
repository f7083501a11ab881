"""Tiny CLIP / SigLIP models built from scratch and saved with ``save_pretrained``.

No pretrained CLIP weights exist offline here, so tests (and bench/) build a
random tiny model with a real CLIP tokenizer pipeline (byte-level BPE with
``</w>`` word ends, merges that spell a small word list)
and a real ``CLIPImageProcessor``, then load the folder through mmrag's own
loading code. Building one takes about a second.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from mmrag.config import Config, SpaceConfig

WORDS = (  # noqa: SIM905 - a readable word list
    "the quick brown fox jumps over lazy dog a photo of cat bird car house tree river mountain city "
    "street music guitar piano food pizza apple banana red green blue yellow black white small large "
    "old new boat train plane horse cow sheep flower garden beach sea sky sun moon star night day "
    "rain snow winter summer book paper table chair window door kitchen bread cheese coffee tea"
).split()

_CLIP_SPLIT = (
    r"""<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+"""
)


def word_merges(words) -> list[tuple[str, str]]:
    """Byte-pair merges learnt on ``words`` until each is one ``word</w>`` token: the textbook BPE loop, with
    ties between equally frequent pairs broken by the pair itself.

    Not ``tokenizers``' BpeTrainer: it breaks those ties in hash order, so its merges (and a model built on
    them) differ run to run, and a test on such a model is flaky."""
    import itertools
    from collections import Counter

    spelled = {(*w[:-1], w[-1] + "</w>"): n for w, n in Counter(words).items() if w}
    merges: list[tuple[str, str]] = []
    while True:
        pairs: Counter[tuple[str, str]] = Counter()
        for symbols, n in spelled.items():
            for pair in itertools.pairwise(symbols):
                pairs[pair] += n
        if not pairs:
            return merges
        best = min(pairs, key=lambda pair: (-pairs[pair], pair))
        merges.append(best)
        joined: dict[tuple[str, ...], int] = {}
        for symbols, n in spelled.items():
            out, i = [], 0
            while i < len(symbols):
                if symbols[i : i + 2] == best:
                    out.append(best[0] + best[1])
                    i += 2
                else:
                    out.append(symbols[i])
                    i += 1
            joined[tuple(out)] = joined.get(tuple(out), 0) + n
        spelled = joined


def tiny_clip_tokenizer(words=WORDS):  # -> CLIPTokenizer
    """A CLIPTokenizer (OpenAI CLIP's byte-level BPE pipeline, ``</w>`` word ends) whose merges spell ``words``;
    any other word falls back to smaller pieces, down to single bytes. The same vocabulary on every run."""
    from transformers import CLIPTokenizer
    from transformers.convert_slow_tokenizer import bytes_to_unicode

    merges = word_merges(w.lower() for w in words)
    base = list(bytes_to_unicode().values())
    tokens = (
        base
        + [b + "</w>" for b in base]
        + ["".join(m) for m in merges]
        + ["<|startoftext|>", "<|endoftext|>"]
    )
    vocab = {tok: i for i, tok in enumerate(dict.fromkeys(tokens))}
    return CLIPTokenizer(vocab=vocab, merges=merges)


def _text_config(tokenizer, max_positions: int) -> dict:
    return {
        "vocab_size": len(tokenizer),
        "hidden_size": 32,
        "intermediate_size": 64,
        "num_hidden_layers": 2,
        "num_attention_heads": 2,
        "max_position_embeddings": max_positions,
        "bos_token_id": tokenizer.bos_token_id,
        "eos_token_id": tokenizer.eos_token_id,
        "pad_token_id": tokenizer.pad_token_id,
    }


_VISION = {
    "hidden_size": 32,
    "intermediate_size": 64,
    "num_hidden_layers": 2,
    "num_attention_heads": 2,
    "image_size": 32,
    "patch_size": 8,
}


def make_tiny_clip(
    folder: Path, seed: int = 0, words=WORDS, projection_dim: int = 24, max_positions: int = 77
) -> Path:
    """Save a random tiny CLIPModel + tokenizer (spelling ``words``) + image processor into ``folder``; the same
    weights and vocabulary for the same arguments on every run."""
    import torch
    from transformers import CLIPConfig, CLIPImageProcessor, CLIPModel

    torch.manual_seed(seed)
    tokenizer = tiny_clip_tokenizer(words)
    config = CLIPConfig(
        text_config=_text_config(tokenizer, max_positions), vision_config=dict(_VISION), projection_dim=projection_dim
    )
    model = CLIPModel(config).eval()
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    CLIPImageProcessor(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32}).save_pretrained(
        folder
    )
    return folder


def make_tiny_siglip(folder: Path, seed: int = 0) -> Path:
    """Save a random tiny SiglipModel (64-token text window, fixed-length padding) into ``folder``."""
    import torch
    from transformers import SiglipConfig, SiglipImageProcessor, SiglipModel

    torch.manual_seed(seed)
    tokenizer = tiny_clip_tokenizer()
    config = SiglipConfig(text_config=_text_config(tokenizer, 64), vision_config=dict(_VISION))
    model = SiglipModel(config).eval()
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    SiglipImageProcessor(size={"height": 32, "width": 32}).save_pretrained(folder)
    return folder


def space_config(**kwargs: object) -> Config:
    return Config(space=SpaceConfig(**kwargs))  # type: ignore[arg-type]


def make_hf_cache(
    cache: Path, repo_id: str, source: Path, commit: str = "0123456789abcdef0123456789abcdef01234567"
) -> Path:
    """Lay ``source``'s files out as the HF hub cache does for ``repo_id`` (refs/main -> snapshot)."""
    repo = cache / ("models--" + repo_id.replace("/", "--"))
    snapshot = repo / "snapshots" / commit
    shutil.copytree(source, snapshot)
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text(commit)
    return snapshot

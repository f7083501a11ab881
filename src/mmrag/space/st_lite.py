"""Plain ``transformers`` for the common sentence-transformers folder layout.

Importing ``sentence_transformers`` also imports scikit-learn and SciPy
(about a quarter of a cold ``mmrag search``), none of which a
Transformer -> mean Pooling -> Normalize model (all-MiniLM-L6-v2 and most
sentence-embedding models) needs. ``load_lite`` loads such a folder with
``AutoModel`` and does the pooling itself: the same numbers as
sentence-transformers (checked in ``tests/space/test_st_lite.py``). Any
other layout returns ``None`` and the caller uses sentence-transformers.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

TRANSFORMER = "sentence_transformers.models.Transformer"
POOLING = "sentence_transformers.models.Pooling"
NORMALIZE = "sentence_transformers.models.Normalize"
POOLING_FLAGS = ("pooling_mode_cls_token", "pooling_mode_max_tokens", "pooling_mode_mean_sqrt_len_tokens",
                 "pooling_mode_weightedmean_tokens", "pooling_mode_lasttoken")


def _json(path: Path) -> dict[str, Any] | list[Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, (dict, list)) else None


def lite_layout(folder: Path) -> tuple[int | None, bool, dict[str, str]] | None:
    """``(max_seq_length, normalize, prompts)`` when the folder is Transformer -> mean Pooling
    [-> Normalize] with default options; ``None`` otherwise."""
    modules = _json(folder / "modules.json")
    if not isinstance(modules, list) or not modules:
        return None
    types = [m.get("type") if isinstance(m, dict) else None for m in modules]
    if types not in ([TRANSFORMER, POOLING], [TRANSFORMER, POOLING, NORMALIZE]):
        return None
    if modules[0].get("path", "") not in ("", "."):
        return None
    pooling = _json(folder / str(modules[1].get("path", "")) / "config.json")
    if not isinstance(pooling, dict) or pooling.get("pooling_mode_mean_tokens") is not True:
        return None
    if any(pooling.get(flag) for flag in POOLING_FLAGS) or pooling.get("include_prompt", True) is not True:
        return None
    st_config = _json(folder / "sentence_bert_config.json") or {}
    if not isinstance(st_config, dict) or set(st_config) - {"max_seq_length", "do_lower_case"}:
        return None
    if st_config.get("do_lower_case"):
        return None
    extra = _json(folder / "config_sentence_transformers.json") or {}
    if not isinstance(extra, dict) or extra.get("default_prompt_name") or extra.get("similarity_fn_name") not in (None, "cosine"):
        return None
    prompts = {str(k): str(v or "") for k, v in (extra.get("prompts") or {}).items()}
    max_len = st_config.get("max_seq_length")
    return (int(max_len) if max_len else None), NORMALIZE in types, prompts


class LiteSentenceModel:
    """What ``SentenceTransformerEncoder`` uses of a ``SentenceTransformer``: ``tokenizer``,
    ``max_seq_length``, ``prompts``, ``device`` and ``model(features)["sentence_embedding"]``."""

    def __init__(self, folder: Path, device: str, max_seq_length: int | None, normalize: bool,
                 prompts: dict[str, str]) -> None:
        import torch
        from transformers import AutoModel, AutoTokenizer

        self._torch = torch
        self.tokenizer = AutoTokenizer.from_pretrained(str(folder), local_files_only=True)
        self.auto = AutoModel.from_pretrained(str(folder), local_files_only=True).to(device).eval()
        limit = getattr(self.auto.config, "max_position_embeddings", None) or 512
        self.max_seq_length = int(max_seq_length or min(self.tokenizer.model_max_length, limit))
        self.normalize = normalize
        self.prompts = prompts

    @property
    def device(self) -> Any:
        return next(self.auto.parameters()).device

    def eval(self) -> LiteSentenceModel:
        return self

    def __call__(self, features: dict[str, Any]) -> dict[str, Any]:
        torch = self._torch
        mask = features["attention_mask"]
        inputs = {k: v for k, v in features.items() if k in ("input_ids", "attention_mask", "token_type_ids")}
        tokens = self.auto(**inputs).last_hidden_state
        weights = mask.unsqueeze(-1).to(tokens.dtype)
        summed = (tokens * weights).sum(dim=1)
        emb = summed / weights.sum(dim=1).clamp(min=1e-9)
        if self.normalize:
            emb = torch.nn.functional.normalize(emb, p=2, dim=1)
        return {"sentence_embedding": emb}


    def encode(self, sentences: str | list[str], batch_size: int = 32, convert_to_numpy: bool = True,
               normalize_embeddings: bool = False, **_: Any) -> Any:
        """``SentenceTransformer.encode``'s common form: truncate at ``max_seq_length``, embed, numpy rows."""
        import numpy as np

        texts = [sentences] if isinstance(sentences, str) else list(sentences)
        out = []
        for lo in range(0, len(texts), batch_size):
            feats = self.tokenizer(texts[lo : lo + batch_size], padding=True, truncation=True,
                                   max_length=self.max_seq_length, return_tensors="pt")
            with self._torch.inference_mode():
                emb = self({k: v.to(self.device) for k, v in feats.items()})["sentence_embedding"]
            if normalize_embeddings:
                emb = self._torch.nn.functional.normalize(emb, p=2, dim=1)
            out.append(emb.float().cpu().numpy())
        rows = np.concatenate(out) if out else np.zeros((0, self.auto.config.hidden_size), np.float32)
        return rows[0] if isinstance(sentences, str) else rows


def load_lite(folder: Path, device: str) -> LiteSentenceModel | None:
    layout = lite_layout(folder)
    if layout is None:
        return None
    max_len, normalize, prompts = layout
    return LiteSentenceModel(folder, device, max_len, normalize, prompts)


__all__ = ["LiteSentenceModel", "lite_layout", "load_lite"]

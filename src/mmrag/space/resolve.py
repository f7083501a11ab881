"""Find model weights, offline first.

Order: an explicit folder > the local Hugging Face cache (no network) > a hub
download (only when ``HF_HUB_OFFLINE`` is not set and the hub answers within a
few seconds) > ``ModelNotFound`` with the steps to get the weights offline.

The hub probe runs in a daemon thread with a hard deadline, so a machine
whose DNS or firewall silently drops packets still fails in seconds. Its
answer is remembered for a minute per endpoint.

Every resolved model carries a *fingerprint*: a short hash of its
``config.json`` (minus the keys that change on a mere re-save) and of its
weight files (every tensor's first and last bytes). Encoder ids embed it, so an index
notices when the weights behind a name changed.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from mmrag.errors import ConfigError, ModelNotFound

DEFAULT_HUB_TIMEOUT_S = 2.5
_TRUTHY = ("1", "true", "yes", "on")
_REPO_ID = re.compile(r"^[A-Za-z0-9][\w.\-]*(/[\w.\-]+)?$")
_WEIGHT_PATTERNS = ("*.safetensors", "pytorch_model*.bin")
_VOLATILE_KEYS = ("transformers_version", "_name_or_path", "__version__", "_commit_hash")
_TENSOR_BLOCK = 4096

T = TypeVar("T")


@dataclass(frozen=True)
class ResolvedModel:
    """Where a model's files are and how to name it in an encoder id."""

    path: Path  # a folder with config.json and weights
    name: str  # hub id ("openai/clip-vit-base-patch32") or folder name
    source: str  # "path" | "cache" | "hub" | "package"
    fingerprint: str  # 12 hex chars, see module docstring


def text_encoder_id(resolved: ResolvedModel) -> str:
    """The id of a sentence-transformers text tower, whatever runs it (torch or onnxruntime). The bundled
    package pins its weights, so its id is the plain, well-known one that trained towers name."""
    if resolved.source == "package":
        return f"st:{resolved.name}#text"
    return f"st:{resolved.name}@{resolved.fingerprint}#text"


# ---------------------------------------------------------------- environment


def hub_offline() -> bool:
    """True when the user asked Hugging Face libraries not to use the network.

    Read from the environment now, and from ``huggingface_hub`` itself, which
    fixes its offline mode when first imported (and then refuses requests).
    """
    if any(
        os.environ.get(v, "").strip().lower() in _TRUTHY for v in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")
    ):
        return True
    constants = sys.modules.get("huggingface_hub.constants")
    return bool(getattr(constants, "HF_HUB_OFFLINE", False))


def hub_endpoint() -> str:
    return (os.environ.get("HF_ENDPOINT") or "https://huggingface.co").rstrip("/")


def hub_cache_dir() -> Path:
    """The HF hub cache, read from the environment at call time."""
    if os.environ.get("HF_HUB_CACHE"):
        return Path(os.environ["HF_HUB_CACHE"]).expanduser()
    if os.environ.get("HF_HOME"):
        return Path(os.environ["HF_HOME"]).expanduser() / "hub"
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base).expanduser() / "huggingface" / "hub"


def resolve_device(device: str) -> str:
    """``auto`` -> ``cuda`` if torch sees one (else ``mps``, else ``cpu``); check explicit ones."""
    import torch

    wanted = (device or "auto").strip().lower()
    if wanted == "auto":
        if torch.cuda.is_available():
            return "cuda"
        mps = getattr(torch.backends, "mps", None)
        return "mps" if mps is not None and mps.is_available() else "cpu"
    if wanted.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError(
            f"space.device is '{device}' but this torch build sees no CUDA device. "
            "Use --device cpu (or auto), or install a CUDA build of torch."
        )
    if wanted not in ("cpu", "mps") and not wanted.startswith(("cuda", "xpu")):
        raise ConfigError(f"space.device '{device}' is not a device; use auto, cpu, cuda or cuda:N.")
    return wanted


def run_with_deadline(fn: Callable[[], T], seconds: float) -> T:
    """Run ``fn`` in a daemon thread; raise ``TimeoutError`` if it has not returned in time."""
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = fn()
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread
            box["error"] = exc

    worker = threading.Thread(target=target, name="mmrag-hub-probe", daemon=True)
    worker.start()
    worker.join(seconds)
    if worker.is_alive():
        raise TimeoutError(f"no answer within {seconds:g} s")
    if "error" in box:
        raise box["error"]
    return box["value"]  # type: ignore[no-any-return]


_PROBES: dict[str, tuple[float, bool, str]] = {}
_PROBE_TTL_S = 60.0


def hub_status(timeout: float = DEFAULT_HUB_TIMEOUT_S) -> tuple[bool, str]:
    """``(reachable, why)`` for the hub endpoint; never waits longer than ``timeout``."""
    if hub_offline():
        return False, "HF_HUB_OFFLINE is set"
    endpoint = hub_endpoint()
    cached = _PROBES.get(endpoint)
    if cached and time.monotonic() - cached[0] < _PROBE_TTL_S:
        return cached[1], cached[2]

    def probe() -> int:
        import httpx

        return httpx.head(endpoint, timeout=timeout, follow_redirects=True).status_code

    try:
        code = run_with_deadline(probe, timeout)
        result = (code < 500, f"{endpoint} answered HTTP {code}")
    except Exception as exc:  # noqa: BLE001 - any failure means "unreachable"
        reason = str(exc).strip() or type(exc).__name__
        result = (False, f"{endpoint} is unreachable ({reason[:160]})")
    _PROBES[endpoint] = (time.monotonic(), *result)
    return result


def forget_hub_status() -> None:
    """Drop remembered probe answers (tests, or after the network came back)."""
    _PROBES.clear()


# ---------------------------------------------------------------- fingerprint


def _canonical_json(path: Path) -> bytes:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return path.read_bytes() if path.is_file() else b""
    if isinstance(data, dict):
        for key in _VOLATILE_KEYS:
            data.pop(key, None)
    return json.dumps(data, sort_keys=True, separators=(",", ":")).encode("utf-8")


def _weight_files(folder: Path) -> list[Path]:
    found: set[Path] = set()
    for pattern in _WEIGHT_PATTERNS:
        found.update(folder.glob(pattern))
        found.update(folder.glob(f"*/{pattern}"))  # sentence-transformers modules (2_Dense/...)
    return sorted(found)


def _hash_safetensors(fh: Any, size: int, digest: Any) -> bool:
    """Hash the header and the first/last block of every tensor; False if not a safetensors file."""
    head = fh.read(8)
    if len(head) < 8:
        return False
    header_len = int.from_bytes(head, "little")
    if header_len <= 0 or 8 + header_len > size:
        return False
    raw = fh.read(header_len)
    try:
        header = json.loads(raw)
    except ValueError:
        return False
    digest.update(raw)
    base = 8 + header_len
    for name in sorted(k for k in header if k != "__metadata__"):
        begin, end = header[name].get("data_offsets", (0, 0))
        spots = [(begin, min(end, begin + _TENSOR_BLOCK))]
        if end - begin > 2 * _TENSOR_BLOCK:
            spots.append((end - _TENSOR_BLOCK, end))
        elif end - begin > _TENSOR_BLOCK:
            spots.append((begin + _TENSOR_BLOCK, end))
        for lo, hi in spots:
            fh.seek(base + lo)
            digest.update(fh.read(hi - lo))
    return True


def fingerprint(folder: Path) -> str:
    """Short content hash of ``config.json`` and the weights.

    Safetensors files: the header plus the first and last 4 KiB of every tensor
    (a fine-tune changes every tensor it touches, even a small projection), so
    a 600 MB CLIP costs a few MB of reads. Other weight files are hashed whole.
    """
    digest = hashlib.blake2b(digest_size=6)
    digest.update(_canonical_json(folder / "config.json"))
    for weights in _weight_files(folder):
        size = weights.stat().st_size
        digest.update(f"{weights.relative_to(folder).as_posix()}:{size}".encode())
        with weights.open("rb") as fh:
            if weights.suffix == ".safetensors" and _hash_safetensors(fh, size, digest):
                continue
            fh.seek(0)
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


# ---------------------------------------------------------------- resolution


def is_path_like(spec: str) -> bool:
    """Whether ``spec`` names a folder rather than a hub id."""
    return (
        Path(spec).expanduser().exists()
        or spec.startswith(("/", "./", "../", "~", "."))
        or "\\" in spec
        or spec.count("/") > 1
        or not _REPO_ID.match(spec)
    )


def _name_for_folder(folder: Path) -> str:
    """``org/name`` for a folder inside an HF cache snapshot, else the folder's own name."""
    parts = folder.parts
    if len(parts) >= 3 and parts[-2] == "snapshots" and parts[-3].startswith("models--"):
        return parts[-3][len("models--") :].replace("--", "/")
    return folder.name


def _check_folder(folder: Path, spec: str) -> None:
    if not folder.is_dir():
        raise ModelNotFound(f"model path '{spec}' does not exist or is not a folder. Check the path.")
    if not (folder / "config.json").is_file() and not (folder / "modules.json").is_file():
        raise ModelNotFound(
            f"model folder '{spec}' has no config.json: it is not a Hugging Face model folder. "
            "Pass the folder that save_pretrained() or `hf download --local-dir` wrote."
        )
    if not _weight_files(folder):
        raise ModelNotFound(
            f"model folder '{spec}' has no weights (*.safetensors or pytorch_model.bin). "
            "The download may be incomplete: fetch the model again."
        )


def resolved_folder(folder: Path, *, name: str | None = None, source: str = "path") -> ResolvedModel:
    folder = folder.expanduser().resolve()
    _check_folder(folder, str(folder))
    return ResolvedModel(folder, name or _name_for_folder(folder), source, fingerprint(folder))


def find_in_cache(repo_id: str, cache_dir: Path | None = None) -> Path | None:
    """The cached snapshot folder of ``repo_id`` if it is complete enough to load; never touches the network."""
    from huggingface_hub import snapshot_download

    try:
        folder = Path(
            snapshot_download(repo_id, cache_dir=cache_dir or hub_cache_dir(), local_files_only=True)
        )
    except Exception:  # noqa: BLE001 - LocalEntryNotFoundError, validation errors ...: not cached
        return None
    if (folder / "config.json").is_file() and _weight_files(folder):
        return folder
    return None


def offline_help(spec: str) -> str:
    folder = spec.rsplit("/", 1)[-1]
    return (
        f"To use it without hub access: on a machine with internet run "
        f"`hf download {spec} --local-dir {folder}` (older huggingface_hub: `huggingface-cli download ...`), "
        f"copy the folder here and pass --model /path/to/{folder} "
        f'(or [space] model = "/path/to/{folder}" in mmrag.toml). '
        f"Or use the offline text space: --space minilm."
    )


def _download(repo_id: str, cache_dir: Path, timeout: float) -> Path:
    from huggingface_hub import HfApi, snapshot_download
    from huggingface_hub.errors import GatedRepoError, RepositoryNotFoundError

    endpoint = hub_endpoint()
    try:
        info = run_with_deadline(
            lambda: HfApi(endpoint=endpoint).model_info(repo_id, timeout=timeout), timeout
        )
    except GatedRepoError:
        raise ModelNotFound(
            f"'{repo_id}' is a gated model: accept its licence on {endpoint}/{repo_id}, "
            "then log in with `hf auth login` and retry."
        ) from None
    except RepositoryNotFoundError:
        raise ModelNotFound(
            f"there is no model '{repo_id}' on {endpoint} (or it is private). "
            "Check the spelling, or log in with `hf auth login` for a private model."
        ) from None
    files = [s.rfilename for s in (info.siblings or [])]
    patterns = ["*.json", "*.txt", "*.model", "*.tiktoken"]
    patterns += (
        ["*.safetensors"] if any(f.endswith(".safetensors") for f in files) else ["pytorch_model*.bin"]
    )
    return Path(
        snapshot_download(
            repo_id, cache_dir=cache_dir, allow_patterns=patterns, endpoint=endpoint, etag_timeout=timeout
        )
    )


def resolve_model(
    spec: str,
    *,
    download: bool = True,
    timeout: float = DEFAULT_HUB_TIMEOUT_S,
    cache_dir: Path | None = None,
) -> ResolvedModel:
    """Resolve a hub id or a folder to a loadable folder (see the module docstring for the order)."""
    spec = (spec or "").strip()
    if not spec:
        raise ConfigError("space.model is empty. Give a hub id (openai/clip-vit-base-patch32) or a folder.")
    if is_path_like(spec):
        return resolved_folder(Path(spec), source="path")
    cache = cache_dir or hub_cache_dir()
    cached = find_in_cache(spec, cache)
    if cached is not None:
        return resolved_folder(cached, name=spec, source="cache")
    where = f"not in the local Hugging Face cache ({cache})"
    if not download:
        raise ModelNotFound(
            f"model '{spec}' is {where} and downloads are disabled here. {offline_help(spec)}"
        )
    reachable, why = hub_status(timeout)
    if not reachable:
        raise ModelNotFound(
            f"model '{spec}' is {where} and the hub cannot be used ({why}). {offline_help(spec)}"
        )
    try:
        folder = _download(spec, cache, timeout)
    except ModelNotFound:
        raise
    except Exception as exc:  # noqa: BLE001 - network errors of every flavour
        raise ModelNotFound(
            f"model '{spec}' is {where} and downloading it failed ({str(exc)[:200]}). {offline_help(spec)}"
        ) from None
    return resolved_folder(folder, name=spec, source="hub")


def read_model_config(folder: Path) -> dict[str, Any]:
    """The parsed ``config.json`` of a resolved folder (``{}`` if absent)."""
    path = folder / "config.json"
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelNotFound(f"{path} is not valid JSON ({exc}). Fetch the model again.") from None
    return data if isinstance(data, dict) else {}


__all__ = [
    "DEFAULT_HUB_TIMEOUT_S",
    "ResolvedModel",
    "find_in_cache",
    "fingerprint",
    "forget_hub_status",
    "hub_cache_dir",
    "hub_endpoint",
    "hub_offline",
    "hub_status",
    "is_path_like",
    "offline_help",
    "read_model_config",
    "resolve_device",
    "resolve_model",
    "resolved_folder",
    "text_encoder_id",
]

"""Configuration tree.

Precedence, lowest first: built-in defaults < ``mmrag.toml`` (``$MMRAG_CONFIG``,
else ``./mmrag.toml``) < ``MMRAG_<SECTION>_<KEY>`` environment variables <
explicit overrides (CLI flags). Example ``mmrag.toml``::

    [space]
    name = "clip"
    model = "openai/clip-vit-base-patch32"

    [search]
    k = 20

    [generate]
    backend = "openai"
    base_url = "http://127.0.0.1:11434/v1"
    model = "llava"

and the same from the environment: ``MMRAG_SEARCH_K=20``,
``MMRAG_GENERATE_BACKEND=openai``.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mmrag.errors import ConfigError


@dataclass(frozen=True)
class SpaceConfig:
    name: str = "auto"  # auto | clip | minilm | registry name | dotted path
    model: str | None = None  # model id or path for the chosen space
    image_model: str | None = None  # checkpoint for a bound image tower
    audio_model: str | None = None  # checkpoint for a bound audio tower
    device: str = "auto"  # auto | cpu | cuda | cuda:0 ...
    batch_size: int = 32
    # the text tower on a CPU: auto = onnxruntime once exported (no torch import: a cold search starts
    # faster; same vectors), torch = always torch (space/text_onnx.py)
    text_runtime: str = "auto"


@dataclass(frozen=True)
class IngestConfig:
    chunk_words: int = 160  # words per text chunk (encoders window further if needed)
    chunk_overlap: int = 32
    max_file_mb: float = 2048.0  # larger files are refused with a clear error
    max_image_pixels: int = 200_000_000  # decompression-bomb guard
    thumbnail_px: int = 256
    ocr: bool = True  # OCR images / scanned pages (RapidOCR)
    include_hidden: bool = False
    follow_symlinks: bool = False
    # gitignore-style patterns left out of folders walked (ingest/ignore.py); --exclude adds to them
    exclude: tuple[str, ...] = ()
    ignore_files: bool = True  # a folder's .mmragignore (the same patterns) leaves out what it names
    default_excludes: bool = True  # __pycache__/, node_modules/, Thumbs.db, desktop.ini ... (ignore.DEFAULT_EXCLUDES)
    quick_check: bool = True  # skip reading files whose size and mtime match the last add (see ingest/statcache.py)
    reindex: bool = False  # read and index unchanged files again (after an upgrade that reads a format better)
    captions: bool = True  # a picture's X.txt sidecar (UTF-8, <= 4 KB) joins its words (see ingest/captions.py)
    # audio
    whisper_model: str | None = None  # None: bundled tiny.en (offline); else name or path
    vad: bool = True
    language: str | None = None
    beam_size: int = 5  # Whisper beam search width for indexed speech (1 = greedy, faster)
    speech_alternatives: int = 4  # n-best hypotheses kept where a word was heard with low confidence (0 = off)
    # video
    max_shot_s: float = 30.0
    min_shot_s: float = 1.0
    shot_threshold: float = 0.35
    # records (catalogues: CSV, JSONL, JSON, Parquet, XLSX; see docs/records.md)
    record_map: str = ""  # "id=sku;text=title,description;image=photo;type.price=number" (flags; a sidecar wins less)
    fetch_image_urls: bool = False  # fetch http(s) image URLs of records (off: only local paths are read)
    # pdf
    pdf_render_dpi: int = 72
    pdf_min_figure_px: int = 64


@dataclass(frozen=True)
class SearchConfig:
    k: int = 10
    fusion: str = "calibrated"  # calibrated | rrf
    hybrid: bool = True  # add BM25 full-text list
    heard_weight: float = 4.0  # sound-alike bonus for transcripts, in background std units (retrieve/heard.py); 0 = off
    option_weight: float = 2.0  # bonus for the entry of a command-line option the query names (``-S: sort by size``), in background std units; 0 = off
    candidates: int = 50  # per-channel candidate depth before fusion
    rrf_k: int = 60
    calibration_sample: int = 512  # background vectors per channel for calibration
    diversify: bool = True  # fold near-duplicate hits (same scene, same picture, overlapping chunks)
    duplicate_threshold: float = 0.95  # cosine of two stored vectors that makes them near-duplicates
    per_source: int = 0  # at most this many hits per file (0: no cap)
    min_relevance: float = 0.0  # drop hits whose relevance is below this (search)
    ask_min_relevance: float | None = None  # ask: answer only from hits this relevant, else abstain (None: the fitted threshold)
    query_cache: bool = True  # cache query embeddings (memory + a file beside the index)
    feedback: str = "rocchio"  # how recorded feedback re-ranks: rocchio | prior | both | off (measured: bench/bench_feedback.py)


@dataclass(frozen=True)
class StoreConfig:
    ann_threshold: int = 5_000  # vectors per channel above which the IVF index replaces the exact scan (~1 ms at 512-d)
    # the LanceDB store's faiss IVF index (docs/scale.md; bench/README.md "Scale, issue 11 again")
    ann_nprobe: int = 16  # lists a query reads: more = higher recall, slower
    ann_min_scan: int = 4096  # ... and at least enough lists to hold this many rows (small indexes read more)
    ann_lists: int = 0  # inverted lists (0: 4 * sqrt(rows), retrained as the index doubles)
    ann_dtype: str = "f16"  # f16 | f32: how the lists store vectors
    # read the saved lists into memory in the background when an index opens, so the first searches do not
    # each pay for reading their lists: serve (only in `mmrag serve`) | on | off (bench/README.md "Warming")
    ann_warm: str = "serve"
    # Milvus's HNSW index
    hnsw_m: int = 32
    hnsw_ef_construction: int = 200
    hnsw_ef_search: int = 128
    milvus_index: str = "HNSW"
    milvus_token: str | None = None
    ann_save_rows: int = 10_000  # a writer saves ann/ after this many changed rows (or 20% of the index)


@dataclass(frozen=True)
class GenerateConfig:
    backend: str = "auto"  # auto | extractive | openai | local
    base_url: str | None = None
    model: str | None = None
    api_key: str | None = None
    timeout_s: float = 120.0
    retries: int = 2
    max_context_tokens: int = 3000
    max_new_tokens: int = 256
    temperature: float = 0.2
    vision: bool | None = None  # None: guess from the model name


@dataclass(frozen=True)
class TrainConfig:
    seed: int = 0
    epochs: int = 5
    batch_size: int = 128
    lr: float = 1e-3
    holdout: float = 0.1
    loss: str = "clip"


@dataclass(frozen=True)
class ServeConfig:
    host: str = "127.0.0.1"  # loopback only by default; anything else needs the token for every request
    port: int = 8000
    token: str | None = None  # None: generated at start, printed, and written to the discovery file
    max_upload_mb: float = 64.0  # larger uploads get 413
    upload_dir: str | None = None  # where uploaded files are kept (default: <index>-uploads beside the index)
    cors_origins: str = ""  # comma-separated origins allowed to call the API from a browser; off by default
    batch_window_ms: float = 3.0  # concurrent text queries arriving this close are embedded together (0: off)
    search_threads: int = 4  # threads doing search work at once (more only contend for the GIL)
    torch_threads: int = 0  # torch intra-op threads in the server (0: torch's default, one per core)
    result_cache: int = 4096  # /search answers kept for repeats on an unchanged index and feedback log (0: off)
    result_cache_mb: float = 64.0  # ... and at most this many megabytes of them (least recently used go first)


@dataclass(frozen=True)
class Config:
    index: str = "./mmrag-index"
    space: SpaceConfig = field(default_factory=SpaceConfig)
    ingest: IngestConfig = field(default_factory=IngestConfig)
    search: SearchConfig = field(default_factory=SearchConfig)
    store: StoreConfig = field(default_factory=StoreConfig)
    generate: GenerateConfig = field(default_factory=GenerateConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    serve: ServeConfig = field(default_factory=ServeConfig)

    def with_overrides(self, overrides: Mapping[str, Any]) -> Config:
        """Return a copy with dotted keys replaced (``{"search.k": 20}``); ``None`` values are ignored."""
        return _apply(self, {k: v for k, v in overrides.items() if v is not None}, "override")


_SECTIONS = ("space", "ingest", "search", "store", "generate", "train", "serve")


def _coerce(value: Any, typ: Any, key: str, origin: str) -> Any:
    """Convert ``value`` (often a string from the env) to the field type."""
    args = typing.get_args(typ)
    if type(None) in args:  # Optional[X]
        if value is None or (isinstance(value, str) and value.lower() in ("", "none", "null")):
            return None
        inner = [a for a in args if a is not type(None)]
        typ = inner[0] if len(inner) == 1 else str
    try:
        if typ is bool:
            if isinstance(value, bool):
                return value
            text = str(value).strip().lower()
            if text in ("1", "true", "yes", "on"):
                return True
            if text in ("0", "false", "no", "off"):
                return False
            raise ValueError(value)
        if typ is int:
            if isinstance(value, bool):
                raise ValueError(value)
            return int(value)
        if typ is float:
            return float(value)
        if typ is str:
            return str(value)
        if typing.get_origin(typ) is tuple:  # tuple[str, ...]: a TOML list, or commas in one string (env, flags)
            items = value.split(",") if isinstance(value, str) else value
            if not isinstance(items, (list, tuple)) or not all(isinstance(v, str) for v in items):
                raise ValueError(value)
            return tuple(v.strip() for v in items if v.strip())
    except (TypeError, ValueError):
        what = "a list of strings" if typing.get_origin(typ) is tuple else getattr(typ, "__name__", typ)
        raise ConfigError(f"{origin}: '{key}' must be {what}, got {value!r}. Fix the value.") from None
    return value


def _apply(cfg: Config, flat: Mapping[str, Any], origin: str) -> Config:
    hints = typing.get_type_hints(Config)
    top: dict[str, Any] = {}
    per_section: dict[str, dict[str, Any]] = {}
    for key, value in flat.items():
        if "." in key:
            section, name = key.split(".", 1)
            if section not in _SECTIONS:
                raise ConfigError(f"{origin}: unknown section '{section}' in '{key}'. Known: {', '.join(_SECTIONS)}.")
            sec_cls = hints[section]
            sec_hints = typing.get_type_hints(sec_cls)
            if name not in sec_hints:
                known = ", ".join(sorted(sec_hints))
                raise ConfigError(f"{origin}: unknown key '{key}'. Keys of [{section}]: {known}.")
            per_section.setdefault(section, {})[name] = _coerce(value, sec_hints[name], key, origin)
        elif key == "index":
            top["index"] = str(value)
        else:
            raise ConfigError(f"{origin}: unknown key '{key}'. Use 'index' or '<section>.<key>'.")
    for section, values in per_section.items():
        top[section] = dataclasses.replace(getattr(cfg, section), **values)
    return dataclasses.replace(cfg, **top)


def _flatten_toml(data: Mapping[str, Any], origin: str) -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, Mapping):
            for sub, sub_value in value.items():
                flat[f"{key}.{sub}"] = sub_value
        else:
            flat[key] = value
    return flat


def _from_env(environ: Mapping[str, str]) -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for name, value in environ.items():
        if not name.startswith("MMRAG_") or name == "MMRAG_CONFIG":
            continue
        rest = name[len("MMRAG_") :].lower()
        if rest == "index":
            flat["index"] = value
            continue
        for section in _SECTIONS:
            if rest.startswith(section + "_"):
                flat[f"{section}.{rest[len(section) + 1:]}"] = value
                break
    return flat


def load_config(
    overrides: Mapping[str, Any] | None = None,
    *,
    path: str | Path | None = None,
    environ: Mapping[str, str] | None = None,
) -> Config:
    """Build the effective config: defaults < toml < env < overrides."""
    env = os.environ if environ is None else environ
    cfg = Config()
    toml_path = Path(path) if path else Path(env.get("MMRAG_CONFIG", "mmrag.toml"))
    if toml_path.is_file():
        try:
            data = tomllib.loads(toml_path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{toml_path}: not valid TOML ({exc}). Fix the file or remove it.") from None
        cfg = _apply(cfg, _flatten_toml(data, str(toml_path)), str(toml_path))
    elif path is not None:
        raise ConfigError(f"config file {toml_path} does not exist. Check the path.")
    cfg = _apply(cfg, _from_env(env), "environment")
    if overrides:
        cfg = cfg.with_overrides(overrides)
    return cfg


__all__ = [
    "Config",
    "GenerateConfig",
    "IngestConfig",
    "SearchConfig",
    "ServeConfig",
    "SpaceConfig",
    "StoreConfig",
    "TrainConfig",
    "load_config",
]

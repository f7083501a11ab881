"""Named backends: built-ins first, then entry points, then dotted paths.

A backend is any callable (usually a factory function or class). Kinds:

- ``space``: ``factory(config: Config) -> Space``
- ``store``: ``factory(location: str, dim: int, config: Config) -> VectorStore``
- ``loader``: ``factory() -> Loader`` (keyed by sniffed kind: text, image, pdf ...)
- ``generator``: ``factory(config: Config) -> Generator``

Third-party packages add backends with an entry point group named
``mmrag.<kind>``, e.g. in their pyproject::

    [project.entry-points."mmrag.space"]
    myspace = "my_pkg.space:build"

Anything else can be named by dotted path: ``my_pkg.space:build``.
Built-ins are import strings so that nothing heavy is imported until used.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from importlib.metadata import entry_points
from typing import Any

from mmrag.errors import ConfigError

KINDS = ("space", "store", "loader", "generator")

_BUILTINS: dict[str, dict[str, str]] = {
    "space": {
        "clip": "mmrag.space.clip:build_space",
        "minilm": "mmrag.space.text:build_minilm_space",
        "auto": "mmrag.space.auto:build_auto_space",
    },
    "store": {
        "lance": "mmrag.stores.lance:LanceStore",
        "milvus": "mmrag.stores.milvus:MilvusStore",
    },
    "loader": {
        "text": "mmrag.ingest.text:TextLoader",
        "notebook": "mmrag.ingest.notebook:NotebookLoader",
        "email": "mmrag.ingest.mail:MailLoader",
        "msg": "mmrag.ingest.outlook:OutlookLoader",
        "html": "mmrag.ingest.text:HtmlLoader",
        "image": "mmrag.ingest.image:ImageLoader",
        "svg": "mmrag.ingest.image:SvgLoader",
        "pdf": "mmrag.ingest.pdf:PdfLoader",
        "ps": "mmrag.ingest.postscript:PostScriptLoader",
        "docx": "mmrag.ingest.word:WordLoader",
        "doc": "mmrag.ingest.word97:LegacyWordLoader",
        "pptx": "mmrag.ingest.slides:SlidesLoader",
        "ppt": "mmrag.ingest.ppt97:LegacySlidesLoader",
        "odt": "mmrag.ingest.opendocument:OdtLoader",
        "odp": "mmrag.ingest.opendocument:OdpLoader",
        "epub": "mmrag.ingest.epub:EpubLoader",
        "enex": "mmrag.ingest.evernote:EvernoteLoader",
        "audio": "mmrag.ingest.audio:AudioLoader",
        "video": "mmrag.ingest.video:VideoLoader",
    },
    "generator": {
        "extractive": "mmrag.generate.extractive:build",
        "openai": "mmrag.generate.openai:build",
        "local": "mmrag.generate.local:build",
    },
}

_REGISTERED: dict[str, dict[str, Callable[..., Any]]] = {k: {} for k in KINDS}


def register(kind: str, name: str, factory: Callable[..., Any]) -> None:
    """Register a backend at run time (tests, plugins loaded by hand)."""
    _check_kind(kind)
    _REGISTERED[kind][name] = factory


def _check_kind(kind: str) -> None:
    if kind not in KINDS:
        raise ConfigError(f"unknown backend kind '{kind}'; kinds are {', '.join(KINDS)}")


def _import(target: str) -> Any:
    module_name, _, attr = target.partition(":")
    module = importlib.import_module(module_name)
    obj: Any = module
    for part in (attr or "").split("."):
        if part:
            obj = getattr(obj, part)
    return obj


def names(kind: str) -> list[str]:
    """All names known for ``kind`` (built-in, registered, entry points)."""
    _check_kind(kind)
    found = set(_BUILTINS.get(kind, {})) | set(_REGISTERED[kind])
    found |= {ep.name for ep in entry_points(group=f"mmrag.{kind}")}
    return sorted(found)


def resolve(kind: str, name: str) -> Callable[..., Any]:
    """Find the factory called ``name`` of ``kind``."""
    _check_kind(kind)
    if name in _REGISTERED[kind]:
        return _REGISTERED[kind][name]
    if name in _BUILTINS.get(kind, {}):
        return _import(_BUILTINS[kind][name])  # type: ignore[no-any-return]
    for ep in entry_points(group=f"mmrag.{kind}"):
        if ep.name == name:
            return ep.load()  # type: ignore[no-any-return]
    if ":" in name or "." in name:
        try:
            return _import(name)  # type: ignore[no-any-return]
        except (ImportError, AttributeError) as exc:
            raise ConfigError(f"cannot import {kind} backend '{name}': {exc}. Check the dotted path.") from None
    raise ConfigError(
        f"unknown {kind} backend '{name}'. Known: {', '.join(names(kind)) or 'none'}; "
        f"or give a dotted path 'package.module:factory'."
    )


__all__ = ["KINDS", "names", "register", "resolve"]

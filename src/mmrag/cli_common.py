"""What every ``mmrag`` command shares: the consoles, the common options, opening an index and
turning errors into exit codes. ``cli.py`` and the command modules it registers
(``cli_relevance``, ``cli_classify``, ``migrate``, ``server.command``) all import from here, so none
of them imports ``mmrag.cli``."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape

from mmrag.cli_output import USAGE_OR_INDEX, safe
from mmrag.config import Config, load_config
from mmrag.errors import MmragError

# Piped into a file, grep or a log, a line is one line: Rich would otherwise wrap at 80 columns
# ("...is not a type mmrag\nindexes"). A terminal still wraps at its own width.
out = Console(soft_wrap=not sys.stdout.isatty())
err = Console(stderr=True, soft_wrap=not sys.stderr.isatty())

IndexOpt = Annotated[
    str | None,
    typer.Option(
        "--index",
        "-i",
        envvar="MMRAG_INDEX",
        help="Index location: a folder (LanceDB), milvus:./file.db (Milvus Lite) or http://host:19530 (Milvus). [default: ./mmrag-index]",
        show_default=False,
    ),
]
ConfigOpt = Annotated[
    Path | None,
    typer.Option("--config", help="A mmrag.toml file (default: ./mmrag.toml or $MMRAG_CONFIG).", show_default=False),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]


@contextmanager
def _errors() -> Iterator[None]:
    try:
        yield
    except MmragError as exc:
        err.print(f"[bold red]error:[/] {escape(safe(exc))}")
        raise typer.Exit(USAGE_OR_INDEX) from None
    except KeyboardInterrupt:
        err.print("[yellow]interrupted[/]")
        raise typer.Exit(130) from None


def _config(index: str | None, config: Path | None, **overrides: Any) -> Config:
    cfg = load_config({k: v for k, v in overrides.items() if v is not None}, path=config)
    if index:
        cfg = cfg.with_overrides({"index": index})
    return cfg


def _open(cfg: Config, create: bool = True):  # type: ignore[no-untyped-def]
    from mmrag.engine import Engine

    return Engine.open(cfg.index, cfg, create=create)


def _server(index: str | None, config: Path | None) -> Any:
    """A running `mmrag serve` for this index (then reuse its warm models), or None."""
    with _errors():
        from mmrag.server.discovery import find_server

        return find_server(_config(index, config).index)


@contextmanager
def _existing(index: str | None, config: Path | None, **overrides: Any) -> Iterator[Any]:
    """An opened existing index, closed afterwards; errors become exit codes."""
    with _errors():
        engine = _open(_config(index, config, **overrides), create=False)
        try:
            yield engine
        finally:
            engine.close()


def _short(path: str) -> str:
    """A source as the user would type it: relative to the working folder when inside it."""
    try:
        return str(Path(path).relative_to(Path.cwd()))
    except ValueError:
        return path


def _label(hit: Any) -> str:
    """The hit's source and span, control characters escaped (``safe``)."""
    label: str = hit.label()
    return safe(_short(hit.source) + label[len(hit.source):] if label.startswith(hit.source) else label)


__all__ = [
    "ConfigOpt",
    "IndexOpt",
    "JsonOpt",
    "_config",
    "_errors",
    "_existing",
    "_label",
    "_open",
    "_server",
    "_short",
    "err",
    "out",
]

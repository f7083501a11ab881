"""The options every command shares, for command modules registered by ``cli._register_optional``
(they cannot import ``mmrag.cli`` at load time: it imports them). Same definitions as in cli.py."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

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

__all__ = ["ConfigOpt", "IndexOpt", "JsonOpt"]

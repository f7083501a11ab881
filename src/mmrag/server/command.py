"""``mmrag serve``: one warm engine behind the HTTP API and the web page.

Imports nothing heavy until the command runs, so registering it costs the CLI
nothing.
"""

from __future__ import annotations

import os
import signal
import socket
import sys
from pathlib import Path
from typing import Annotated

import typer


def serve_command(
    index: Annotated[
        str | None,
        typer.Option("--index", "-i", envvar="MMRAG_INDEX", help="Index to serve (default ./mmrag-index).", show_default=False),
    ] = None,
    config: Annotated[Path | None, typer.Option("--config", help="A mmrag.toml file.", show_default=False)] = None,
    host: Annotated[str | None, typer.Option(help="Address to bind. Default 127.0.0.1 (this machine only); anything else requires the token for every request.")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default 8000; 0 picks a free one).", min=0, max=65535)] = None,
    token: Annotated[str | None, typer.Option(envvar="MMRAG_SERVE_TOKEN", help="Access token (default: generated and printed).", show_default=False)] = None,
    max_upload_mb: Annotated[float | None, typer.Option("--max-upload-mb", help="Largest request body accepted (default 64).")] = None,
    cors: Annotated[str | None, typer.Option(help="Comma-separated origins allowed to call the API from other pages (default: none).")] = None,
    access_log: Annotated[bool, typer.Option("--access-log/--no-access-log", help="Log every request.")] = False,
) -> None:
    """Serve the index over HTTP: a web page at / and a REST API (docs at /docs).

    Models load once, so searches answer in milliseconds. `mmrag search`, `ask`
    and `info` on the same index use a running server automatically.

    Example: [bold]mmrag serve --index ./mmrag-index[/] then open http://127.0.0.1:8000
    """
    # torch's OpenMP threads sleep between encoder calls instead of spinning: by default (libgomp's
    # active wait) each spins for a while after every call, and on two busy cores that spinning took
    # 300 ms of CPU per query embedding (43 ms passive; bench/README.md). Set before torch loads;
    # an OMP_WAIT_POLICY already in the environment is kept.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    from mmrag.cli_common import _config, _errors, err, out
    from mmrag.errors import IndexLocked, MissingDependency

    with _errors():
        try:
            import uvicorn

            from mmrag.server.app import create_app
        except ImportError as exc:
            raise MissingDependency(exc.name or "fastapi", "serve", "mmrag serve") from None
        from mmrag.engine import Engine
        from mmrag.lock import WriterLock
        from mmrag.server.auth import is_loopback, new_token
        from mmrag.server.discovery import ServerInfo, index_identity, remove_discovery, write_discovery

        cfg = _config(index, config, **{"serve.host": host, "serve.port": port, "serve.token": token,
                                        "serve.max_upload_mb": max_upload_mb, "serve.cors_origins": cors})
        if cfg.store.ann_warm == "serve":  # a long-lived reader: its first searches should not each read their lists
            cfg = cfg.with_overrides({"store.ann_warm": "on"})
        if cfg.serve.torch_threads > 0:
            import torch

            torch.set_num_threads(cfg.serve.torch_threads)
        engine = Engine.open(cfg.index, cfg)
        if engine.exists:
            err.print("[dim]loading models...[/]")
            engine.search("warm up", k=1)  # loads the space and the calibration samples once
        secret = cfg.serve.token or new_token()
        sock = socket.socket(socket.AF_INET6 if ":" in cfg.serve.host else socket.AF_INET)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((cfg.serve.host, cfg.serve.port))
        except OSError as exc:
            from mmrag.errors import ConfigError

            raise ConfigError(
                f"cannot listen on {cfg.serve.host}:{cfg.serve.port} ({exc.strerror or exc}). "
                f"Pick another --port (0 picks a free one) or stop what uses it."
            ) from None
        bound_port = sock.getsockname()[1]
        shown = f"[{cfg.serve.host}]" if ":" in cfg.serve.host else cfg.serve.host
        url = f"http://{shown}:{bound_port}"
        local_url = url if cfg.serve.host not in ("0.0.0.0", "::") else f"http://127.0.0.1:{bound_port}"
        app = create_app(engine, cfg, secret)
        write_discovery(cfg.index, ServerInfo(local_url, os.getpid(), secret, index_identity(cfg.index)))
        out.print(f"[bold]mmrag serve[/] {cfg.index} at [bold]{url}[/]  (API docs: {url}/docs)")
        out.print(f"token (for add/remove{'' if is_loopback(cfg.serve.host) else ' and every request'}): {secret}")
        out.print(f"web page with the token: {url}/#token={secret}")
        if not is_loopback(cfg.serve.host):
            err.print("[yellow]listening beyond this machine: every request needs the token; use HTTPS in front of it.[/]")
        server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=access_log))
        # uvicorn re-raises SIGTERM after its graceful shutdown: exit through Python so the cleanup below runs
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        try:
            server.run(sockets=[sock])
        finally:
            remove_discovery(cfg.index, os.getpid())
            if app.state.batcher is not None:
                app.state.batcher.close()
            lock = WriterLock(cfg.index, "close")
            try:
                lock.acquire()
            except IndexLocked:  # another writer is busy: leave its files alone
                return
            try:
                engine.close()
            finally:
                lock.release()


__all__ = ["serve_command"]

"""Session-scoped models for the space tests (built or loaded once per run)."""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("OMP_NUM_THREADS", "2")

from tests.space.tiny_models import make_tiny_clip, make_tiny_siglip, space_config

from mmrag.space import resolve


@pytest.fixture(scope="session")
def tiny_clip_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_tiny_clip(tmp_path_factory.mktemp("models") / "tiny-clip")


@pytest.fixture(scope="session")
def tiny_siglip_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_tiny_siglip(tmp_path_factory.mktemp("models") / "tiny-siglip")


@pytest.fixture(scope="session")
def clip_space(tiny_clip_dir: Path):
    from mmrag.space.clip import build_space

    return build_space(space_config(name="clip", model=str(tiny_clip_dir), batch_size=4, device="cpu"))


@pytest.fixture(scope="session")
def siglip_space(tiny_siglip_dir: Path):
    from mmrag.space.clip import build_space

    return build_space(space_config(name="clip", model=str(tiny_siglip_dir), batch_size=3, device="cpu"))


@pytest.fixture(scope="session")
def minilm_space():
    from mmrag.space.text import build_minilm_space

    return build_minilm_space(space_config(name="minilm", device="cpu", batch_size=4))


@pytest.fixture()
def offline_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """HF_HUB_OFFLINE=1 and an empty HF cache; returns the cache folder."""
    cache = tmp_path / "hf-cache"
    cache.mkdir()
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.delenv("TRANSFORMERS_OFFLINE", raising=False)
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    resolve.forget_hub_status()
    return cache


@pytest.fixture()
def online_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    """Hub use allowed (env and huggingface_hub's import-time flag) and an empty HF cache."""
    import huggingface_hub.constants

    cache = tmp_path / "hf-cache"
    cache.mkdir()
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("TRANSFORMERS_OFFLINE", raising=False)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    resolve.forget_hub_status()
    yield cache
    resolve.forget_hub_status()


@pytest.fixture()
def hanging_hub(monkeypatch: pytest.MonkeyPatch, online_env: Path) -> Iterator[str]:
    """A hub endpoint that accepts connections and never answers (a black-holed network)."""
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept_forever() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = server.accept()
                accepted.append(conn)  # keep it open, say nothing
            except OSError:
                continue

    thread = threading.Thread(target=accept_forever, daemon=True)
    thread.start()
    endpoint = f"http://127.0.0.1:{server.getsockname()[1]}"
    monkeypatch.setenv("HF_ENDPOINT", endpoint)
    yield endpoint
    stop.set()
    thread.join(2)
    for conn in accepted:
        conn.close()
    server.close()

"""Model resolution: explicit path > local HF cache > hub (fast failure) > ModelNotFound."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import pytest
from tests.space.tiny_models import make_hf_cache, space_config

from mmrag.errors import ConfigError, ModelNotFound
from mmrag.space import resolve
from mmrag.space.resolve import fingerprint, is_path_like, resolve_device, resolve_model


def test_explicit_folder(tiny_clip_dir: Path) -> None:
    found = resolve_model(str(tiny_clip_dir))
    assert found.source == "path" and found.name == "tiny-clip" and found.path == tiny_clip_dir.resolve()
    assert len(found.fingerprint) == 12


def test_missing_or_broken_folders(tmp_path: Path, tiny_clip_dir: Path) -> None:
    with pytest.raises(ModelNotFound, match="does not exist"):
        resolve_model(str(tmp_path / "nope"))
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ModelNotFound, match="has no config.json"):
        resolve_model(str(empty))
    no_weights = tmp_path / "no-weights"
    shutil.copytree(tiny_clip_dir, no_weights, ignore=shutil.ignore_patterns("*.safetensors"))
    with pytest.raises(ModelNotFound, match="has no weights"):
        resolve_model(str(no_weights))
    with pytest.raises(ConfigError, match="empty"):
        resolve_model("  ")


def test_offline_and_not_cached_says_how_to_get_the_weights(offline_env: Path) -> None:
    start = time.monotonic()
    with pytest.raises(ModelNotFound) as info:
        resolve_model("openai/clip-vit-base-patch32")
    assert time.monotonic() - start < 2.0
    msg = str(info.value)
    assert "not in the local Hugging Face cache" in msg and "HF_HUB_OFFLINE" in msg
    assert "hf download openai/clip-vit-base-patch32 --local-dir clip-vit-base-patch32" in msg
    assert "--model /path/to/clip-vit-base-patch32" in msg


def test_unreachable_hub_fails_fast(hanging_hub: str) -> None:
    """A hub that never answers (black-holed network) costs seconds, not minutes."""
    start = time.monotonic()
    with pytest.raises(ModelNotFound, match="unreachable"):
        resolve_model("openai/clip-vit-base-patch32", timeout=1.5)
    assert time.monotonic() - start < 3.5
    start = time.monotonic()  # the answer is remembered: the next try is instant
    with pytest.raises(ModelNotFound):
        resolve_model("openai/clip-vit-base-patch32", timeout=1.5)
    assert time.monotonic() - start < 0.5


def test_download_disabled(offline_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HF_HUB_OFFLINE")
    with pytest.raises(ModelNotFound, match="downloads are disabled"):
        resolve_model("org/some-model", download=False)


def test_local_cache_is_used_without_network(offline_env: Path, tiny_clip_dir: Path) -> None:
    snapshot = make_hf_cache(offline_env, "someorg/tiny-clip", tiny_clip_dir)
    found = resolve_model("someorg/tiny-clip")
    assert found.source == "cache" and found.name == "someorg/tiny-clip" and found.path == snapshot.resolve()
    assert found.fingerprint == resolve_model(str(tiny_clip_dir)).fingerprint  # same files, same fingerprint
    # a snapshot folder given as a path keeps the repo id as its name
    assert resolve_model(str(snapshot)).name == "someorg/tiny-clip"


def test_cached_model_loads_through_the_clip_space(offline_env: Path, tiny_clip_dir: Path) -> None:
    from mmrag.space.clip import build_space

    make_hf_cache(offline_env, "someorg/tiny-clip", tiny_clip_dir)
    space = build_space(space_config(model="someorg/tiny-clip", device="cpu"))
    assert space.extra["model_source"] == "cache"
    assert space.spec.encoders["text"].startswith("clip:someorg/tiny-clip@")


def test_fingerprint_ignores_resave_noise_but_not_weights(tmp_path: Path, tiny_clip_dir: Path) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(tiny_clip_dir, copy)
    before = fingerprint(copy)
    cfg = json.loads((copy / "config.json").read_text())
    cfg["transformers_version"] = "0.0.1"
    (copy / "config.json").write_text(json.dumps(cfg, indent=4))
    assert fingerprint(copy) == before
    weights = copy / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[-5] ^= 0xFF  # one flipped byte inside the tensors
    weights.write_bytes(bytes(data))
    assert fingerprint(copy) != before


def test_a_retrained_small_tensor_changes_the_fingerprint(tmp_path: Path) -> None:
    """Only a projection retrained (a small tensor beside a big frozen one) is still noticed."""
    import torch
    from safetensors.torch import save_file

    folder = tmp_path / "big"
    folder.mkdir()
    (folder / "config.json").write_text("{}")
    big = torch.zeros(1024, 1024)
    save_file({"backbone.weight": big, "proj.weight": torch.zeros(64, 64)}, str(folder / "model.safetensors"))
    base = fingerprint(folder)
    save_file({"backbone.weight": big, "proj.weight": torch.ones(64, 64)}, str(folder / "model.safetensors"))
    assert fingerprint(folder) != base
    (folder / "model.safetensors").write_bytes(b"not a safetensors file at all")  # falls back to a full hash
    assert len(fingerprint(folder)) == 12


@pytest.mark.parametrize(
    "spec,pathlike",
    [
        ("openai/clip-vit-base-patch32", False),
        ("bert-base-uncased", False),
        ("./models/clip", True),
        ("/opt/models/clip", True),
        ("~/clip", True),
        ("a/b/c", True),
        ("C:\\models\\clip", True),
    ],
)
def test_is_path_like(spec: str, pathlike: bool) -> None:
    assert is_path_like(spec) is pathlike


def test_resolve_device() -> None:
    import torch

    assert resolve_device("auto") == ("cuda" if torch.cuda.is_available() else resolve_device("auto"))
    assert resolve_device("cpu") == "cpu"
    with pytest.raises(ConfigError):
        resolve_device("gpu-please")


def test_hub_status_honours_offline_flag(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    resolve.forget_hub_status()
    start = time.monotonic()
    assert resolve.hub_status() == (False, "HF_HUB_OFFLINE is set")
    assert time.monotonic() - start < 0.1


def test_reachable_hub_downloads_once_into_the_cache(
    online_env: Path, monkeypatch: pytest.MonkeyPatch, tiny_clip_dir: Path
) -> None:
    from tests.space.fake_hub import fake_hub

    with fake_hub("someorg/tiny-clip", tiny_clip_dir) as (endpoint, log):
        monkeypatch.setenv("HF_ENDPOINT", endpoint)
        found = resolve_model("someorg/tiny-clip")
        assert found.source == "hub" and found.name == "someorg/tiny-clip"
        assert found.path.is_relative_to(online_env)
        assert found.fingerprint == resolve_model(str(tiny_clip_dir)).fingerprint
        downloads = [p for method, p in log if method == "GET" and "/resolve/" in p]
        assert any(p.endswith("/model.safetensors") for p in downloads)
        log.clear()
        again = resolve_model("someorg/tiny-clip")  # now cached: no request at all
        assert again.source == "cache" and again.path == found.path and log == []
        with pytest.raises(ModelNotFound, match="there is no model 'someorg/other'"):
            resolve_model("someorg/other")

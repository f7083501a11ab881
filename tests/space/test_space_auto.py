"""The auto space: clip when its weights can be had without waiting, else the offline minilm."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from tests.space.tiny_models import make_hf_cache, space_config

from mmrag import registry
from mmrag.errors import ModelNotFound
from mmrag.space.auto import build_auto_space, choose_space
from mmrag.space.text import BACKBONE_TOWER_NOTE, SOUND_TOWER_NOTE, minilm_package_dir
from mmrag.types import Channel


def test_offline_without_cache_chooses_minilm_fast_and_says_why(offline_env: Path) -> None:
    start = time.monotonic()
    choice = choose_space(space_config())
    assert time.monotonic() - start < 3.0
    assert choice.name == "minilm"
    assert "openai/clip-vit-base-patch32 is not in the local HF cache" in choice.reason
    assert "HF_HUB_OFFLINE is set" in choice.reason


def test_black_holed_hub_chooses_minilm_within_3s(hanging_hub: str) -> None:
    start = time.monotonic()
    choice = choose_space(space_config(), timeout=2.0)
    assert time.monotonic() - start < 3.0
    assert choice.name == "minilm" and "unreachable" in choice.reason


def test_default_clip_in_the_cache_is_chosen_and_loaded(offline_env: Path, tiny_clip_dir: Path) -> None:
    make_hf_cache(offline_env, "openai/clip-vit-base-patch32", tiny_clip_dir)
    assert choose_space(space_config()).name == "clip"
    space = build_auto_space(space_config(device="cpu"))
    assert space.name == "clip" and space.has(Channel.IMAGE)
    assert space.spec.encoders["text"].startswith("clip:openai/clip-vit-base-patch32@")
    assert "in the local Hugging Face cache" in space.extra["reason"]
    assert space.notes.startswith(space.extra["reason"])


def test_explicit_models_decide_the_space(tiny_clip_dir: Path, tiny_siglip_dir: Path) -> None:
    assert choose_space(space_config(model=str(tiny_clip_dir))).name == "clip"
    assert choose_space(space_config(model=str(tiny_siglip_dir))).name == "clip"
    text = choose_space(space_config(model=str(minilm_package_dir())))
    assert text.name == "minilm" and "sentence-transformers" in text.reason
    space = build_auto_space(space_config(model=str(tiny_siglip_dir), device="cpu"))
    assert space.name == "clip" and "is a siglip text+image model (path)" in space.extra["reason"]


def test_explicit_model_that_cannot_be_found_is_an_error_not_a_fallback(
    offline_env: Path, tmp_path: Path
) -> None:
    with pytest.raises(ModelNotFound, match="does not exist"):
        choose_space(space_config(model=str(tmp_path / "missing")))
    with pytest.raises(ModelNotFound, match="hf download someorg/model"):
        choose_space(space_config(model="someorg/model"))


def test_registry_names_point_at_these_factories() -> None:
    from mmrag.space import clip, text

    assert registry.resolve("space", "clip") is clip.build_space
    assert registry.resolve("space", "minilm") is text.build_minilm_space
    assert registry.resolve("space", "auto") is build_auto_space


def test_auto_offline_builds_the_minilm_space(offline_env: Path) -> None:
    space = build_auto_space(space_config(device="cpu"))
    assert space.name == "minilm" and space.has(Channel.IMAGE) and space.has(Channel.VISUAL)  # the backbone tower
    assert "using the offline 'minilm' space" in space.extra["reason"]
    assert BACKBONE_TOWER_NOTE in space.notes
    assert space.spec.encoders["text"] == "st:all-MiniLM-L6-v2#text"
    assert space.spec.encoders["image"].startswith("tower:")
    assert space.extra["space_config"] == {"name": "minilm", "image_model": "lite0b", "audio_model": "sound0"}
    assert space.has(Channel.AUDIO) and SOUND_TOWER_NOTE in space.notes  # the shipped sound tower


def test_reachable_hub_chooses_clip_and_downloads_it(
    online_env: Path, monkeypatch: pytest.MonkeyPatch, tiny_clip_dir: Path
) -> None:
    from tests.space.fake_hub import fake_hub

    with fake_hub("openai/clip-vit-base-patch32", tiny_clip_dir) as (endpoint, _):
        monkeypatch.setenv("HF_ENDPOINT", endpoint)
        choice = choose_space(space_config())
        assert choice.name == "clip" and "hub is reachable" in choice.reason
        space = build_auto_space(space_config(device="cpu"))
    assert space.name == "clip" and space.extra["model_source"] == "hub"
    assert space.spec.encoders["image"].startswith("clip:openai/clip-vit-base-patch32@")
    assert not space.has(Channel.AUDIO)  # the shipped sound tower is bound to MiniLM, not to CLIP

"""Audio towers: the pure crop helpers, the log-mel front end, checkpoints and
their checks, and the soundfont captions."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from mmrag.errors import ModelNotFound, QueryError, SpaceMismatch, TrainingError
from mmrag.space.adapters import load_audio_tower, load_image_tower, save_tower
from mmrag.space.cnn_tower import TowerConfig, build_tower
from mmrag.space.logmel_tower import (
    AudioTowerConfig,
    LogMel,
    build_audio_tower,
    clip_crops,
    crop_at,
    crop_starts,
    embed_clips,
    repeat_pad,
)
from mmrag.train.soundfont import SoundSpec, captions, plain_name

SR = 16_000


def tone(freq: float, seconds: float, amp: float = 0.5) -> np.ndarray:
    t = np.arange(int(seconds * SR)) / SR
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)


# ------------------------------------------------------------------ pure crops


def test_repeat_pad_repeats_short_clips_and_cuts_long_ones() -> None:
    assert repeat_pad(np.array([1, 2, 3], np.float32), 7).tolist() == [1, 2, 3, 1, 2, 3, 1]
    assert repeat_pad(np.arange(10, dtype=np.float32), 4).tolist() == [0, 1, 2, 3]
    assert repeat_pad(np.zeros(0, np.float32), 3).tolist() == [0, 0, 0]


def test_crop_at_clamps_the_offset_into_the_clip() -> None:
    x = np.arange(10, dtype=np.float32)
    assert crop_at(x, 4, 3).tolist() == [3, 4, 5, 6]
    assert crop_at(x, 4, 99).tolist() == [6, 7, 8, 9]
    assert crop_at(x, 4, -5).tolist() == [0, 1, 2, 3]
    assert crop_at(x[:2], 4, 0).tolist() == [0, 1, 0, 1]


def test_crop_starts_cover_the_clip_and_end_flush() -> None:
    assert crop_starts(5, 10) == [0]
    assert crop_starts(25, 10) == [0, 10, 15]
    assert crop_starts(30, 10) == [0, 10, 20]
    many = crop_starts(1000, 10, most=4)
    assert len(many) == 4 and many[0] == 0 and many[-1] == 990


def test_clip_crops_drops_silent_crops_but_keeps_one() -> None:
    loud, quiet = tone(440, 1.0), np.zeros(SR, np.float32)
    crops = clip_crops(np.concatenate([quiet, loud, quiet]), SR)
    assert crops.shape == (1, SR) and np.abs(crops).max() > 0.4
    assert clip_crops(np.zeros(3 * SR, np.float32), SR).shape == (3, SR)  # all silent: all kept
    assert clip_crops(tone(440, 0.25), SR).shape == (1, SR)  # short: one repeat-padded crop


# ------------------------------------------------------------------ front end and tower


def test_log_mel_ignores_loudness_and_puts_a_tone_in_its_band() -> None:
    mel = LogMel(64)
    quiet, loud = tone(1000, 1.0, 0.05), tone(1000, 1.0, 0.8)
    a, b = mel(torch.from_numpy(quiet)[None]), mel(torch.from_numpy(loud)[None])
    assert a.shape[:3] == (1, 1, 64) and a.shape[3] == SR // 160 + 1
    assert torch.allclose(a, b, atol=1e-4)
    low, high = mel(torch.from_numpy(tone(200, 1.0))[None]), mel(torch.from_numpy(tone(4000, 1.0))[None])
    assert int(low[0, 0].mean(1).argmax()) < int(a[0, 0].mean(1).argmax()) < int(high[0, 0].mean(1).argmax())


def test_tower_outputs_unit_vectors_for_any_length() -> None:
    model = build_audio_tower(AudioTowerConfig(clip_seconds=1.0, widths=(4, 8, 8, 8), out_dim=16)).eval()
    vecs = embed_clips(model, [tone(300, 0.2), tone(300, 3.7), np.zeros(0, np.float32)], SR)
    assert vecs.shape == (3, 16)
    assert np.allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=1e-5)


# ------------------------------------------------------------------ checkpoints


@pytest.fixture()
def audio_ckpt(tmp_path: Path) -> Path:
    torch.manual_seed(0)
    cfg = AudioTowerConfig(clip_seconds=1.0, widths=(4, 8, 8, 8), out_dim=384)
    model = build_audio_tower(cfg)
    return save_tower(tmp_path / "snd", model.eval(), {"name": "snd", "modality": "audio", "tower": cfg.to_dict(),
                                                      "text_encoder": "st:all-MiniLM-L6-v2#text"})


def test_audio_checkpoint_round_trips_and_takes_any_rate(audio_ckpt: Path) -> None:
    enc = load_audio_tower(audio_ckpt, 384)
    assert enc.id.startswith("tower:snd@") and enc.id.endswith("#audio") and enc.dim == 384
    x = tone(440, 1.5)
    v16 = enc.encode([(x, SR)])
    stereo44 = np.stack([np.interp(np.linspace(0, len(x) - 1, int(1.5 * 44100)), np.arange(len(x)), x)] * 2, axis=1)
    v44 = enc.encode([(stereo44, 44100)])
    assert v16.shape == (1, 384) and float(v16[0] @ v44[0]) > 0.98  # resampled, mixed down: the same sound
    with pytest.raises(QueryError, match="tuple"):
        enc.encode([x])


def test_audio_checkpoint_refuses_the_wrong_space_modality_or_bytes(audio_ckpt: Path, tmp_path: Path) -> None:
    with pytest.raises(SpaceMismatch, match="bound to text encoder"):
        load_audio_tower(audio_ckpt, 384, text_encoder="st:other#text")
    with pytest.raises(SpaceMismatch, match="384-d"):
        load_audio_tower(audio_ckpt, 512)
    with pytest.raises(SpaceMismatch, match="embeds audio, not image"):
        load_image_tower(audio_ckpt, 384)
    img = save_tower(tmp_path / "img", build_tower(TowerConfig(image_size=16, widths=(4, 4, 4, 4))),
                     {"name": "img", "tower": TowerConfig(image_size=16, widths=(4, 4, 4, 4)).to_dict(),
                      "text_encoder": "st:all-MiniLM-L6-v2#text"})
    with pytest.raises(SpaceMismatch, match="embeds image, not audio"):
        load_audio_tower(img, 384)
    with pytest.raises(ModelNotFound, match="--modality audio"):
        load_audio_tower(tmp_path / "nothing", 384)
    weights = audio_ckpt / "tower.safetensors"
    weights.write_bytes(weights.read_bytes()[:-10] + b"0123456789")
    with pytest.raises(TrainingError, match="checksum"):
        load_audio_tower(audio_ckpt, 384)
    weights.write_bytes(weights.read_bytes()[:200])  # truncated, and no checksum to catch it first
    meta = json.loads((audio_ckpt / "tower.json").read_text())
    meta.pop("sha256")
    (audio_ckpt / "tower.json").write_text(json.dumps(meta))
    with pytest.raises(TrainingError, match="cannot load"):
        load_audio_tower(audio_ckpt, 384)


# ------------------------------------------------------------------ soundfont captions


def test_plain_names_and_captions() -> None:
    assert plain_name("Crash Cymbal 1") == "crash cymbal"
    assert plain_name("Lead 1 (square)") == "square synth lead"
    assert plain_name("FX 4 (atmosphere)") == "atmosphere synth effect"
    assert captions(SoundSpec(40)) == ["violin", "the sound of a violin", "a violin playing", "violin sound", "strings"]
    assert captions(SoundSpec(0))[1] == "the sound of an acoustic grand piano"
    assert captions(SoundSpec(39, drum=True))[:3] == ["hand clap", "the sound of a hand clap", "a hand clap hit"]
    assert SoundSpec(49, drum=True).slug != SoundSpec(57, drum=True).slug  # crash cymbal 1 and 2 stay apart

